#!/usr/bin/env bash
# The HTTP bridges against native gRPC and against grpc-gateway, in INTERLEAVED rounds: each
# round runs every config for DURATION seconds with h2load (closed loop, CONNS connections,
# one request in flight per connection so HTTP/1.1 and HTTP/2 carry the same load), the
# server pinned to $SERVER_CPU and h2load to $CLIENT_CPU. Every grpckit config is the same
# GetUser call (one signed-up user, a bearer token, the full default chain: JWT, RBAC, rate
# limits, validation, metrics, access log, audit) on the current_thread runtime; only the
# protocol differs. `gogw` is the peer harness's grpc-gateway 1.6 + grpc-go 1.33 (REST over
# HTTP/1.1, one loopback gRPC hop; `POST /v1/hello`, no auth) from ../shared/bench/peers
# (build it with go-gateway/build.sh; PEERS= its directory).
#
# Prints per round: req/s and server CPU microseconds per call of each config; then the
# median of each config and the ratios the issue asks for.
#
#   bench/bridges.sh                                   # every config, 3 rounds
#   CONFIGS="grpc rest_h1" ROUNDS=5 bench/bridges.sh
#
# configs: grpc (native gRPC, h2c), rest_h1 (GET /v1/users/{id}, HTTP/1.1), rest_h2c (the
# same over h2c), grpcweb (application/grpc-web+proto, h2c), connect (Connect unary JSON,
# POST, h2c), connect_proto (Connect unary binary, h2c), connect_h1 (Connect JSON over
# HTTP/1.1), gogw (grpc-gateway, HTTP/1.1).
# Bounded: h2load -D, `timeout` on every step, loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIGS=${CONFIGS:-"grpc rest_h1 rest_h2c grpcweb connect connect_proto connect_h1 gogw"}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
PORT=${PORT:-19890}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PEERS=${PEERS:-/tmp/peers}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
OUT=${OUT:-$ROOT/bench/results/bridges-$(date -u +%Y%m%d-%H%M%S)}
SECRET=bench-secret-bench-secret-bench-secret
CLK=$(getconf CLK_TCK)
command -v h2load >/dev/null || { echo "missing h2load (apt-get install -y nghttp2-client)" >&2; exit 1; }
[[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$ROOT" && cargo build --release -p grpckit-cli)
rm -rf "$OUT"; mkdir -p "$OUT"

wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
stop() { kill -INT "$1" 2>/dev/null || true; for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

if (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then echo "port $PORT is busy; aborting" >&2; exit 1; fi
"$GRPCKIT" server --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
  --database-url "sqlite://$OUT/setup.db" --jwt-secret $SECRET > "$OUT/setup.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port $PORT
UID_=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
  -d '{"name":"bench","email":"bridges@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
TOKEN=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
  -d '{"email":"bridges@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
stop $pid
trap - EXIT
python3 -c 'import sys; m=b"\x0a"+bytes([len(sys.argv[1])])+sys.argv[1].encode(); sys.stdout.buffer.write(b"\x00"+len(m).to_bytes(4,"big")+m)' "$UID_" > "$OUT/req.bin"
tail -c +6 "$OUT/req.bin" > "$OUT/req.pb"
printf '{"id":"%s"}' "$UID_" > "$OUT/req.json"
printf '{"name":"world"}' > "$OUT/hello.json"

run() { # config round -> prints "req/s cpu_us_per_call"
  local cfg=$1 round=$2 url h1=() body=() hdr=(-H "authorization: Bearer $TOKEN") check
  local base=http://127.0.0.1:$PORT
  case $cfg in
    grpc) url=$base/user.v1.UserService/GetUser; body=(-d "$OUT/req.bin")
      hdr+=(-H 'content-type: application/grpc' -H 'te: trailers') ;;
    rest_h1) url=$base/v1/users/$UID_; h1=(--h1) ;;
    rest_h2c) url=$base/v1/users/$UID_ ;;
    grpcweb) url=$base/user.v1.UserService/GetUser; body=(-d "$OUT/req.bin")
      hdr+=(-H 'content-type: application/grpc-web+proto' -H 'x-grpc-web: 1') ;;
    connect) url=$base/user.v1.UserService/GetUser; body=(-d "$OUT/req.json")
      hdr+=(-H 'content-type: application/json' -H 'connect-protocol-version: 1') ;;
    connect_proto) url=$base/user.v1.UserService/GetUser; body=(-d "$OUT/req.pb")
      hdr+=(-H 'content-type: application/proto' -H 'connect-protocol-version: 1') ;;
    connect_h1) url=$base/user.v1.UserService/GetUser; body=(-d "$OUT/req.json"); h1=(--h1)
      hdr+=(-H 'content-type: application/json' -H 'connect-protocol-version: 1') ;;
    gogw) url=http://127.0.0.1:$((PORT + 2))/v1/hello; body=(-d "$OUT/hello.json"); h1=(--h1)
      hdr=(-H 'content-type: application/json') ;;
    *) echo "unknown config $cfg" >&2; exit 1 ;;
  esac
  if [[ $cfg == gogw ]]; then
    ADDR=127.0.0.1:$PORT REST_ADDR=127.0.0.1:$((PORT + 2)) taskset -c "$SERVER_CPU" "$PEERS/bin/go-gateway" > "$OUT/$cfg.log" 2>&1 &
    local spid=$!
    wait_port $((PORT + 2))
  else
    rm -f "$OUT/$cfg.db"*
    for s in "" -wal -shm; do [[ -f $OUT/setup.db$s ]] && cp "$OUT/setup.db$s" "$OUT/$cfg.db$s"; done
    taskset -c "$SERVER_CPU" "$GRPCKIT" server --runtime current_thread \
      --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
      --database-url "sqlite://$OUT/$cfg.db" --jwt-secret $SECRET > "$OUT/$cfg.log" 2>&1 &
    local spid=$!
    wait_port $PORT
  fi
  local t0 t1
  t0=$(ticks $spid)
  taskset -c "$CLIENT_CPU" timeout $((DURATION + 30)) h2load "${h1[@]}" -t 1 -c "$CONNS" -m 1 -D "$DURATION" --warm-up-time=1 \
    "${hdr[@]}" "${body[@]}" "$url" > "$OUT/h2load-$cfg-$round.txt" 2>&1 || true
  t1=$(ticks $spid)
  stop $spid
  python3 - "$OUT/h2load-$cfg-$round.txt" "$((t1 - t0))" "$CLK" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out)
req = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
codes = re.search(r"status codes: (\d+) 2xx", out)
ok = m and req and int(req.group(4)) == 0 and codes and int(codes.group(1)) == int(req.group(3))
if not ok:
    print("0 0")
else:
    # CPU over the whole run (warm-up included) divided by every request done.
    done = int(req.group(2))
    print(f"{float(m.group(2)):.0f} {ticks / hz * 1e6 / max(done, 1):.1f}")
PY
}

read -ra CFGS <<< "$CONFIGS"
{
printf 'round'; for c in "${CFGS[@]}"; do printf '\t%s_rps\t%s_cpu_us' "$c" "$c"; done; printf '\n'
for round in $(seq "$ROUNDS"); do
  printf '%s' "$round"
  for c in "${CFGS[@]}"; do read -r rps cpu <<< "$(run "$c" "$round")"; printf '\t%s\t%s' "$rps" "$cpu"; done
  printf '\n'
done
} | tee "$OUT/bridges.tsv"
python3 - "$OUT/bridges.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, rows = rows[0], rows[1:]
med = {}
for i, name in enumerate(head[1:], 1):
    vals = [float(r[i]) for r in rows if float(r[i]) > 0]
    if vals:
        med[name] = statistics.median(vals)
        print(f"{name}: median {med[name]:.1f} over {len(vals)} rounds")
def ratio(label, a, b):
    if a in med and b in med:
        print(f"{label}: {med[a] / med[b]:.2f}x")
ratio("REST (HTTP/1.1) req/s vs grpc-gateway", "rest_h1_rps", "gogw_rps")
ratio("REST (HTTP/1.1) server CPU per call vs native gRPC", "rest_h1_cpu_us", "grpc_cpu_us")
ratio("REST (h2c) server CPU per call vs native gRPC", "rest_h2c_cpu_us", "grpc_cpu_us")
ratio("gRPC-Web req/s vs native gRPC", "grpcweb_rps", "grpc_rps")
ratio("Connect (JSON) req/s vs native gRPC", "connect_rps", "grpc_rps")
ratio("Connect (binary) req/s vs native gRPC", "connect_proto_rps", "grpc_rps")
ratio("Connect (JSON, HTTP/1.1) req/s vs native gRPC", "connect_h1_rps", "grpc_rps")
ratio("gRPC-Web server CPU per call vs native gRPC", "grpcweb_cpu_us", "grpc_cpu_us")
ratio("Connect server CPU per call vs native gRPC", "connect_cpu_us", "grpc_cpu_us")
PY
