#!/usr/bin/env bash
# Server RSS across ROUNDS runs of `grpckit perf -c 50 -n 20000` (the default mix: every tenth
# call creates an order, whose events used to leave a topic behind in the in-process bus).
#
#   bench/event-bus-rss.sh                          # target/release/grpckit (built if missing)
#   BINS="before:/tmp/grpckit-main after:target/debug/grpckit" bench/event-bus-rss.sh
#
# For each binary: start a server on 127.0.0.1 (fresh SQLite file), print its RSS (VmRSS) and
# the bus gauges from /metrics at start, after each perf run, and IDLE seconds after the last
# run (longer than events.replay_window, 60 s by default, so expired topics are gone).
# Everything is bounded: each perf run by `timeout`, the server is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-20000}
CONCURRENCY=${CONCURRENCY:-50}
IDLE=${IDLE:-70}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
if [[ -z "${BINS:-}" ]]; then
    [[ -x target/release/grpckit ]] || cargo build --release -p grpckit-cli
    BINS="current:target/release/grpckit"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
gauge() { curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"[{ ]" {v=$2} END {print (v=="" ? "-" : v)}'; }

report() { # label pid admin_port
    printf '  %-22s rss %5s MiB  topics %8s  retained %10s B\n' "$1" "$(rss_mib "$2")" \
        "$(gauge "$3" grpckit_event_bus_topics)" "$(gauge "$3" grpckit_event_bus_retained_bytes)"
}

for entry in $BINS; do
    label=${entry%%:*}
    bin=${entry#*:}
    dir=$(mktemp -d)
    port=$(free_port)
    admin=$(free_port)
    "$bin" server --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$admin" \
        --database-url "sqlite://$dir/bench.db" --log-level warn >"$dir/server.log" 2>&1 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$admin/metrics" >/dev/null && break
        sleep 0.1
    done
    echo "== $label ($bin)"
    report start "$pid" "$admin"
    for r in $(seq "$ROUNDS"); do
        timeout "$RUN_TIMEOUT" "$bin" perf --addr "127.0.0.1:$port" -c "$CONCURRENCY" \
            -n "$REQUESTS" >"$dir/perf-$r.txt" 2>&1 || echo "  perf run $r failed: $(tail -1 "$dir/perf-$r.txt")"
        report "after run $r" "$pid" "$admin"
        echo "    perf: $(grep -m1 -E '^ *Requests:' "$dir/perf-$r.txt" | sed 's/^ *//')"
    done
    sleep "$IDLE"
    report "idle ${IDLE}s" "$pid" "$admin"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
    trap - EXIT
done
