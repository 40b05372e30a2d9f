#!/usr/bin/env bash
# TLS full chain vs plaintext full chain, in INTERLEAVED rounds (same run, same server build,
# same request): for each round and each of `plain` and `tls` the grpckit server (every layer,
# current_thread, pinned to $SERVER_CPU) is started and measured twice with h2load (pinned to
# $CLIENT_CPU):
#   established  calls per second on CONNS established connections x STREAMS in flight
#                (-D DURATION): the cost of record encryption on the serving path;
#   new-conn     NEW_CONNS connections that each make ONE call (-c N -n N): connection setup
#                per second, i.e. TCP + TLS 1.3 handshake + HTTP/2 preface + one call.
# Then (IDLE=1, the default) the server RSS with IDLE_N idle connections, plaintext and TLS,
# with bench/idle_conns.py, while a healthy client (grpckit perf, 500 calls) measures p99.
# Prints a table per round, the tls/plain ratios (mean, median) and the idle figures.
#
#   bench/tls.sh                               # 6 rounds, 5 s each
#   ROUNDS=10 IDLE=0 bench/tls.sh              # throughput only
#   SKIP_BUILD=1 CARGO_TARGET_DIR=/path bench/tls.sh
#
# Bounded: h2load -D and `timeout` on every step; loopback only. Needs h2load
# (nghttp2-client) and python h2 (pip install h2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-5}
CONNS=${CONNS:-10}
STREAMS=${STREAMS:-10}
NEW_CONNS=${NEW_CONNS:-1000}
IDLE=${IDLE:-1}
IDLE_N=${IDLE_N:-10000}
PORT=${PORT:-19780}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GRPCKIT=$TARGET/release/grpckit
OUT=${OUT:-$ROOT/bench/results/tls-$(date -u +%Y%m%d-%H%M%S)}
SECRET=bench-secret-bench-secret-bench-secret
command -v h2load >/dev/null || { echo "missing h2load (apt-get install -y nghttp2-client)" >&2; exit 1; }
python3 -c 'import h2' 2>/dev/null || { echo "missing python h2 (pip install h2)" >&2; exit 1; }
[[ ${SKIP_BUILD:-0} == 1 ]] || (cd "$ROOT" && cargo build --release -p grpckit-cli)
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" || true

