#!/usr/bin/env bash
# grpckit benchmark suite: unary GetUser-sized calls, server and load generator pinned to
# different cores, against (a) grpckit with its full middleware chain, (b) grpckit with no
# layers, (c) a bare tonic hello-world built in the same run; plus the load generator check
# (grpckit perf vs h2load) and idle / 10k-idle-connection RSS. See bench/README.md.
#
#   bench/run.sh                         # defaults below, about 3-4 minutes after the build
#   DURATION=10 WARMUP=2 LEVELS="1x1 10x10 50x10" bench/run.sh
#
# Every load run is bounded in time (h2load -D, perf -z) and all traffic is on 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}          # seconds measured per run
WARMUP=${WARMUP:-1}              # seconds of warm-up per run
LEVELS=${LEVELS:-"1x1 10x1 10x10 50x10"}   # CONNECTIONSxSTREAMS (in flight = product)
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-19550}
IDLE_N=${IDLE_N:-10000}
NO_LAYERS_CONFIG=${NO_LAYERS_CONFIG:-$ROOT/bench/no-layers.yaml}
SERVERS=${SERVERS:-"tonic grpckit-full grpckit-nolayers"}
PROFILE=${PROFILE:-release}      # debug only for checking the script itself (SKIP_BUILD=1)
OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
ROWS=$OUT/runs.tsv
: > "$ROWS"

need() { command -v "$1" >/dev/null || { echo "missing $1 ($2)" >&2; exit 1; }; }
need h2load "apt-get install -y nghttp2-client"
need taskset "util-linux"
need protoc "apt-get install -y protobuf-compiler (bare tonic codegen)"
python3 -c 'import h2' 2>/dev/null || { echo "missing python h2 (pip install h2)" >&2; exit 1; }

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  echo "== build (release)"
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release -p grpckit-cli)
  CARGO_TARGET_DIR=$TARGET cargo build --release --manifest-path "$ROOT/bench/tonic-hello/Cargo.toml"
fi
GRPCKIT=$TARGET/$PROFILE/grpckit
TONIC=$TARGET/$PROFILE/tonic-hello
HELLO_PROTO=$ROOT/bench/tonic-hello/proto/helloworld.proto

SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
}
trap stop_server EXIT

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not listen on $PORT" >&2; return 1
}
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$SERVER_PID/status"; }

start_server() { # name
  port_free || { echo "127.0.0.1:$PORT is busy" >&2; exit 1; }
  case $1 in
    tonic) ADDR=127.0.0.1:$PORT taskset -c "$SERVER_CPU" "$TONIC" >"$OUT/$1.log" 2>&1 & ;;
    grpckit-full|grpckit-nolayers)
      rm -f "$OUT/bench.db"
      local extra=()
      if [[ $1 == grpckit-nolayers && -f $NO_LAYERS_CONFIG ]]; then extra=(--config "$NO_LAYERS_CONFIG"); fi
      taskset -c "$SERVER_CPU" "$GRPCKIT" server "${extra[@]}" --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
        --database-url "sqlite://$OUT/bench.db" --jwt-secret bench-secret-bench-secret-bench-secret >"$OUT/$1.log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  wait_port
}

# Signs up and logs in on a grpckit server: sets USER_ID and TOKEN.
grpckit_login() {
  local email="bench-$RANDOM$RANDOM@example.com"
  USER_ID=$("$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
    -d "{\"name\":\"bench\",\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
  TOKEN=$("$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
    -d "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
}

# A gRPC frame: flag 0, u32 length, field 1 (string) = $1. GetUserRequest{id} and
# HelloRequest{name} share this encoding, so both servers get the same bytes.
frame() { python3 -c 'import sys; m=b"\x0a"+bytes([len(sys.argv[1])])+sys.argv[1].encode(); sys.stdout.buffer.write(b"\x00"+len(m).to_bytes(4,"big")+m)' "$1" > "$2"; }

h2load_run() { # label path conns streams
  local label=$1 path=$2 c=$3 m=$4 log=$OUT/h2load-$1-$3x$4
  taskset -c "$CLIENT_CPU" timeout $((DURATION + WARMUP + 30)) h2load -t 1 -c "$c" -m "$m" -D "$DURATION" --warm-up-time="$WARMUP" \
    --log-file="$log.lat" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $TOKEN" \
    -d "$FRAME" "http://127.0.0.1:$PORT$path" > "$log.txt" 2>&1 || true
  python3 - "$log.txt" "$log.lat" "$label" "$c" "$m" "$(rss_kib)" >> "$ROWS" <<'PY'
import sys, re
txt, lat, label, c, m, rss = sys.argv[1:]
out = open(txt).read()
rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1)) if "finished in" in out else 0.0
req = re.search(r"requests: .*?(\d+) succeeded, (\d+) failed", out)
ok, failed = (int(req.group(1)), int(req.group(2))) if req else (0, -1)
ls = sorted(int(l.split()[2]) / 1000 for l in open(lat) if len(l.split()) >= 3 and l.split()[1] == "200")
q = lambda p: ls[min(len(ls) - 1, int(p * len(ls)))] if ls else float("nan")
print(f"{label}\th2load\t{c}x{m}\t{rps:.0f}\t{q(0.5):.3f}\t{q(0.99):.3f}\t{int(rss) // 1024}\t{ok}\t{failed}")
PY
  tail -n 1 "$ROWS"
}

