"""Outside-client interop: Python grpcio lists services via reflection, checks health, and
calls CreateUser/GetUser with messages built from the reflected descriptors (no generated
stubs), then verifies an error status. Usage: interop.py HOST:PORT"""
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

addr = sys.argv[1]
ch = grpc.insecure_channel(addr)

stub = reflection_pb2_grpc.ServerReflectionStub(ch)
resp = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
services = sorted(s.name for s in resp.list_services_response.service)
print("services:", services)
for want in ["grpc.health.v1.Health", "user.v1.UserService", "order.v1.OrderService"]:
    assert want in services, (want, services)

# Resolve the user service's file (and its imports) through reflection.
pool = descriptor_pool.DescriptorPool()
seen = set()
known = {}
def fetch(req):
    r = next(stub.ServerReflectionInfo(iter([req])))
    assert not r.HasField("error_response"), r.error_response
    for b in r.file_descriptor_response.file_descriptor_proto:
        p = descriptor_pb2.FileDescriptorProto.FromString(b)
        known.setdefault(p.name, p)
def add(name):
    if name in seen:
        return
    if name not in known:
        # Dependencies the server did not send along are fetched by file name, as grpcurl does.
        fetch(reflection_pb2.ServerReflectionRequest(file_by_filename=name))
    p = known[name]
    for dep in p.dependency:
        add(dep)
    seen.add(name)
    pool.Add(p)
def add_symbol(symbol):
    before = set(known)
    fetch(reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol))
    for name in list(set(known) - before):
        add(name)
add_symbol("user.v1.UserService")
svc = pool.FindServiceByName("user.v1.UserService")
create = svc.methods_by_name["CreateUser"]
Req = message_factory.GetMessageClass(create.input_type)
Resp = message_factory.GetMessageClass(create.output_type)
call = ch.unary_unary("/user.v1.UserService/CreateUser", request_serializer=Req.SerializeToString, response_deserializer=Resp.FromString)
import uuid
email = "py-%s@example.com" % uuid.uuid4().hex
out = call(Req(name="Python", email=email, password="password-123"))
assert out.user.email == email, out
print("created", out.user.id)

get = svc.methods_by_name["GetUser"]
GReq = message_factory.GetMessageClass(get.input_type)
GResp = message_factory.GetMessageClass(get.output_type)
getc = ch.unary_unary("/user.v1.UserService/GetUser", request_serializer=GReq.SerializeToString, response_deserializer=GResp.FromString)
login = svc.methods_by_name["Login"]
LReq = message_factory.GetMessageClass(login.input_type)
LResp = message_factory.GetMessageClass(login.output_type)
loginc = ch.unary_unary("/user.v1.UserService/Login", request_serializer=LReq.SerializeToString, response_deserializer=LResp.FromString)
token = loginc(LReq(email=email, password="password-123")).access_token
auth = [("authorization", "Bearer " + token)]
assert getc(GReq(id=out.user.id), metadata=auth).user.id == out.user.id
for md, want in [(None, grpc.StatusCode.UNAUTHENTICATED), (auth, grpc.StatusCode.PERMISSION_DENIED)]:
    try:
        getc(GReq(id="someone-else"), metadata=md)
        raise SystemExit("expected %s" % want)
    except grpc.RpcError as e:
        assert e.code() == want, (e.code(), want)

# Malformed protobuf (raw bytes, no serializer): INTERNAL with a message saying so, as gRPC's
# status-code table and grpc-go have it, whether the validator reads the message on the wire
# (GetUser), decodes it in full (CreateOrder) or leaves it to the codec (Login has no rules).
for method, body, md in [
    ("/user.v1.UserService/GetUser", b"\x0a\x09ab", auth),   # length past the end
    ("/user.v1.UserService/Login", b"\x0a\x01\xff", None),  # invalid UTF-8 in a string
    ("/user.v1.UserService/Login", b"\x08\x01", None),       # a string field sent as a varint
    ("/order.v1.OrderService/CreateOrder", b"\x12\x7f\x00", auth),
]:
    try:
        ch.unary_unary(method)(body, metadata=md)
        raise SystemExit("expected INTERNAL for %s %r" % (method, body))
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INTERNAL, (method, body, e.code(), e.details())
        assert "decode" in e.details(), (method, e.details())

h = health_pb2_grpc.HealthStub(ch)
for s in ["", "user.v1.UserService", "order.v1.OrderService"]:
    assert h.Check(health_pb2.HealthCheckRequest(service=s)).status == health_pb2.HealthCheckResponse.SERVING, s
print("interop ok")
