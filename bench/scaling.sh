#!/usr/bin/env bash
# thread_per_core scaling on a machine without a spare core for the load generator: both modes
# get the SAME fixed offered load (`grpckit perf --rps`, open model, GetUser through the full
# chain), and the server's CPU time per call is read from /proc. 1 core: server on CPU
# $SERVER_CPU, generator on $CLIENT_CPU. 2 cores: server on both, generator sharing
# $CLIENT_CPU. Projected 2-core / 1-core throughput = 2 x (CPU per call with 1 core) / (CPU
# per call with 2 cores): what the second core adds when it is not shared.
#
#   bench/scaling.sh                      # RATE=20000 for DURATION=8 s
#   RATE=30000 DURATION=10 bench/scaling.sh
#
# Bounded: --rps x -z calls, loopback only, `timeout` on every step.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=${RATE:-20000}
DURATION=${DURATION:-8}
PORT=${PORT:-19680}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
OUT=${OUT:-$ROOT/bench/results/scaling-$(date -u +%Y%m%d-%H%M%S)}
[[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$ROOT" && cargo build --release -p grpckit-cli)
mkdir -p "$OUT"
TICKS=$(getconf CLK_TCK)

wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf 'cores\toffered req/s\tachieved req/s\tok\terrors\tserver CPU s\tCPU us per call\n'
declare -A PER
for cores in 1 2; do
  cpus=$SERVER_CPU; [[ $cores == 2 ]] && cpus=$SERVER_CPU,$CLIENT_CPU
  taskset -c "$cpus" "$GRPCKIT" server --runtime thread_per_core --cores "$cores" \
    --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
    --database-url "sqlite://$OUT/tpc$cores.db" --jwt-secret bench-secret-bench-secret-bench-secret \
    > "$OUT/tpc$cores.log" 2>&1 &
  pid=$!
  wait_port
  email="scale-$RANDOM$RANDOM@example.com"
  uid=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
    -d "{\"name\":\"bench\",\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
  token=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
    -d "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
  load() { # $1 = seconds
    taskset -c "$CLIENT_CPU" timeout $(($1 + 30)) "$GRPCKIT" perf --addr 127.0.0.1:$PORT -q --format json \
      --call user.v1.UserService/GetUser -d "{\"id\":\"$uid\"}" -H "authorization: Bearer $token" \
      --connections 10 -c 200 --rps "$RATE" -z "${1}s"
  }
  load 2 > /dev/null # warm-up
  before=$(cpu_ticks $pid)
  load "$DURATION" > "$OUT/tpc$cores.json"
  after=$(cpu_ticks $pid)
  kill -INT $pid; wait $pid 2>/dev/null || true
  PER[$cores]=$(python3 - "$OUT/tpc$cores.json" "$cores" "$RATE" "$((after - before))" "$TICKS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); cores, rate, ticks, hz = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
cpu = ticks / hz
per = cpu / max(r["ok"], 1) * 1e6
print(f"{cores}\t{rate}\t{r['rps']:.0f}\t{r['ok']}\t{r['errors']}\t{cpu:.2f}\t{per:.1f}", file=sys.stderr)
print(f"{per:.3f}")
PY
)
done 2>&1
python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'CPU per call, 2 cores / 1 core: {b/a:.3f}; projected 2-core / 1-core throughput with unshared cores: {2*a/b:.2f}x')" "${PER[1]}" "${PER[2]}"
