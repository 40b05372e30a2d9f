"""gRPC-Web text (base64) and +json, and CORS, by hand with Python `requests` against the real
server (driven by tests/web_protocols.rs).

    python3 web_by_hand.py text-json BASE_URL
    python3 web_by_hand.py cors BASE_URL ALLOWED_ORIGIN

Messages are framed here (flag byte, 4-byte length), protobuf is encoded and decoded by hand
for the few string/enum fields used. Prints one line per check; exits 1 on the first failure.
"""

import base64
import json
import re
import struct
import sys
import uuid

import requests

TIMEOUT = 30


def check(ok, what):
    if not ok:
        print(f"check failed: {what}", file=sys.stderr)
        sys.exit(1)


def frame(payload, flags=0):
    return bytes([flags]) + struct.pack(">I", len(payload)) + payload


def unframe(data):
    """The (flags, payload) frames of a whole body."""
    out = []
    while data:
        check(len(data) >= 5, f"truncated frame prefix {data!r}")
        flags, n = data[0], struct.unpack(">I", data[1:5])[0]
        check(len(data) >= 5 + n, "truncated frame")
        out.append((flags, data[5 : 5 + n]))
        data = data[5 + n :]
    return out


def b64_segments(text):
    """Decodes base64 text made of several padded segments (one per response chunk)."""
    out = b""
    for seg in re.findall(rb"[A-Za-z0-9+/]*={0,2}", text):
        if seg:
            out += base64.b64decode(seg)
    return out


def trailers_of(frames):
    """The trailer frame (flag 0x80) as a dict; it must be the last frame."""
    check(frames and frames[-1][0] == 0x80, f"last frame is the trailer frame: {frames!r}")
    lines = frames[-1][1].decode().split("\r\n")
    return dict(line.split(":", 1) for line in lines if line)


