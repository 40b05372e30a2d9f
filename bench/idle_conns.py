#!/usr/bin/env python3
"""Server RSS with N idle HTTP/2 connections.

usage: idle_conns.py HOST PORT SERVER_PID N [HOLD_SECONDS]
Opens N connections (client preface + SETTINGS, waits for the server SETTINGS and ACKs them;
at most 100 opens in flight, 120 s budget), prints `opened=<n>`, keeps them open and serviced
for HOLD_SECONDS (default 2; bench/run.sh measures a healthy client meanwhile), prints
`rss_kib=<VmRSS of SERVER_PID> open=<connections open> errors=<failed opens>`, then closes them.
With TLS_CA=<ca.pem> in the environment the connections are TLS (ALPN h2, the server
certificate checked against that CA for the name "localhost").
Needs the PyPI package `h2`; adapted from ../shared/bench/peers/idle_conns.py (Task B).
"""
import asyncio, os, resource, ssl, sys, time

import h2.config, h2.connection, h2.events


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def tls_context():
    ca = os.environ.get("TLS_CA")
    if not ca:
        return None
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2"])
    return ctx


TLS = tls_context()


async def open_conn(host, port, conns):
    tls = {"ssl": TLS, "server_hostname": "localhost"} if TLS else {}
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port, **tls), 10)
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    w.write(c.data_to_send())
    deadline = time.monotonic() + 10
    settled = False
    while not settled and time.monotonic() < deadline:
        data = await asyncio.wait_for(r.read(65536), 10)
        if not data:
            raise ConnectionError("closed during setup")
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                settled = True
        w.write(c.data_to_send())
    conns.append((r, w, c))


async def hold(conns, seconds):
    async def drain(r, w, c):
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    return
                c.receive_data(data)
                out = c.data_to_send()
                if out:
                    w.write(out)
        except Exception:
            return
    tasks = [asyncio.create_task(drain(*x)) for x in conns]
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()


async def main():
    host, port, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns, errors = [], []
    sem = asyncio.Semaphore(100)
    budget = time.monotonic() + 120

    async def one():
        async with sem:
            if time.monotonic() > budget:
                errors.append("budget")
                return
            try:
                await open_conn(host, port, conns)
            except Exception as e:  # noqa: BLE001
                errors.append(type(e).__name__)

    hold_s = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    await asyncio.gather(*(one() for _ in range(n)))
    print(f"opened={len(conns)}", flush=True)
    await hold(conns, hold_s)
    print(f"rss_kib={rss_kib(pid)} open={len(conns)} errors={len(errors)}", flush=True)
    for _, w, _ in conns:
        w.close()


asyncio.run(main())
