#!/usr/bin/env bash
# CPU cost per call of the LOAD GENERATOR, in instructions: `grpckit perf` and `h2load` each run
# under valgrind's callgrind against the bare tonic server (current-thread runtime, not under
# valgrind), once with N and once with 2N SayHello calls; (I(2N) - I(N)) / N removes start-up
# costs (reflection, connection set-up). Deterministic enough (about 1-2 %) to compare
# generator changes on a noisy machine; when the generator is the bottleneck, h2load / perf
# instructions is the req/s ratio the #6 target asks for.
#
#   bench/generator-instructions.sh                  # LEVELS="10x10 50x10", N=10000
#   N=20000 LEVELS="50x10" bench/generator-instructions.sh
#
# Needs valgrind, h2load and protoc (for the tonic build). Bounded: N calls, loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-10000}
PORT=${PORT:-19660}
LEVELS=${LEVELS:-"10x10 50x10"}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
TONIC=$TARGET/release/tonic-hello
PROTO=$ROOT/bench/tonic-hello/proto/helloworld.proto
OUT=${OUT:-$ROOT/bench/results/generator-$(date -u +%Y%m%d-%H%M%S)}
for t in valgrind h2load; do command -v $t >/dev/null || { echo "missing $t (apt-get install -y valgrind nghttp2-client)" >&2; exit 1; }; done
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  (cd "$ROOT" && cargo build --release -p grpckit-cli)
  CARGO_TARGET_DIR=$TARGET cargo build --release --manifest-path "$ROOT/bench/tonic-hello/Cargo.toml"
fi
mkdir -p "$OUT"
NAME=0123456789abcdef0123456789abcdef0123 # 36 characters: the bytes of a GetUser request
python3 -c 'import sys; m=b"\x0a"+bytes([len(sys.argv[1])])+sys.argv[1].encode(); sys.stdout.buffer.write(b"\x00"+len(m).to_bytes(4,"big")+m)' "$NAME" > "$OUT/req.bin"

TONIC_RUNTIME=current_thread ADDR=127.0.0.1:$PORT "$TONIC" > "$OUT/tonic.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

# Total instructions of one generator run: $1 = generator, $2 = connections, $3 = streams, $4 = calls.
instr() {
  local f="$OUT/$1-$2x$3-$4.callgrind"
  case $1 in
    perf) timeout 900 valgrind --tool=callgrind --callgrind-out-file="$f" "$GRPCKIT" perf --plaintext \
            --addr 127.0.0.1:$PORT --proto "$PROTO" --call helloworld.Greeter/SayHello -d "{\"name\":\"$NAME\"}" \
            --connections "$2" -c $(($2 * $3)) -n "$4" --warmup 0s --format json > "$f.out" 2>&1 ;;
    h2load) timeout 900 valgrind --tool=callgrind --callgrind-out-file="$f" h2load -t1 -c "$2" -m "$3" -n "$4" \
            -H 'content-type: application/grpc' -H 'te: trailers' -d "$OUT/req.bin" \
            "http://127.0.0.1:$PORT/helloworld.Greeter/SayHello" > "$f.out" 2>&1 ;;
  esac
  grep -E '^(summary|totals):' "$f" | head -1 | awk '{print $2}'
}

printf 'level\tgenerator\tinstructions per call\n'
for level in $LEVELS; do
  c=${level%x*}; m=${level#*x}
  declare -A per=()
  for gen in h2load perf; do
    a=$(instr $gen "$c" "$m" "$N"); b=$(instr $gen "$c" "$m" $((2 * N)))
    per[$gen]=$(((b - a) / N))
    printf '%s\t%s\t%s\n' "$level" "$gen" "${per[$gen]}"
  done
  python3 -c "import sys; h,p=map(int,sys.argv[2:]); print(f'{sys.argv[1]}: h2load / perf instructions = {h/p:.3f}')" "$level" "${per[h2load]}" "${per[perf]}"
done
