"""Interop parity: the same calls over native gRPC (grpcio), gRPC-Web (binary, over HTTP/1.1),
Connect (unary JSON POST) and REST/JSON (the google.api.http bindings) give the same result and
the same status, with the same google.rpc details, for the same error. Messages are built from
descriptors fetched by reflection (no generated stubs). Usage: bridge_parity.py HOST:PORT"""
import base64
import json
import struct
import sys
import uuid

import grpc
import requests
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

addr = sys.argv[1]
base = "http://" + addr
ch = grpc.insecure_channel(addr)

# ---- descriptors by reflection ----------------------------------------------------------------
pool = descriptor_pool.DescriptorPool()
known, added = {}, set()
refl = reflection_pb2_grpc.ServerReflectionStub(ch)


def fetch(req):
    r = next(refl.ServerReflectionInfo(iter([req])))
    assert not r.HasField("error_response"), r.error_response
    for b in r.file_descriptor_response.file_descriptor_proto:
        p = descriptor_pb2.FileDescriptorProto.FromString(b)
        known.setdefault(p.name, p)


def add(name):
    if name in added:
        return
    if name not in known:
        fetch(reflection_pb2.ServerReflectionRequest(file_by_filename=name))
    for dep in known[name].dependency:
        add(dep)
    added.add(name)
    pool.Add(known[name])


for symbol in ["user.v1.UserService", "google.rpc.Status", "google.rpc.BadRequest"]:
    before = set(known)
    fetch(reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol))
    for name in sorted(set(known) - before):
        add(name)

svc = pool.FindServiceByName("user.v1.UserService")
RpcStatus = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))


def types(method):
    m = svc.methods_by_name[method]
    return message_factory.GetMessageClass(m.input_type), message_factory.GetMessageClass(m.output_type)


CODES = {c.value[0]: c.value[1].upper().replace(" ", "_") for c in grpc.StatusCode}


def details_of(status_bin):
    """google.rpc.Status bytes -> [(type name, JSON of the detail)]."""
    if not status_bin:
        return []
    st = RpcStatus.FromString(status_bin)
    out = []
    for any_ in st.details:
        name = any_.type_url.rsplit("/", 1)[-1]
        cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
        out.append((name, json_format.MessageToDict(cls.FromString(any_.value))))
    return out


# ---- one call per protocol: -> (code number, response message or None, details) -----------------
def via_grpc(method, req, token):
    Req, Resp = types(method)
    call = ch.unary_unary("/user.v1.UserService/" + method,
                          request_serializer=Req.SerializeToString, response_deserializer=Resp.FromString)
    md = [("authorization", "Bearer " + token)] if token else None
    try:
        return 0, call(req, metadata=md), []
    except grpc.RpcError as e:
        trailers = dict(e.trailing_metadata() or ())
        return e.code().value[0], None, details_of(trailers.get("grpc-status-details-bin"))


def headers(token, **more):
    h = dict(more)
    if token:
        h["authorization"] = "Bearer " + token
    return h


