#!/usr/bin/env bash
# grpckit benchmark suite: unary GetUser-sized calls, server and load generator pinned to
# different cores, against (a) grpckit with its full middleware chain, (b) grpckit with no
# layers, (c) a bare tonic hello-world built in the same run; plus the load generator check
# (grpckit perf vs h2load) and idle / 10k-idle-connection RSS. See bench/README.md.
#
#   bench/run.sh                         # defaults below, about 3-4 minutes after the build
#   DURATION=10 WARMUP=2 LEVELS="1x1 10x10 50x10" bench/run.sh
#   SERVERS="tonic tonic-ct grpc-go grpckit-full grpckit-full-mt grpckit-nolayers \
#            grpckit-nometrics grpckit-tpc1 grpckit-tpc2" bench/run.sh   # runtime modes, peers
#   SERVERS="tonic-ct greeter tonic greeter-mt" bench/run.sh   # the framework's own overhead
#
# Servers: tonic (bare tonic, multi-thread runtime), tonic-ct (same binary, current-thread),
# grpc-go (../shared/bench/peers/go-greeter, built in a copy under $OUT when Go is installed),
# grpckit-full (every layer; runtime `auto`, i.e. current_thread on one pinned core),
# grpckit-full-mt (`--runtime multi_thread`), grpckit-nolayers (`middleware.enabled: false`),
# grpckit-nometrics (every layer, `telemetry.metrics.enabled: false`), grpckit-tpc1/-tpc2
# (`thread_per_core` with 1 / 2 cores; tpc2 runs on CPUs SERVER_CPU and CLIENT_CPU, so it
# shares a core with the load generator: read its figure as an upper bound of contention),
# greeter (examples/greeter, the same helloworld.Greeter as tonic, through the full chain of
# bench/greeter.yaml: real JWT, RBAC, a rate-limit rule, metrics, access log, validation;
# current_thread like tonic-ct), greeter-mt (the same on multi_thread, like tonic). tonic,
# tonic-ct, grpc-go and the greeters get byte-identical requests: the same frame and the same
# headers, the greeter's bearer token included (the peers ignore it).
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
NO_METRICS_CONFIG=$ROOT/bench/no-metrics.yaml
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
RATE=${RATE:-0}                  # --rps of the equal-load latency runs; 0 = half of the first server's max
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
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release -p grpckit-cli -p greeter-example)
  CARGO_TARGET_DIR=$TARGET cargo build --release --manifest-path "$ROOT/bench/tonic-hello/Cargo.toml"
fi
GRPCKIT=$TARGET/$PROFILE/grpckit
TONIC=$TARGET/$PROFILE/tonic-hello
GREETER=$TARGET/$PROFILE/greeter
HELLO_PROTO=$ROOT/bench/tonic-hello/proto/helloworld.proto
GREETER_TOKEN=$(python3 "$ROOT/bench/greeter-token.py")
# bench/greeter.yaml on this run's ports; greeter-mt: the same on the multi-thread runtime.
sed -e "s/^  port: .*/  port: $PORT/" -e "s/^  metrics_listen: .*/  metrics_listen: \"127.0.0.1:$((PORT + 1))\"/" \
  "$ROOT/bench/greeter.yaml" > "$OUT/greeter.yaml"
sed -e "s/^  runtime: .*/  runtime: multi_thread/" "$OUT/greeter.yaml" > "$OUT/greeter-mt.yaml"

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

GO_GREETER=""
build_go_greeter() { # a copy of the peer harness under $OUT, so nothing is written into it
  [[ -n $GO_GREETER ]] && return 0
  command -v go >/dev/null && [[ -d $PEERS/go-greeter ]] || { echo "grpc-go peer unavailable (needs Go and $PEERS)" >&2; return 1; }
  mkdir -p "$OUT/peers" && cp -r "$PEERS/go-greeter" "$PEERS/proto" "$OUT/peers/"
  bash "$OUT/peers/go-greeter/build.sh" >"$OUT/go-build.log" 2>&1 || { echo "grpc-go build failed: $OUT/go-build.log" >&2; return 1; }
  GO_GREETER=$OUT/peers/bin/go-greeter
}

is_peer() { [[ $1 == tonic || $1 == tonic-ct || $1 == grpc-go ]]; }
# Servers of helloworld.Greeter/SayHello (the peers and examples/greeter).
is_hello() { is_peer "$1" || [[ $1 == greeter || $1 == greeter-mt ]]; }

start_server() { # name
  port_free || { echo "127.0.0.1:$PORT is busy" >&2; exit 1; }
  local cpus=$SERVER_CPU
  case $1 in
    tonic) ADDR=127.0.0.1:$PORT taskset -c "$cpus" "$TONIC" >"$OUT/$1.log" 2>&1 & ;;
    tonic-ct) TONIC_RUNTIME=current_thread ADDR=127.0.0.1:$PORT taskset -c "$cpus" "$TONIC" >"$OUT/$1.log" 2>&1 & ;;
    grpc-go) ADDR=127.0.0.1:$PORT taskset -c "$cpus" "$GO_GREETER" >"$OUT/$1.log" 2>&1 & ;;
    greeter|greeter-mt) taskset -c "$cpus" "$GREETER" "$OUT/$1.yaml" >"$OUT/$1.log" 2>&1 & ;;
    grpckit-*)
      rm -f "$OUT/bench.db"
      local extra=()
      case $1 in
        grpckit-nolayers) extra=(--config "$NO_LAYERS_CONFIG") ;;
        grpckit-nometrics) extra=(--config "$NO_METRICS_CONFIG") ;;
        grpckit-full-mt) extra=(--runtime multi_thread) ;;
        grpckit-tpc1) extra=(--runtime thread_per_core --cores 1) ;;
        grpckit-tpc2) extra=(--runtime thread_per_core --cores 2); cpus=$SERVER_CPU,$CLIENT_CPU ;;
      esac
      taskset -c "$cpus" "$GRPCKIT" server "${extra[@]}" --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
        --database-url "sqlite://$OUT/bench.db" --jwt-secret bench-secret-bench-secret-bench-secret >"$OUT/$1.log" 2>&1 & ;;
    *) echo "unknown server $1" >&2; exit 1 ;;
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

