#!/usr/bin/env python3
"""Turns bench/run.sh's runs.tsv into the markdown tables of bench/README.md.

Columns: server, generator, level, rps, p50_ms, p99_ms, rss_mib, ok, failed.
usage: summarize.py runs.tsv [no-layers-config]
"""
import os, sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
no_layers = len(sys.argv) > 2 and os.path.exists(sys.argv[2])
h2 = {(r[0], r[2]): r for r in rows if r[1] == "h2load"}
levels = []
for r in rows:
    if r[1] == "h2load" and r[2] not in levels:
        levels.append(r[2])
servers = ["tonic", "grpckit-full", "grpckit-nolayers"]


def f(x):
    try:
        return float(x)
    except ValueError:
        return float("nan")


print("### Unary GetUser-sized call, h2load closed loop (server 1 core, h2load 1 core)\n")
print("| server | conns x streams | req/s | vs tonic | p50 ms | p99 ms | RSS MiB | ok | failed |")
print("|---|---|---|---|---|---|---|---|---|")
for s in servers:
    for lvl in levels:
        r = h2.get((s, lvl))
        if not r:
            continue
        base = h2.get(("tonic", lvl))
        ratio = f(r[3]) / f(base[3]) if base and f(base[3]) > 0 else float("nan")
        print(f"| {s} | {lvl} | {f(r[3]):,.0f} | {ratio:.2f}x | {r[4]} | {r[5]} | {r[6]} | {r[7]} | {r[8]} |")
if not no_layers:
    print("\nNote: no config that switches the middleware chain off exists yet (bench/no-layers.yaml is absent), "
          "so grpckit-nolayers runs the same server as grpckit-full.")

print("\n### Load generator: grpckit perf vs h2load (same server, connections and in-flight calls)\n")
print("| server | level | h2load req/s | grpckit perf req/s | perf / h2load | perf p50 ms | perf p99 ms |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r[1] == "grpckit-perf" and "@" not in r[2]:
        base = h2.get((r[0], r[2]))
        if base:
            print(f"| {r[0]} | {r[2]} | {f(base[3]):,.0f} | {f(r[3]):,.0f} | {f(r[3]) / f(base[3]):.2f} | {r[4]} | {r[5]} |")

print("\n### Latency at half of the maximum load (grpckit perf --rps, open model)\n")
print("| server | level @ rate | achieved req/s | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|")
for r in rows:
    if r[1] == "grpckit-perf" and "@" in r[2]:
        print(f"| {r[0]} | {r[2]} | {f(r[3]):,.0f} | {r[4]} | {r[5]} | {r[8]} |")

print("\n### Memory\n")
print("| server | idle RSS MiB | idle connections held | RSS MiB with them |")
print("|---|---|---|---|")
for s in servers:
    idle = next((r for r in rows if r[0] == s and r[1] == "idle"), None)
    conns = next((r for r in rows if r[0] == s and r[1] == "idle-conns"), None)
    if idle:
        print(f"| {s} | {idle[6]} | {conns[2] if conns else '-'} | {conns[6] if conns else '-'} |")