def via_grpc_web(method, req, token):
    Req, Resp = types(method)
    body = req.SerializeToString()
    r = requests.post(base + "/user.v1.UserService/" + method, data=b"\0" + struct.pack(">I", len(body)) + body,
                      headers=headers(token, **{"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}),
                      timeout=10)
    assert r.status_code == 200, (method, r.status_code, r.text)
    data, msg, trailers = r.content, None, {}
    while data:
        flag, n = data[0], struct.unpack(">I", data[1:5])[0]
        frame, data = data[5:5 + n], data[5 + n:]
        if flag & 0x80:
            for line in frame.decode().split("\r\n"):
                if line:
                    k, v = line.split(":", 1)
                    trailers[k.strip().lower()] = v.strip()
        else:
            msg = Resp.FromString(frame)
    # A trailers-only answer may carry the status in the HTTP headers instead.
    for k in ("grpc-status", "grpc-message", "grpc-status-details-bin"):
        if k not in trailers and k in r.headers:
            trailers[k] = r.headers[k]
    code = int(trailers.get("grpc-status", "2"))
    det = trailers.get("grpc-status-details-bin")
    det = details_of(base64.b64decode(det + "=" * (-len(det) % 4))) if det else []
    return code, (msg if code == 0 else None), det


def via_connect(method, req, token):
    Req, Resp = types(method)
    r = requests.post(base + "/user.v1.UserService/" + method, data=json_format.MessageToJson(req),
                      headers=headers(token, **{"content-type": "application/json", "connect-protocol-version": "1"}),
                      timeout=10)
    if r.status_code == 200:
        return 0, json_format.Parse(r.text, Resp()), []
    err = r.json()
    code = [n for n, name in CODES.items() if name.lower() == err["code"].replace("canceled", "cancelled")][0]
    det = []
    for d in err.get("details", []):
        cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(d["type"]))
        raw = base64.b64decode(d["value"] + "=" * (-len(d["value"]) % 4))
        det.append((d["type"], json_format.MessageToDict(cls.FromString(raw))))
    assert r.status_code == HTTP[code], ("connect", method, r.status_code, code)
    return code, None, det


HTTP = {0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400,
        12: 501, 13: 500, 14: 503, 15: 500, 16: 401}


def via_rest(method, req, token):
    Req, Resp = types(method)
    h = headers(token, **{"content-type": "application/json"})
    if method == "GetUser":
        r = requests.get(base + "/v1/users/" + req.id, headers=h, timeout=10)
    elif method == "CreateUser":
        r = requests.post(base + "/v1/users", data=json_format.MessageToJson(req), headers=h, timeout=10)
    elif method == "Login":
        r = requests.post(base + "/v1/auth/login", data=json_format.MessageToJson(req), headers=h, timeout=10)
    else:
        raise SystemExit("no REST mapping in this test for " + method)
    if r.status_code == 200:
        return 0, json_format.Parse(r.text, Resp()), []
    err = r.json()
    code = err["code"]
    assert r.status_code == HTTP[code], ("rest", method, r.status_code, code, err)
    det = []
    for d in err.get("details", []):
        name = d["@type"].rsplit("/", 1)[-1]
        det.append((name, {k: v for k, v in d.items() if k != "@type"}))
    return code, None, det


PROTOCOLS = [("grpc", via_grpc), ("grpc-web", via_grpc_web), ("connect", via_connect), ("rest", via_rest)]

# ---- the table -------------------------------------------------------------------------------------
CReq, _ = types("CreateUser")
LReq, _ = types("Login")
GReq, _ = types("GetUser")
email = "parity-%s@example.com" % uuid.uuid4().hex
_, created, _ = via_grpc("CreateUser", CReq(name="Parity", email=email, password="password-123"), None)
uid = created.user.id
_, logged, _ = via_grpc("Login", LReq(email=email, password="password-123"), None)
token = logged.access_token

cases = [
    ("GetUser ok", "GetUser", GReq(id=uid), token, 0),
    ("GetUser unknown id (admin-free caller: denied or not found)", "GetUser", GReq(id=str(uuid.uuid4())), token, None),
    ("GetUser without a token", "GetUser", GReq(id=uid), None, 16),
    ("CreateUser invalid email", "CreateUser", CReq(name="X", email="not-an-email", password="password-123"), None, 3),
    ("Login wrong password", "Login", LReq(email=email, password="wrong-password-1"), None, 16),
]
failures = []
for name, method, req, tok, want in cases:
    results = {p: fn(method, req, tok) for p, fn in PROTOCOLS}
    codes = {p: r[0] for p, r in results.items()}
    msgs = {p: (r[1].SerializeToString(deterministic=True) if r[1] is not None else None) for p, r in results.items()}
    dets = {p: r[2] for p, r in results.items()}
    line = "%-60s codes %s" % (name, codes)
    print(line)
    if len(set(codes.values())) != 1 or (want is not None and codes["grpc"] != want):
        failures.append("%s: codes differ or unexpected: %s (want %s)" % (name, codes, want))
    if len(set(msgs.values())) != 1:
        failures.append("%s: results differ: %s" % (name, {p: r[1] for p, r in results.items()}))
    if any(d != dets["grpc"] for d in dets.values()):
        failures.append("%s: details differ: %s" % (name, dets))
    if want == 3 and not any(n == "google.rpc.BadRequest" for n, _ in dets["grpc"]):
        failures.append("%s: no BadRequest details over gRPC: %s" % (name, dets["grpc"]))
if failures:
    print("\n".join(failures))
    raise SystemExit(1)
print("parity ok")
