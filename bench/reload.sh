#!/usr/bin/env bash
# Hot reload under load. The release server runs the full default chain (JWT, RBAC, rate
# limits, validation, metrics, access log, audit) with a config file; `grpckit perf` calls
# GetUser with a bearer token.
#
#   1. capacity: a closed-loop run (-c CONC for CAP_SECONDS) gives the server's req/s;
#   2. steady:   an open-model run at half of it (--rps) for RUN_SECONDS, no reload;
#   3. reload:   the same run while the config file is rewritten RELOADS times, one per
#                second (rate-limit rules, log level, access-log sampling, API keys,
#                timeouts), each rewrite picked up by the file watch.
# Prints failed calls of both runs, their p99, the ratio reload/steady (target <= 2x, zero
# failures) and how many reloads the server applied (`grpckit_config_reload_total`).
# Every rewritten config allows the load (no rule rejects it), so every failure is a bug.
#
#   bench/reload.sh                         # builds the release binary first
#   SKIP_BUILD=1 CARGO_TARGET_DIR=/x bench/reload.sh
# Bounded: every step under `timeout`, loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-19790}
ADMIN=$((PORT + 1))
CONC=${CONC:-50}
CAP_SECONDS=${CAP_SECONDS:-5}
RUN_SECONDS=${RUN_SECONDS:-12}
RELOADS=${RELOADS:-10}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
OUT=${OUT:-$ROOT/bench/results/reload-$(date -u +%Y%m%d-%H%M%S)}
SECRET=bench-secret-bench-secret-bench-secret
[[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$ROOT" && cargo build --release -p grpckit-cli)
rm -rf "$OUT"; mkdir -p "$OUT"
CFG=$OUT/grpckit.yaml

wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# One config per reload: every key the reload applies live changes, none rejects the load.
write_config() {
  local i=$1 level=info sample=0.01 per_second=100000 timeout=5s key=bench-key-$1
  (( i % 2 )) && { level=debug; sample=0.02; per_second=90000; timeout=4s; }
  cat > "$CFG.tmp" <<EOF
log:
  level: $level
middleware:
  log:
    success_sample: $sample
  rate_limit:
    rules:
      - methods: "/user.v1.UserService/*"
        per_second: $per_second
        burst: $per_second
  timeout:
    default: $timeout
  auth:
    api_keys:
      - name: reload-$i
        sha256: "$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)"
        roles: [admin]
EOF
  mv "$CFG.tmp" "$CFG"   # an editor's rename-replace
}

if (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then echo "port $PORT is busy; aborting" >&2; exit 1; fi
write_config 0
"$GRPCKIT" server --config "$CFG" --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$ADMIN \
  --database-url "sqlite://$OUT/bench.db" --jwt-secret $SECRET > "$OUT/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port $PORT
UID_=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
  -d '{"name":"bench","email":"reload@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
TOKEN=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
  -d '{"email":"reload@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

perf() {
  timeout 120 "$GRPCKIT" perf --addr 127.0.0.1:$PORT -q --json --call user.v1.UserService/GetUser \
    -d "{\"id\":\"$UID_\"}" -H "authorization: Bearer $TOKEN" --connections 4 "$@"
}

perf -c "$CONC" -z "${CAP_SECONDS}s" --warmup 1s > "$OUT/capacity.json"
CAP=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["ok_rps"]))' "$OUT/capacity.json")
RPS=$((CAP / 2))
echo "capacity ${CAP} req/s; runs at ${RPS} req/s"

perf -c "$CONC" --rps "$RPS" -z "${RUN_SECONDS}s" --warmup 1s > "$OUT/steady.json"

reloads_before=$(curl -fsS "http://127.0.0.1:$ADMIN/metrics" | awk '/^grpckit_config_reload_total\{result="applied"\}/ {print $2}')
perf -c "$CONC" --rps "$RPS" -z "${RUN_SECONDS}s" --warmup 1s > "$OUT/reload.json" &
load=$!
sleep 1.5   # past the warm-up
for i in $(seq 1 "$RELOADS"); do
  write_config "$i"
  sleep 1
done
wait $load
sleep 1
reloads_after=$(curl -fsS "http://127.0.0.1:$ADMIN/metrics" | awk '/^grpckit_config_reload_total\{result="applied"\}/ {print $2}')

python3 - "$OUT" "${reloads_before:-0}" "${reloads_after:-0}" "$RELOADS" <<'EOF'
import json, sys
out, before, after, want = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
s = json.load(open(f"{out}/steady.json")); r = json.load(open(f"{out}/reload.json"))
for name, x in (("steady", s), ("reload", r)):
    print(f"{name:7} ok {x['ok']:7} failed {x['errors']:4} rps {x['ok_rps']:9.0f} "
          f"p50 {x['p50_ms']:.2f} ms p99 {x['p99_ms']:.2f} ms max {x['max_ms']:.2f} ms {x['errors_by_code']}")
print(f"reloads applied during the run: {after - before:.0f} of {want}")
print(f"p99 reload/steady: {r['p99_ms'] / s['p99_ms']:.2f}x (target <= 2x); failed calls: {s['errors'] + r['errors']} (target 0)")
EOF