idle_rss() { # label probe-args...  (idle RSS; then IDLE_N idle connections, and a healthy
  # client's latency while they are held)
  local label=$1; shift
  sleep 1
  echo -e "$label\tidle\t0\t-\t-\t-\t$(( $(rss_kib) / 1024 ))\t-\t-" >> "$ROWS"
  local txt=$OUT/idle-$label.txt
  ( ulimit -n "$(ulimit -Hn)"; taskset -c "$CLIENT_CPU" timeout 200 python3 "$ROOT/bench/idle_conns.py" 127.0.0.1 "$PORT" "$SERVER_PID" "$IDLE_N" 12 ) > "$txt" 2>&1 &
  local holder=$!
  for _ in $(seq 1 1300); do grep -q '^opened=' "$txt" 2>/dev/null && break; kill -0 $holder 2>/dev/null || break; sleep 0.1; done
  if grep -q '^opened=' "$txt"; then
    local json=$OUT/perf-$label-healthy.json
    taskset -c "$CLIENT_CPU" timeout 30 "$GRPCKIT" perf --addr 127.0.0.1:$PORT -q --format json -o "$json" \
      -c 1 -n 500 -H "authorization: Bearer $TOKEN" "$@" >/dev/null 2>&1 || true
    python3 - "$json" "$label" >> "$ROWS" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]}\thealthy-during-idle\t1x1\t{r['rps']:.0f}\t{r['latency_ms']['p50']:.3f}\t{r['latency_ms']['p99']:.3f}\t-\t{r['ok']}\t{r['errors']}")
PY
  fi
  wait $holder || true
  local kib; kib=$(sed -n 's/.*rss_kib=\([0-9]*\).*/\1/p' "$txt")
  echo -e "$label\tidle-conns\t$(sed -n 's/.*open=\([0-9]*\).*/\1/p' "$txt")\t-\t-\t-\t$(( ${kib:-0} / 1024 ))\t-\t-" >> "$ROWS"
  tail -n 3 "$ROWS"
}

ulimit -n "$(ulimit -Hn)" || true
echo "== server CPU $SERVER_CPU, client CPU $CLIENT_CPU, ${DURATION}s + ${WARMUP}s warm-up per run, levels: $LEVELS"
for server in $SERVERS; do
  echo "== $server"
  if [[ $server == grpc-go ]]; then build_go_greeter || continue; fi
  start_server $server
  if is_hello $server; then
    # The greeter's token for every hello server, so their request bytes match (the peers
    # ignore it).
    TOKEN=${TOKEN_PEER:-$GREETER_TOKEN}; USER_ID=01a20000-0000-7000-8000-000000000000
    PATHNAME=/helloworld.Greeter/SayHello
    CALL=(--proto "$HELLO_PROTO" --call helloworld.Greeter/SayHello -d "{\"name\":\"$USER_ID\"}")
    "$GRPCKIT" call --addr 127.0.0.1:$PORT --proto "$HELLO_PROTO" -H "authorization: Bearer $TOKEN" \
      helloworld.Greeter/SayHello -d "{\"name\":\"$USER_ID\"}" >/dev/null
  else
    grpckit_login
    PATHNAME=/user.v1.UserService/GetUser
    CALL=(--call user.v1.UserService/GetUser -d "{\"id\":\"$USER_ID\"}")
    "$GRPCKIT" call --addr 127.0.0.1:$PORT -H "authorization: Bearer $TOKEN" user.v1.UserService/GetUser -d "{\"id\":\"$USER_ID\"}" >/dev/null
  fi
  FRAME=$OUT/getuser.req
  frame "$USER_ID" "$FRAME"
  if [[ ${SKIP_IDLE:-0} != 1 ]]; then
    idle_rss $server "${CALL[@]}"
    stop_server; start_server $server
    if is_hello $server; then :; else grpckit_login; CALL=(--call user.v1.UserService/GetUser -d "{\"id\":\"$USER_ID\"}"); fi
    frame "$USER_ID" "$FRAME"
  fi
  for lvl in $LEVELS; do h2load_run $server $PATHNAME "${lvl%x*}" "${lvl#*x}"; done
  if [[ $server == tonic && ${SKIP_PERF_CHECK:-0} != 1 ]]; then
    # Load generator efficiency: grpckit perf vs h2load, same connections and in-flight calls.
    for lvl in 10x10 50x10; do
      c=${lvl%x*}; m=${lvl#*x}
      perf_run tonic --connections "$c" -c $((c * m)) "${CALL[@]}"
    done
  fi
  # Latency at one offered load for every server (open model, constant rate): half of the
  # first server's maximum closed-loop throughput unless RATE is set.
  if [[ $RATE == 0 ]]; then
    RATE=$(awk -F'\t' -v s="$server" '$1==s && $2=="h2load" {if ($4>m) m=$4} END {print int(m/2)}' "$ROWS")
  fi
  if [[ $RATE -gt 0 ]]; then perf_run $server --rps "$RATE" -c 200 --connections 10 "${CALL[@]}"; fi
  stop_server
done

echo "== summary ($OUT)"
python3 "$ROOT/bench/summarize.py" "$ROWS" | tee "$OUT/summary.md"
