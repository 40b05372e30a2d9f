"""grpc.health.v1 Check over TLS with Python grpcio (BoringSSL), an outside client.

Usage: tls_health.py PORT CA_FILE [CLIENT_CERT CLIENT_KEY]
Prints the serving status; exits non-zero when the call fails.
"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main() -> int:
    port, ca_file = sys.argv[1], sys.argv[2]
    with open(ca_file, "rb") as f:
        ca = f.read()
    cert = key = None
    if len(sys.argv) == 5:
        with open(sys.argv[3], "rb") as f:
            cert = f.read()
        with open(sys.argv[4], "rb") as f:
            key = f.read()
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )
    # The server certificate names localhost; the channel dials 127.0.0.1.
    options = [("grpc.ssl_target_name_override", "localhost")]
    with grpc.secure_channel(f"127.0.0.1:{port}", creds, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        res = stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        print(health_pb2.HealthCheckResponse.ServingStatus.Name(res.status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
