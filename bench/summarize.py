#!/usr/bin/env python3
"""Turns bench/run.sh's runs.tsv into the markdown tables of bench/README.md.

Columns: server, generator, level, rps, p50_ms, p99_ms, rss_mib, ok, failed.
usage: summarize.py runs.tsv
"""
import sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
h2 = {(r[0], r[2]): r for r in rows if r[1] == "h2load"}
levels, servers = [], []
for r in rows:
    if r[1] == "h2load" and r[2] not in levels:
        levels.append(r[2])
    if r[0] not in servers:
        servers.append(r[0])
# Which bare-tonic flavour each server is compared with ("same runtime flavour"): grpckit's
# `auto` runtime is current_thread on one pinned core.
FLAVOUR = {"grpckit-full-mt": "tonic", "grpckit-tpc1": "tonic-ct", "grpckit-tpc2": "tonic-ct"}


def f(x):
    try:
        return float(x)
    except ValueError:
        return float("nan")


def ratio(a, b):
    return f"{f(a) / f(b):.2f}x" if b and f(b) > 0 else "-"


def base_of(s):
    if s.startswith("grpckit"):
        b = FLAVOUR.get(s, "tonic-ct")
        return b if b in servers else "tonic"
    return "tonic"


print("### Unary GetUser-sized call, h2load closed loop\n")
print("| server | conns x streams | req/s | vs tonic (same flavour) | vs grpc-go | vs grpckit-nolayers | p50 ms | p99 ms | RSS MiB | ok | failed |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for s in servers:
    for lvl in levels:
        r = h2.get((s, lvl))
        if not r:
            continue
        b = base_of(s)
        vs_t = ratio(r[3], h2[(b, lvl)][3]) + f" ({b})" if (b, lvl) in h2 and b != s else "-"
        vs_go = ratio(r[3], h2[("grpc-go", lvl)][3]) if ("grpc-go", lvl) in h2 and s != "grpc-go" else "-"
        vs_nl = ratio(r[3], h2[("grpckit-nolayers", lvl)][3]) if s.startswith("grpckit") and ("grpckit-nolayers", lvl) in h2 and s != "grpckit-nolayers" else "-"
        print(f"| {s} | {lvl} | {f(r[3]):,.0f} | {vs_t} | {vs_go} | {vs_nl} | {r[4]} | {r[5]} | {r[6]} | {r[7]} | {r[8]} |")

print("\n### Load generator: grpckit perf vs h2load (same server, connections and in-flight calls)\n")
print("| server | level | h2load req/s | grpckit perf req/s | perf / h2load | perf p50 ms | perf p99 ms |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r[1] == "grpckit-perf" and "@" not in r[2]:
        base = h2.get((r[0], r[2]))
        if base:
            print(f"| {r[0]} | {r[2]} | {f(base[3]):,.0f} | {f(r[3]):,.0f} | {f(r[3]) / f(base[3]):.2f} | {r[4]} | {r[5]} |")

print("\n### Latency at one offered load for every server (grpckit perf --rps, open model)\n")
print("| server | level @ rate | achieved req/s | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|")
for r in rows:
    if r[1] == "grpckit-perf" and "@" in r[2]:
        print(f"| {r[0]} | {r[2]} | {f(r[3]):,.0f} | {r[4]} | {r[5]} | {r[8]} |")

print("\n### Memory, and a healthy client while the idle connections are held\n")
print("| server | idle RSS MiB | idle connections held | RSS MiB with them | healthy client p50 / p99 ms (errors) |")
print("|---|---|---|---|---|")
for s in servers:
    idle = next((r for r in rows if r[0] == s and r[1] == "idle"), None)
    conns = next((r for r in rows if r[0] == s and r[1] == "idle-conns"), None)
    healthy = next((r for r in rows if r[0] == s and r[1] == "healthy-during-idle"), None)
    if idle:
        h = f"{healthy[4]} / {healthy[5]} ({healthy[8]})" if healthy else "-"
        print(f"| {s} | {idle[6]} | {conns[2] if conns else '-'} | {conns[6] if conns else '-'} | {h} |")