wait_port() { for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
stop() { kill -INT "$1" 2>/dev/null || true; for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

"$GRPCKIT" certs init --out "$OUT/certs" > "$OUT/certs.txt"
CA=$OUT/certs/ca.pem

# One user, one token, one database copied for every server start.
"$GRPCKIT" server --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
  --database-url "sqlite://$OUT/setup.db" --jwt-secret $SECRET > "$OUT/setup.log" 2>&1 &
pid=$!
wait_port
UID_=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/CreateUser \
  -d '{"name":"bench","email":"tls@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
TOKEN=$(timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT user.v1.UserService/Login \
  -d '{"email":"tls@example.com","password":"correct-horse-battery"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
stop $pid
python3 -c 'import sys; m=b"\x0a"+bytes([len(sys.argv[1])])+sys.argv[1].encode(); sys.stdout.buffer.write(b"\x00"+len(m).to_bytes(4,"big")+m)' "$UID_" > "$OUT/req.bin"

SPID=
start() { # plain|tls
  local cfg=$1 tls=()
  [[ $cfg == tls ]] && tls=(--tls-cert "$OUT/certs/server.pem" --tls-key "$OUT/certs/server.key")
  rm -f "$OUT/$cfg.db"*
  for s in "" -wal -shm; do [[ -f $OUT/setup.db$s ]] && cp "$OUT/setup.db$s" "$OUT/$cfg.db$s"; done
  taskset -c "$SERVER_CPU" "$GRPCKIT" server --runtime current_thread "${tls[@]}" \
    --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
    --database-url "sqlite://$OUT/$cfg.db" --jwt-secret $SECRET > "$OUT/$cfg.log" 2>&1 &
  SPID=$!
  wait_port
}
url() { [[ $1 == tls ]] && echo "https://127.0.0.1:$PORT/user.v1.UserService/GetUser" || echo "http://127.0.0.1:$PORT/user.v1.UserService/GetUser"; }
h2() { # out-file h2load-args...
  local out=$1; shift
  taskset -c "$CLIENT_CPU" timeout $((DURATION + 60)) h2load -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $TOKEN" \
    -d "$OUT/req.bin" "$@" > "$out" 2>&1 || true
  python3 - "$out" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
m = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out)
req = re.search(r"(\d+) succeeded, (\d+) failed", out)
print(f"{float(m.group(1)):.0f}" if m and req and int(req.group(2)) == 0 else "0")
PY
}

{
printf 'round\tplain est\ttls est\ttls/plain est\tplain new-conn\ttls new-conn\ttls/plain new-conn\n'
for round in $(seq "$ROUNDS"); do
  declare -A est=() new=()
  for cfg in plain tls; do
    start $cfg
    est[$cfg]=$(h2 "$OUT/est-$cfg-$round.txt" -c "$CONNS" -m "$STREAMS" -D "$DURATION" --warm-up-time=1 "$(url $cfg)")
    new[$cfg]=$(h2 "$OUT/new-$cfg-$round.txt" -c "$NEW_CONNS" -n "$NEW_CONNS" -m 1 "$(url $cfg)")
    stop $SPID
  done
  python3 -c 'import sys
pe, te, pn, tn = map(float, sys.argv[2:])
r = lambda a, b: f"{a / b:.3f}" if b else "nan"
print(f"{sys.argv[1]}\t{pe:.0f}\t{te:.0f}\t{r(te, pe)}\t{pn:.0f}\t{tn:.0f}\t{r(tn, pn)}")' \
    "$round" "${est[plain]}" "${est[tls]}" "${new[plain]}" "${new[tls]}"
done
} | tee "$OUT/tls.tsv"
python3 - "$OUT/tls.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, rows = rows[0], rows[1:]
for i, name in enumerate(head):
    if "/" not in name: continue
    vals = [float(r[i]) for r in rows if r[i] != "nan"]
    if vals:
        print(f"{name}: mean {statistics.mean(vals):.3f}, median {statistics.median(vals):.3f}, "
              f"min {min(vals):.3f}, max {max(vals):.3f} over {len(vals)} rounds")
PY

[[ $IDLE == 1 ]] || exit 0
rss_kib() { sed -n 's/^VmRSS:\s*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
for cfg in plain tls; do
  start $cfg
  tls=() env=()
  [[ $cfg == tls ]] && tls=(--cacert "$CA" --servername localhost) && env=(TLS_CA="$CA")
  timeout 30 "$GRPCKIT" call --addr 127.0.0.1:$PORT "${tls[@]}" -H "authorization: Bearer $TOKEN" \
    user.v1.UserService/GetUser -d "{\"id\":\"$UID_\"}" > /dev/null
  sleep 1
  idle=$(rss_kib $SPID)
  txt=$OUT/idle-$cfg.txt
  ( env "${env[@]}" taskset -c "$CLIENT_CPU" timeout 300 python3 "$ROOT/bench/idle_conns.py" 127.0.0.1 "$PORT" "$SPID" "$IDLE_N" 12 ) > "$txt" 2>&1 &
  holder=$!
  for _ in $(seq 1 2500); do grep -q '^opened=' "$txt" 2>/dev/null && break; kill -0 $holder 2>/dev/null || break; sleep 0.1; done
  json=$OUT/healthy-$cfg.json
  taskset -c "$CLIENT_CPU" timeout 60 "$GRPCKIT" perf --addr 127.0.0.1:$PORT "${tls[@]}" -q --format json -o "$json" \
    -c 1 -n 500 -H "authorization: Bearer $TOKEN" --call user.v1.UserService/GetUser -d "{\"id\":\"$UID_\"}" > /dev/null 2>&1 || true
  wait $holder || true
  stop $SPID
  python3 - "$cfg" "$idle" "$txt" "$json" <<'PY'
import json, re, sys
cfg, idle, txt, js = sys.argv[1:]
t = open(txt).read()
m = re.search(r"rss_kib=(\d+) open=(\d+) errors=(\d+)", t)
try:
    r = json.load(open(js)); p99 = f"{r['latency_ms']['p99']:.2f} ms ({r['ok']} ok, {r['errors']} errors)"
except Exception:
    p99 = "n/a"
if m:
    print(f"{cfg}: idle RSS {int(idle) / 1024:.0f} MiB; with {m.group(2)} idle connections "
          f"{int(m.group(1)) / 1024:.0f} MiB ({m.group(3)} failed opens); healthy client p99 {p99}")
else:
    print(f"{cfg}: idle measurement failed: {t[-300:]}")
PY
done | tee "$OUT/idle.txt"