# --- protobuf by hand -------------------------------------------------------------------


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def string_field(number, value):
    raw = value.encode()
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def read_varint(data, i):
    n, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(data):
    """{number: [values]} of a message: varints as ints, length-delimited as bytes."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            v, i = data[i : i + n], i + n
        elif wire == 1:
            v, i = data[i : i + 8], i + 8
        elif wire == 5:
            v, i = data[i : i + 4], i + 4
        else:
            check(False, f"unexpected wire type {wire}")
        out.setdefault(number, []).append(v)
    return out


# --- calls ------------------------------------------------------------------------------


def web_json(base, path, body, token=None, stream=False):
    """A grpc-web+json call: (messages as dicts, trailers)."""
    headers = {"content-type": "application/grpc-web+json", "x-grpc-web": "1"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    r = requests.post(
        base + path, data=frame(json.dumps(body).encode()), headers=headers, timeout=TIMEOUT
    )
    check(r.status_code == 200, f"{path}: HTTP {r.status_code}")
    check(
        r.headers["content-type"] == "application/grpc-web+json",
        f"{path}: content type {r.headers['content-type']}",
    )
    frames = unframe(r.content)
    messages = [json.loads(p) for f, p in frames if f == 0]
    return messages, trailers_of(frames)


def web_text(base, path, message, token=None, split=False):
    """A grpc-web-text call with a protobuf message: (messages as bytes, trailers)."""
    headers = {"content-type": "application/grpc-web-text", "accept": "application/grpc-web-text"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    framed = frame(message)
    if split:
        # Two padded base64 segments, as a client that encodes chunk by chunk sends.
        body = base64.b64encode(framed[:4]) + base64.b64encode(framed[4:])
    else:
        body = base64.b64encode(framed)
    r = requests.post(base + path, data=body, headers=headers, timeout=TIMEOUT)
    check(r.status_code == 200, f"{path}: HTTP {r.status_code}")
    check(
        r.headers["content-type"].startswith("application/grpc-web-text"),
        f"{path}: content type {r.headers['content-type']}",
    )
    frames = unframe(b64_segments(r.content))
    return [p for f, p in frames if f == 0], trailers_of(frames)


def sign_up(base):
    email = f"byhand-{uuid.uuid4().hex}@example.com"
    password = "password-by-hand"
    msgs, tr = web_json(
        base,
        "/user.v1.UserService/CreateUser",
        {"name": "By Hand", "email": email, "password": password},
    )
    check(tr.get("grpc-status") == "0", f"CreateUser: {tr}")
    user_id = msgs[0]["user"]["id"]
    msgs, tr = web_json(
        base, "/user.v1.UserService/Login", {"email": email, "password": password}
    )
    check(tr.get("grpc-status") == "0" and msgs[0]["accessToken"], f"Login: {tr}")
    return user_id, email, msgs[0]["accessToken"]


def text_json(base):
    user_id, email, token = sign_up(base)
    print("ok grpc-web+json: CreateUser, Login")

    # grpc-web-text, protobuf: GetUser, the request in two padded segments.
    msgs, tr = web_text(
        base, "/user.v1.UserService/GetUser", string_field(1, user_id), token, split=True
    )
    check(tr.get("grpc-status") == "0", f"GetUser (text): {tr}")
    user = fields(fields(msgs[0])[1][0])
    check(user[1][0].decode() == user_id and user[3][0].decode() == email, f"user {user}")
    print("ok grpc-web-text: GetUser (request as two base64 segments)")

    # grpc-web+json: GetUser, and NOT_FOUND with details.
    msgs, tr = web_json(base, "/user.v1.UserService/GetUser", {"id": user_id}, token)
    check(msgs[0]["user"]["email"] == email, f"GetUser (json): {msgs}")
    msgs, tr = web_json(base, "/order.v1.OrderService/GetOrder", {"id": str(uuid.uuid4())}, token)
    check(msgs == [] and tr.get("grpc-status") == "5", f"GetOrder unknown: {tr}")
    check("grpc-message" in tr, f"NOT_FOUND has a message: {tr}")
    details = fields(base64.b64decode(tr["grpc-status-details-bin"] + "=="))
    check(details[1][0] == 5, f"google.rpc.Status code in details: {details}")
    print("ok grpc-web+json: GetUser, NOT_FOUND with grpc-status-details-bin")

    # INVALID_ARGUMENT with BadRequest details, over text.
    bad = string_field(1, "x") + string_field(2, "not-an-email") + string_field(3, "short")
    msgs, tr = web_text(base, "/user.v1.UserService/CreateUser", bad)
    check(tr.get("grpc-status") == "3", f"CreateUser invalid (text): {tr}")
    raw = base64.b64decode(tr["grpc-status-details-bin"] + "==")
    check(b"type.googleapis.com/google.rpc.BadRequest" in raw, f"BadRequest detail: {raw!r}")
    print("ok grpc-web-text: INVALID_ARGUMENT with BadRequest details")

    # Malformed JSON and unknown fields: INVALID_ARGUMENT naming the problem.
    msgs, tr = web_json(base, "/user.v1.UserService/GetUser", {"nope": 1}, token)
    check(tr.get("grpc-status") == "3" and "nope" in tr.get("grpc-message", ""), f"{tr}")
    r = requests.post(
        base + "/user.v1.UserService/Login",
        data=frame(b'{"email": '),
        headers={"content-type": "application/grpc-web+json"},
        timeout=TIMEOUT,
    )
    tr = trailers_of(unframe(r.content))
    check(tr.get("grpc-status") == "3" and "column" in tr.get("grpc-message", ""), f"{tr}")
    print("ok grpc-web+json: unknown field and malformed JSON are INVALID_ARGUMENT")

    # Server streaming over text and over JSON: TrackOrder of a paid order to DELIVERED.
    for mode in ("text", "json"):
        msgs, tr = web_json(
            base,
            "/order.v1.OrderService/CreateOrder",
            {
                "requestId": str(uuid.uuid4()),
                "userId": user_id,
                "items": [{"sku": "SKU-HAND", "quantity": 1, "unitPriceMinor": "500"}],
            },
            token,
        )
        order_id = msgs[0]["order"]["id"]
        msgs, tr = web_json(base, "/order.v1.OrderService/PayOrder", {"id": order_id}, token)
        check(tr.get("grpc-status") == "0", f"PayOrder: {tr}")
        if mode == "text":
            msgs, tr = web_text(
                base, "/order.v1.OrderService/TrackOrder", string_field(1, order_id), token
            )
            states = [fields(m)[2][0] for m in msgs]
            want = [2, 3, 4]
        else:
            msgs, tr = web_json(
                base, "/order.v1.OrderService/TrackOrder", {"orderId": order_id}, token
            )
            states = [m["status"] for m in msgs]
            want = ["ORDER_STATUS_PAID", "ORDER_STATUS_SHIPPED", "ORDER_STATUS_DELIVERED"]
        check(tr.get("grpc-status") == "0", f"TrackOrder ({mode}): {tr}")
        check(states == want, f"TrackOrder ({mode}) states {states}")
        print(f"ok grpc-web {mode}: TrackOrder streamed {len(states)} states, then grpc-status 0")

    # Deadlines: grpc-timeout (gRPC-Web) and connect-timeout-ms (Connect) end a stream that
    # runs longer (an unpaid order's TrackOrder) with DEADLINE_EXCEEDED.
    msgs, tr = web_json(
        base,
        "/order.v1.OrderService/CreateOrder",
        {
            "requestId": str(uuid.uuid4()),
            "userId": user_id,
            "items": [{"sku": "SKU-WAIT", "quantity": 1, "unitPriceMinor": "100"}],
        },
        token,
    )
    waiting = msgs[0]["order"]["id"]
    auth = {"authorization": f"Bearer {token}"}
    r = requests.post(
        base + "/order.v1.OrderService/TrackOrder",
        data=frame(json.dumps({"orderId": waiting}).encode()),
        headers=dict(auth, **{"content-type": "application/grpc-web+json", "grpc-timeout": "300m"}),
        timeout=TIMEOUT,
    )
    frames = unframe(r.content)
    tr = trailers_of(frames)
    check(len(frames) == 2 and tr.get("grpc-status") == "4", f"grpc-timeout: {frames}")
    r = requests.post(
        base + "/order.v1.OrderService/TrackOrder",
        data=frame(json.dumps({"orderId": waiting}).encode()),
        headers=dict(auth, **{"content-type": "application/connect+json", "connect-timeout-ms": "300"}),
        timeout=TIMEOUT,
    )
    check(r.status_code == 200, f"Connect stream HTTP {r.status_code}")
    check(r.headers["content-type"] == "application/connect+json", f"{r.headers}")
    frames = unframe(r.content)
    check([f for f, _ in frames] == [0, 2], f"Connect stream: a message, then end-of-stream: {frames}")
    check(json.loads(frames[0][1])["status"] == "ORDER_STATUS_CREATED", f"{frames}")
    end = json.loads(frames[1][1])
    check(end["error"]["code"] == "deadline_exceeded", f"connect-timeout-ms: {end}")
    r = requests.post(
        base + "/user.v1.UserService/GetUser",
        json={"id": user_id},
        headers=dict(auth, **{"connect-timeout-ms": "soon"}),
        timeout=TIMEOUT,
    )
    check(r.status_code == 400 and r.json()["code"] == "invalid_argument", f"{r.status_code} {r.text}")
    print("ok deadlines: grpc-timeout and connect-timeout-ms give DEADLINE_EXCEEDED")

    # A client that goes away mid-stream: the call is cancelled (counted CANCELLED).
    r = requests.post(
        base + "/order.v1.OrderService/TrackOrder",
        data=frame(json.dumps({"orderId": waiting}).encode()),
        headers=dict(auth, **{"content-type": "application/grpc-web+json"}),
        timeout=TIMEOUT,
        stream=True,
    )
    first = r.raw.read(5)
    check(len(first) == 5 and first[0] == 0, f"first frame of a live stream {first!r}")
    r.close()
    print("ok grpc-web: client left a live TrackOrder")

    # Unknown method over text: UNIMPLEMENTED from the stack, still as a trailer frame.
    msgs, tr = web_text(base, "/user.v1.UserService/Nope", b"")
    check(tr.get("grpc-status") == "12", f"unknown method: {tr}")
    print("ok grpc-web-text: unknown method is UNIMPLEMENTED")


def cors(base, origin):
    path = "/user.v1.UserService/Login"
    pre = {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,authorization",
    }
    r = requests.options(base + path, headers=pre, timeout=TIMEOUT)
    check(r.status_code == 204, f"preflight of {origin}: HTTP {r.status_code}")
    h = r.headers
    check(h.get("access-control-allow-origin") == origin, f"allow-origin {h}")
    methods = h.get("access-control-allow-methods", "")
    for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        check(m in methods, f"allow-methods {methods}")
    allow = h.get("access-control-allow-headers", "").lower()
    for name in ("content-type", "x-grpc-web", "authorization", "connect-protocol-version"):
        check(name in allow, f"allow-headers {allow}")
    check(h.get("access-control-max-age") == "600", f"max-age {h}")
    check("origin" in h.get("vary", "").lower(), f"vary {h}")
    print("ok CORS preflight of an allowed origin")

    evil = dict(pre, origin="https://evil.example.com")
    r = requests.options(base + path, headers=evil, timeout=TIMEOUT)
    check(r.status_code == 403, f"preflight of another origin: HTTP {r.status_code}")
    check(
        not any(k.lower().startswith("access-control-") for k in r.headers),
        f"no CORS headers for another origin: {r.headers}",
    )
    print("ok CORS preflight of another origin: 403 without CORS headers")

    # Actual answers: gRPC-Web error and Connect unary, from the allowed origin.
    r = requests.post(
        base + path,
        data=frame(b'{"email": "nobody@example.com", "password": "wrong-password"}'),
        headers={"content-type": "application/grpc-web+json", "origin": origin},
        timeout=TIMEOUT,
    )
    tr = trailers_of(unframe(r.content))
    check(tr.get("grpc-status") == "16", f"Login with a wrong password: {tr}")
    check(r.headers.get("access-control-allow-origin") == origin, f"{r.headers}")
    expose = r.headers.get("access-control-expose-headers", "")
    for name in ("grpc-status", "grpc-message", "grpc-status-details-bin"):
        check(name in expose, f"expose-headers {expose}")
    check("origin" in r.headers.get("vary", "").lower(), f"vary {r.headers}")
    r = requests.post(
        base + path,
        json={"email": "nobody@example.com", "password": "wrong-password"},
        headers={"origin": origin, "connect-protocol-version": "1"},
        timeout=TIMEOUT,
    )
    check(r.status_code == 401, f"Connect Login with a wrong password: HTTP {r.status_code}")
    check(r.json().get("code") == "unauthenticated", f"Connect error {r.text}")
    check(r.headers.get("access-control-allow-origin") == origin, f"{r.headers}")
    expose = r.headers.get("access-control-expose-headers", "")
    check("grpc-status" in expose and "x-request-id" in expose, f"expose-headers {expose}")
    print("ok CORS headers on gRPC-Web and Connect answers, status headers exposed")

    r = requests.post(
        base + path,
        json={"email": "nobody@example.com", "password": "wrong-password"},
        headers={"origin": "https://evil.example.com"},
        timeout=TIMEOUT,
    )
    check(
        not any(k.lower().startswith("access-control-") for k in r.headers),
        f"no CORS headers on answers to another origin: {r.headers}",
    )
    print("ok no CORS headers on answers to another origin")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "text-json":
        text_json(sys.argv[2].rstrip("/"))
    elif len(sys.argv) >= 4 and sys.argv[1] == "cors":
        cors(sys.argv[2].rstrip("/"), sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
