"""Echo server on Python grpcio with server reflection, for grpckit's interop tests.

Usage: echo_server.py OUT_DIR [CERT_PEM KEY_PEM]  -- serves TLS when a certificate is given; generates stubs from echo.proto into OUT_DIR with
grpcio-tools, binds 127.0.0.1:0 and prints `PORT <n>`. Exits when stdin closes.
"""
import os
import sys
import threading
from concurrent import futures

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    out = sys.argv[1]
    from grpc_tools import protoc

    rc = protoc.main(["protoc", f"-I{HERE}", f"--python_out={out}", f"--grpc_python_out={out}", os.path.join(HERE, "echo.proto")])
    if rc != 0:
        sys.exit(f"protoc failed: {rc}")
    sys.path.insert(0, out)
    import grpc
    from grpc_reflection.v1alpha import reflection
    import echo_pb2
    import echo_pb2_grpc

    class Echo(echo_pb2_grpc.EchoServicer):
        def Say(self, req, ctx):
            md = dict(ctx.invocation_metadata())
            seen = [f"{k}={v}" for k, v in sorted(md.items()) if k.startswith("x-")]
            return echo_pb2.SayReply(text=req.text, big=req.big, seen=seen)

        def Repeat(self, req, ctx):
            for i in range(req.times):
                yield echo_pb2.SayReply(text=f"{req.text}-{i}")

        def Collect(self, reqs, ctx):
            texts = [r.text for r in reqs]
            return echo_pb2.SayReply(text=",".join(texts), seen=texts)

        def Chat(self, reqs, ctx):
            for r in reqs:
                yield echo_pb2.SayReply(text=r.text.upper())

        def Fail(self, req, ctx):
            ctx.abort(grpc.StatusCode(next(c.value for c in grpc.StatusCode if c.value[0] == req.code)), req.message)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    echo_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
    names = (echo_pb2.DESCRIPTOR.services_by_name["Echo"].full_name, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    if len(sys.argv) > 3:
        creds = grpc.ssl_server_credentials([(open(sys.argv[3], "rb").read(), open(sys.argv[2], "rb").read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PORT {port}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), server.stop(0)), daemon=True).start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
