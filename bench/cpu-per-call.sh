#!/usr/bin/env bash
# Server CPU time (user + system, from /proc) per GetUser call at one FIXED offered load
# (`grpckit perf --rps`, open model), for several server configurations. On a shared machine
# this is a steadier throughput proxy than closed-loop req/s (which moves +-30 % between
# identical runs), and unlike instruction counts it includes system calls and the kernel's
# share of the loopback traffic charged to the server.
#
#   full / nolayers: the chain's cost (#3): full keeps nolayers-CPU / full-CPU of the no-layer
#                    throughput when the server is CPU-bound;
#   tonic-ct:        bare tonic hello-world (bench/tonic-hello, current_thread runtime), the
#                    same bearer-token header: full keeps tonic-CPU / full-CPU of its throughput;
#   tpc1 / tpc2:     thread_per_core on 1 core (CPU $SERVER_CPU) and on 2 (also $CLIENT_CPU,
#                    shared with the generator: there is no third core). Projected 2-core /
#                    1-core throughput = 2 x CPU per call(tpc1) / CPU per call(tpc2).
#
#   bench/cpu-per-call.sh                              # CONFIGS="full nolayers tpc1 tpc2"
#   RATE=30000 DURATION=10 ROUNDS=3 CONFIGS="full nolayers" bench/cpu-per-call.sh
#   ROUNDS=3 CONFIGS="tonic-ct full nolayers" bench/cpu-per-call.sh   # the #7 comparison
#
# Bounded: --rps x -z calls, loopback only, `timeout` on every step.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=${RATE:-20000}
CONFIGS=${CONFIGS:-"full nolayers tpc1 tpc2"}
ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-8}
PORT=${PORT:-19680}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
OUT=${OUT:-$ROOT/bench/results/cpu-$(date -u +%Y%m%d-%H%M%S)}
[[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$ROOT" && cargo build --release -p grpckit-cli)
TONIC=$TARGET/release/tonic-hello
HELLO_PROTO=$ROOT/bench/tonic-hello/proto/helloworld.proto
if [[ " $CONFIGS " == *" tonic-ct "* && ( ${SKIP_BUILD:-0} != 1 || ! -x $TONIC ) ]]; then
  CARGO_TARGET_DIR=$TARGET cargo build --release --manifest-path "$ROOT/bench/tonic-hello/Cargo.toml"
fi
mkdir -p "$OUT"
TICKS=$(getconf CLK_TCK)

wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }

printf 'round\tconfig\toffered req/s\tachieved req/s\tok\terrors\tserver CPU s\tCPU us per call\tof which kernel\n'
declare -A PER
for round in $(seq "$ROUNDS"); do
for cfg in $CONFIGS; do
  cpus=$SERVER_CPU
  case $cfg in
    tonic-ct) extra=() ;;
    full) extra=(--runtime current_thread) ;;
    nolayers) extra=(--runtime current_thread --config "$ROOT/bench/no-layers.yaml") ;;
    tpc1) extra=(--runtime thread_per_core --cores 1) ;;
    tpc2) extra=(--runtime thread_per_core --cores 2); cpus=$SERVER_CPU,$CLIENT_CPU ;;
    *) echo "unknown config $cfg" >&2; exit 1 ;;
  esac
  if [[ $cfg == tonic-ct ]]; then
    # A token of the real shape for the same header bytes (tonic ignores it): kept from a
    # grpckit config of this run, else made on a short-lived grpckit server.
    if [[ -z ${token:-} ]]; then
      "$GRPCKIT" server --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
        --database-url "sqlite://$OUT/token.db" --jwt-secret bench-secret-bench-secret-bench-secret \
        > "$OUT/token.log" 2>&1 &
      pid=$!
      wait_port
      email="cpu-$RANDOM$RANDOM@example.com"
      timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
        -d "{\"name\":\"bench\",\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" > /dev/null
      token=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
        -d "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
      kill -INT $pid; wait $pid 2>/dev/null || true
    fi
    TONIC_RUNTIME=current_thread ADDR=127.0.0.1:$PORT taskset -c "$cpus" "$TONIC" > "$OUT/$cfg.log" 2>&1 &
    pid=$!
    wait_port
    # A 36-character name: the same request bytes as GetUserRequest{id} with a user id.
    call=(--proto "$HELLO_PROTO" --call helloworld.Greeter/SayHello -d '{"name":"0190f2c4-7d1e-7a55-9c3b-5e4f6a7b8c9d"}')
  else
    taskset -c "$cpus" "$GRPCKIT" server "${extra[@]}" \
      --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
      --database-url "sqlite://$OUT/$cfg.db" --jwt-secret bench-secret-bench-secret-bench-secret \
      > "$OUT/$cfg.log" 2>&1 &
    pid=$!
    wait_port
    email="cpu-$RANDOM$RANDOM@example.com"
    uid=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
      -d "{\"name\":\"bench\",\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
    token=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
      -d "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
    call=(--call user.v1.UserService/GetUser -d "{\"id\":\"$uid\"}")
  fi
  load() { # $1 = seconds
    taskset -c "$CLIENT_CPU" timeout $(($1 + 30)) "$GRPCKIT" perf --addr 127.0.0.1:$PORT -q --format json \
      "${call[@]}" -H "authorization: Bearer $token" \
      --connections 10 -c 200 --rps "$RATE" -z "${1}s"
  }
  load 2 > /dev/null # warm-up
  before=$(cpu_ticks $pid); sys_before=$(sys_ticks $pid)
  load "$DURATION" > "$OUT/$cfg-$round.json"
  after=$(cpu_ticks $pid); sys_after=$(sys_ticks $pid)
  kill -INT $pid
  for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -TERM $pid 2>/dev/null || true # bare tonic has no SIGINT handling
  wait $pid 2>/dev/null || true
  per=$(python3 - "$OUT/$cfg-$round.json" "$round" "$cfg" "$RATE" "$((after - before))" "$TICKS" "$((sys_after - sys_before))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); rnd, cfg, rate, ticks, hz = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
cpu = ticks / hz
per = cpu / max(r["ok"], 1) * 1e6
kernel = int(sys.argv[7]) / max(ticks, 1)
print(f"{rnd}\t{cfg}\t{rate}\t{r['rps']:.0f}\t{r['ok']}\t{r['errors']}\t{cpu:.2f}\t{per:.2f}\t{kernel:.0%}", file=sys.stderr)
print(f"{per:.4f}")
PY
)
  PER[$cfg]=$(python3 -c "import sys; print(float(sys.argv[1]) + float(sys.argv[2]))" "${PER[$cfg]:-0}" "$per")
done
done 2>&1
ratio() { python3 -c "import sys; a,b=map(float,sys.argv[1:3]); print(sys.argv[3].format(a/b))" "$@"; }
if [[ -n ${PER[full]:-} && -n ${PER[nolayers]:-} ]]; then
  ratio "${PER[nolayers]}" "${PER[full]}" 'full chain keeps {:.3f}x of the no-layer throughput (CPU per call, no-layers / full)'
fi
for cfg in full nolayers; do
  if [[ -n ${PER[tonic-ct]:-} && -n ${PER[$cfg]:-} ]]; then
    ratio "${PER[tonic-ct]}" "${PER[$cfg]}" "$cfg keeps {:.3f}x of bare tonic's (current_thread) throughput (CPU per call, tonic / $cfg)"
  fi
done
if [[ -n ${PER[tpc1]:-} && -n ${PER[tpc2]:-} ]]; then
  python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'thread_per_core: CPU per call 2 cores / 1 core {b/a:.3f}; projected 2-core / 1-core throughput with unshared cores {2*a/b:.2f}x')" "${PER[tpc1]}" "${PER[tpc2]}"
fi
