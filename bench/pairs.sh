#!/usr/bin/env bash
# Saturation throughput of the full chain against bare tonic, in INTERLEAVED rounds: each
# round runs every config for DURATION seconds (h2load closed loop, CONNS x STREAMS, server
# pinned to $SERVER_CPU, h2load to $CLIENT_CPU), so slow phases of this shared machine hit
# both sides of a pair alike. Prints req/s per round, each round's ratio to the first
# config, and the mean and median ratio. Every config gets the same request frame (one
# signed-up user's id, its database copied to every grpckit config) and a bearer token: the
# user's Login token for the grpckit CLI configs; with `greeter` in CONFIGS, the greeter's
# token for it and for tonic-ct, so those two get byte-identical requests (tonic ignores it).
#
#   bench/pairs.sh                                      # CONFIGS="tonic-ct full", 10 rounds
#   ROUNDS=20 DURATION=5 CONFIGS="tonic-ct full nolayers" bench/pairs.sh
#   GRPCKIT_B=/tmp/old-grpckit CONFIGS="full full-b" bench/pairs.sh   # two builds of grpckit
#   CONFIGS="tonic-ct greeter" bench/pairs.sh          # the framework's own overhead
#
# configs: tonic-ct (bench/tonic-hello on tokio's current-thread runtime), full (every
# layer, current_thread), nolayers (bench/no-layers.yaml), full-b (full with $GRPCKIT_B),
# greeter (examples/greeter: the same helloworld.Greeter as tonic-ct through the full chain of
# bench/greeter.yaml, current_thread: real JWT, RBAC, a rate-limit rule, metrics, access log,
# validation of `name`).
# Bounded: h2load -D, `timeout` on every step, loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIGS=${CONFIGS:-"tonic-ct full"}
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-5}
CONNS=${CONNS:-10}
STREAMS=${STREAMS:-10}
PORT=${PORT:-19880}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
TONIC=$TARGET/release/tonic-hello
GREETER=$TARGET/release/greeter
OUT=${OUT:-$ROOT/bench/results/pairs-$(date -u +%Y%m%d-%H%M%S)}
SECRET=bench-secret-bench-secret-bench-secret
command -v h2load >/dev/null || { echo "missing h2load (apt-get install -y nghttp2-client)" >&2; exit 1; }
[[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$ROOT" && cargo build --release -p grpckit-cli -p greeter-example)
if [[ " $CONFIGS " == *" tonic-ct "* && ( ${SKIP_BUILD:-0} != 1 || ! -x $TONIC ) ]]; then
  CARGO_TARGET_DIR=$TARGET cargo build --release --manifest-path "$ROOT/bench/tonic-hello/Cargo.toml"
fi
mkdir -p "$OUT"

wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
stop() { kill -INT "$1" 2>/dev/null || true; for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# One user, one token, one database for every grpckit config.
"$GRPCKIT" server --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
  --database-url "sqlite://$OUT/setup.db" --jwt-secret $SECRET > "$OUT/setup.log" 2>&1 &
pid=$!
wait_port
UID_=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
  -d '{"name":"bench","email":"pairs@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
TOKEN=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
  -d '{"email":"pairs@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
stop $pid
# The greeter: bench/greeter.yaml on this run's ports, and a token its JWT key accepts.
sed -e "s/^  port: .*/  port: $PORT/" -e "s/^  metrics_listen: .*/  metrics_listen: \"127.0.0.1:$((PORT + 1))\"/" \
  "$ROOT/bench/greeter.yaml" > "$OUT/greeter.yaml"
GREETER_TOKEN=$(python3 "$ROOT/bench/greeter-token.py")
HELLO_TOKEN=$TOKEN
if [[ " $CONFIGS " == *" greeter "* ]]; then HELLO_TOKEN=$GREETER_TOKEN; fi
# GetUserRequest{id} and HelloRequest{name} encode alike: the same frame for every server.
python3 -c 'import sys; m=b"\x0a"+bytes([len(sys.argv[1])])+sys.argv[1].encode(); sys.stdout.buffer.write(b"\x00"+len(m).to_bytes(4,"big")+m)' "$UID_" > "$OUT/req.bin"

run() { # config round -> prints req/s
  local cfg=$1 round=$2 bin=$GRPCKIT path=/user.v1.UserService/GetUser extra=() token=$TOKEN
  case $cfg in
    tonic-ct) path=/helloworld.Greeter/SayHello; token=$HELLO_TOKEN ;;
    greeter) path=/helloworld.Greeter/SayHello; token=$GREETER_TOKEN ;;
    full) ;;
    full-b) bin=${GRPCKIT_B:?set GRPCKIT_B to the other grpckit binary} ;;
    nolayers) extra=(--config "$ROOT/bench/no-layers.yaml") ;;
    *) echo "unknown config $cfg" >&2; exit 1 ;;
  esac
  if [[ $cfg == tonic-ct ]]; then
    TONIC_RUNTIME=current_thread ADDR=127.0.0.1:$PORT taskset -c "$SERVER_CPU" "$TONIC" > "$OUT/$cfg.log" 2>&1 &
  elif [[ $cfg == greeter ]]; then
    taskset -c "$SERVER_CPU" "$GREETER" "$OUT/greeter.yaml" > "$OUT/$cfg.log" 2>&1 &
  else
    rm -f "$OUT/$cfg.db"*
    for s in "" -wal -shm; do [[ -f $OUT/setup.db$s ]] && cp "$OUT/setup.db$s" "$OUT/$cfg.db$s"; done
    taskset -c "$SERVER_CPU" "$bin" server --runtime current_thread "${extra[@]}" \
      --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
      --database-url "sqlite://$OUT/$cfg.db" --jwt-secret $SECRET > "$OUT/$cfg.log" 2>&1 &
  fi
  local spid=$!
  wait_port
  taskset -c "$CLIENT_CPU" timeout $((DURATION + 30)) h2load -t 1 -c "$CONNS" -m "$STREAMS" -D "$DURATION" --warm-up-time=1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $token" \
    -d "$OUT/req.bin" "http://127.0.0.1:$PORT$path" > "$OUT/h2load-$cfg-$round.txt" 2>&1 || true
  stop $spid
  python3 - "$OUT/h2load-$cfg-$round.txt" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
m = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out)
req = re.search(r"(\d+) succeeded, (\d+) failed", out)
print(f"{float(m.group(1)):.0f}" if m and req and int(req.group(2)) == 0 else "0")
PY
}

read -ra CFGS <<< "$CONFIGS"
{
printf 'round'; for c in "${CFGS[@]}"; do printf '\t%s' "$c"; done
for c in "${CFGS[@]:1}"; do printf '\t%s/%s' "$c" "${CFGS[0]}"; done; printf '\n'
for round in $(seq "$ROUNDS"); do
  row=()
  for c in "${CFGS[@]}"; do row+=("$(run "$c" "$round")"); done
  printf '%s' "$round"; for v in "${row[@]}"; do printf '\t%s' "$v"; done
  for v in "${row[@]:1}"; do python3 -c 'import sys; a,b=map(float,sys.argv[1:]); print(f"\t{a/b:.3f}" if b else "\tnan", end="")' "$v" "${row[0]}"; done
  printf '\n'
done
} | tee "$OUT/pairs.tsv"
python3 - "$OUT/pairs.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, rows = rows[0], rows[1:]
for i, name in enumerate(head):
    if "/" not in name: continue
    vals = [float(r[i]) for r in rows if r[i] not in ("nan", "0.000")]
    if vals:
        print(f"{name}: mean {statistics.mean(vals):.3f}, median {statistics.median(vals):.3f}, "
              f"min {min(vals):.3f}, max {max(vals):.3f} over {len(vals)} rounds")
PY
