#!/usr/bin/env bash
# CPU cost per call in INSTRUCTIONS, not seconds: the server runs under valgrind's callgrind,
# h2load sends N GetUser calls (10 connections x 10 streams), and the instructions the server
# executed for them (counters zeroed after a warm-up) are divided by N. Unlike req/s, this
# hardly moves when a shared machine is busy, so small changes to the chain can be compared.
# Reads as a throughput ratio when the server is CPU-bound: full / no-layers instructions =
# no-layers / full req/s.
#
#   bench/instructions.sh                       # grpckit-full and grpckit-nolayers, N=5000
#   N=10000 CONFIGS="full nolayers nometrics" bench/instructions.sh
#   GRPCKIT_B=/tmp/old-grpckit CONFIGS="full full-b" bench/instructions.sh   # two builds
#   CONFIGS="tonic-ct full nolayers" bench/instructions.sh   # + bare tonic (current_thread),
#                                    # same token header, its hello call: the #7 baseline
#
# Needs valgrind and h2load (apt-get install -y valgrind nghttp2-client). Bounded: N calls,
# loopback only, `timeout` on every step.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-5000}
PORT=${PORT:-19650}
CONFIGS=${CONFIGS:-"full nolayers"}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
OUT=${OUT:-$ROOT/bench/results/instructions-$(date -u +%Y%m%d-%H%M%S)}
command -v valgrind >/dev/null || { echo "missing valgrind (apt-get install -y valgrind)" >&2; exit 1; }
command -v h2load >/dev/null || { echo "missing h2load (apt-get install -y nghttp2-client)" >&2; exit 1; }
[[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$ROOT" && cargo build --release -p grpckit-cli)
TONIC=$TARGET/release/tonic-hello
if [[ " $CONFIGS " == *" tonic-ct "* && ( ${SKIP_BUILD:-0} != 1 || ! -x $TONIC ) ]]; then
  CARGO_TARGET_DIR=$TARGET cargo build --release --manifest-path "$ROOT/bench/tonic-hello/Cargo.toml"
fi
mkdir -p "$OUT"

wait_port() { for _ in $(seq 600); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.2; done; return 1; }
server_args() {
  local extra=()
  case $1 in
    full|full-b) ;;
    nolayers) extra=(--config "$ROOT/bench/no-layers.yaml") ;;
    nometrics) extra=(--config "$ROOT/bench/no-metrics.yaml") ;;
    tonic-ct) extra=() ;;
    *) echo "unknown config $1" >&2; exit 1 ;;
  esac
  echo "${extra[@]}" --runtime current_thread --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
    --database-url "sqlite://$OUT/$1.db" --jwt-secret bench-secret-bench-secret-bench-secret
}

declare -A RESULT
# Sign up and log in ONCE on a normal run of the server; every config then serves a copy of
# that database with the same user, so every config gets the same token bytes (HPACK decodes
# the never-indexed token per call, and its cost depends on the bytes).
# shellcheck disable=SC2046
"$GRPCKIT" server $(server_args full | sed "s#$OUT/full.db#$OUT/setup.db#") > "$OUT/setup.log" 2>&1 &
pid=$!
wait_port
email="instr-$RANDOM$RANDOM@example.com"
uid=$("$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
  -d "{\"name\":\"bench\",\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
token=$("$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
  -d "{\"email\":\"$email\",\"password\":\"correct-horse-battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
kill -INT "$pid"; wait "$pid" 2>/dev/null || true
for cfg in $CONFIGS; do
  for suffix in "" -wal -shm; do
    if [[ -f $OUT/setup.db$suffix ]]; then cp "$OUT/setup.db$suffix" "$OUT/$cfg.db$suffix"; fi
  done
  python3 -c 'import sys; m=b"\x0a"+bytes([len(sys.argv[1])])+sys.argv[1].encode(); sys.stdout.buffer.write(b"\x00"+len(m).to_bytes(4,"big")+m)' "$uid" > "$OUT/req.bin"
  path=/user.v1.UserService/GetUser
  if [[ $cfg == tonic-ct ]]; then
    # The same token header (a grpckit token, ignored by tonic) and the same request bytes:
    # HelloRequest{name} with the 36-character user id encodes exactly like GetUserRequest{id}.
    path=/helloworld.Greeter/SayHello
    TONIC_RUNTIME=current_thread ADDR=127.0.0.1:$PORT valgrind --tool=callgrind \
      --callgrind-out-file="$OUT/$cfg.callgrind" "$TONIC" > "$OUT/$cfg.log" 2>&1 &
  else
    # shellcheck disable=SC2046
    bin=$GRPCKIT
    [[ $cfg != full-b ]] || bin=${GRPCKIT_B:?set GRPCKIT_B to the other grpckit binary}
    valgrind --tool=callgrind --callgrind-out-file="$OUT/$cfg.callgrind" "$bin" server $(server_args "$cfg") > "$OUT/$cfg.log" 2>&1 &
  fi
  pid=$!
  wait_port
  load() {
    timeout 600 h2load -t1 -c10 -m10 -n "$1" -H 'content-type: application/grpc' -H 'te: trailers' \
      -H "authorization: Bearer $token" -d "$OUT/req.bin" "http://127.0.0.1:$PORT$path" \
      | grep -E '^requests:'
  }
  load 1000 > /dev/null
  callgrind_control -z "$pid" > /dev/null 2>&1
  load "$N"
  callgrind_control -d "$pid" > /dev/null 2>&1
  sleep 1
  # grpckit drains on SIGINT; bare tonic has no signal handling (TERM ends it under valgrind).
  kill -INT "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  dump=$(ls -t "$OUT/$cfg.callgrind".* | head -1)
  total=$(grep -E '^(summary|totals):' "$dump" | head -1 | awk '{print $2}')
  RESULT[$cfg]=$((total / N))
  echo "$cfg: ${RESULT[$cfg]} instructions per call (profile: $dump)"
done
if [[ -n ${RESULT[tonic-ct]:-} ]]; then
  for cfg in $CONFIGS; do
    [[ $cfg == tonic-ct ]] && continue
    python3 -c "import sys; c,t=sys.argv[2:]; print(f'{sys.argv[1]}: {int(t)/int(c):.3f}x of bare tonic (current_thread) by instructions')" \
      "$cfg" "${RESULT[$cfg]}" "${RESULT[tonic-ct]}"
  done
fi
if [[ -n ${RESULT[full]:-} && -n ${RESULT[nolayers]:-} ]]; then
  python3 -c "import sys; f,n=map(int,sys.argv[1:]); print(f'full chain keeps {n/f:.3f}x of the no-layer throughput (instructions: no-layers {n} / full {f})')" \
    "${RESULT[full]}" "${RESULT[nolayers]}"
fi