perf_run() { # label extra-args... (grpckit perf as the load generator)
  local label=$1; shift
  local json=$OUT/perf-$label-$RANDOM.json
  taskset -c "$CLIENT_CPU" timeout $((DURATION + WARMUP + 30)) "$GRPCKIT" perf --addr 127.0.0.1:$PORT -q --format json -o "$json" \
    -z "${DURATION}s" --warmup "${WARMUP}s" -H "authorization: Bearer $TOKEN" "$@" || true
  python3 - "$json" "$label" "$(rss_kib)" "$*" >> "$ROWS" <<'PY'
import json, sys
path, label, rss, args = sys.argv[1:]
r = json.load(open(path))
lvl = f"{r['connections']}x{r['concurrency'] // max(1, r['connections'])}" + (f"@{r['rps_target']:.0f}/s" if r.get("rps_target") else "")
print(f"{label}\tgrpckit-perf\t{lvl}\t{r['rps']:.0f}\t{r['latency_ms']['p50']:.3f}\t{r['latency_ms']['p99']:.3f}\t{int(rss) // 1024}\t{r['ok']}\t{r['errors']}")
PY
  tail -n 1 "$ROWS"
}

idle_rss() { # label
  sleep 1
  echo -e "$1\tidle\t0\t-\t-\t-\t$(( $(rss_kib) / 1024 ))\t-\t-" >> "$ROWS"
  ( ulimit -n "$(ulimit -Hn)"; taskset -c "$CLIENT_CPU" timeout 200 python3 "$ROOT/bench/idle_conns.py" 127.0.0.1 "$PORT" "$SERVER_PID" "$IDLE_N" ) > "$OUT/idle-$1.txt" 2>&1 || true
  local kib; kib=$(sed -n 's/.*rss_kib=\([0-9]*\).*/\1/p' "$OUT/idle-$1.txt")
  echo -e "$1\tidle-conns\t$(sed -n 's/.*open=\([0-9]*\).*/\1/p' "$OUT/idle-$1.txt")\t-\t-\t-\t$(( ${kib:-0} / 1024 ))\t-\t-" >> "$ROWS"
  tail -n 2 "$ROWS"
}

ulimit -n "$(ulimit -Hn)" || true
echo "== server CPU $SERVER_CPU, client CPU $CLIENT_CPU, ${DURATION}s + ${WARMUP}s warm-up per run, levels: $LEVELS"
for server in $SERVERS; do
  echo "== $server"
  start_server $server
  if [[ $server == tonic ]]; then
    # Same token header as the grpckit runs, so request bytes match; any JWT-shaped string will do.
    TOKEN=${TOKEN:-$(python3 -c 'print("e"*190)')}; USER_ID=${USER_ID:-01a20000-0000-7000-8000-000000000000}
    PATHNAME=/helloworld.Greeter/SayHello
    "$GRPCKIT" call --addr 127.0.0.1:$PORT --proto "$HELLO_PROTO" helloworld.Greeter/SayHello -d "{\"name\":\"$USER_ID\"}" >/dev/null
  else
    grpckit_login
    PATHNAME=/user.v1.UserService/GetUser
    "$GRPCKIT" call --addr 127.0.0.1:$PORT -H "authorization: Bearer $TOKEN" user.v1.UserService/GetUser -d "{\"id\":\"$USER_ID\"}" >/dev/null
  fi
  FRAME=$OUT/getuser.req
  frame "$USER_ID" "$FRAME"
  idle_rss $server
  stop_server; start_server $server
  [[ $server == tonic ]] || grpckit_login
  frame "$USER_ID" "$FRAME"
  for lvl in $LEVELS; do h2load_run $server $PATHNAME "${lvl%x*}" "${lvl#*x}"; done
  if [[ $server == tonic ]]; then
    # Load generator efficiency: grpckit perf vs h2load, same connections and in-flight calls.
    for lvl in 10x10 50x10; do
      c=${lvl%x*}; m=${lvl#*x}
      perf_run tonic --connections "$c" -c $((c * m)) --proto "$HELLO_PROTO" --call helloworld.Greeter/SayHello -d "{\"name\":\"$USER_ID\"}"
    done
  fi
  if [[ $server == grpckit-full ]]; then
    # p99 at half of the maximum closed-loop throughput (open model, constant rate).
    max=$(awk -F'\t' '$1=="grpckit-full" && $2=="h2load" {if ($4>m) m=$4} END {print m+0}' "$ROWS")
    perf_run grpckit-full --rps $((max / 2)) -c 200 --connections 10 --call user.v1.UserService/GetUser -d "{\"id\":\"$USER_ID\"}"
  fi
  stop_server
done

echo "== summary ($OUT)"
python3 "$ROOT/bench/summarize.py" "$ROWS" "$NO_LAYERS_CONFIG" | tee "$OUT/summary.md"
