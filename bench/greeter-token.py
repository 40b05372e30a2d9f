#!/usr/bin/env python3
"""Mints the HS256 token bench/greeter.yaml accepts (kid `bench`, role `greeter`, valid 24h).

    python3 bench/greeter-token.py [SECRET]
"""
import base64, hashlib, hmac, json, sys, time

secret = (sys.argv[1] if len(sys.argv) > 1 else "bench-secret-bench-secret-bench-secret").encode()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
enc = lambda o: b64(json.dumps(o, separators=(",", ":")).encode())
head = enc({"alg": "HS256", "typ": "JWT", "kid": "bench"})
body = enc({"sub": "bench", "exp": int(time.time()) + 86400, "iss": "grpckit-bench",
            "aud": "greeter", "roles": ["greeter"]})
sig = b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
