#!/usr/bin/env bash
# Builds deploy/Dockerfile.runtime for real with buildah (no daemon, no registry) and runs the
# image's binary from its root filesystem:
#   1. base image `debian:bookworm-slim` from debootstrap (base-image.sh, cached);
#   2. `buildah build --pull=never` of the runtime stage around BINARY (stripped copy);
#   3. the image's config: non-root user, ports 9090/9091, HEALTHCHECK `grpckit health`;
#   4. `buildah mount` + `unshare --pid --fork --mount` + `chroot --userspec` as the image's
#      user, root filesystem read-only and a writable data volume at /var/lib/grpckit:
#      `grpckit health` and `/livez` answer, it runs as uid 10001, SIGTERM drains (`/readyz`
#      503 meanwhile), exit 0.
# Usage: deploy/test/image.sh [BINARY]   (default target/release/grpckit, else target/debug)
# Without buildah/debootstrap it prints SKIPPED and exits 0, except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/../.."

skip_or_fail() {
  if [[ ${CI:-} == true ]]; then
    echo "FAIL deploy image test: $* (required under CI=true)" >&2
    exit 1
  fi
  echo "SKIPPED deploy image test: $*"
  exit 0
}
for tool in buildah debootstrap unshare chroot curl strip; do
  command -v "$tool" >/dev/null || skip_or_fail "$tool is not installed (scripts/install-test-tools.sh)"
done
[[ $(id -u) == 0 ]] || skip_or_fail "needs root (buildah vfs storage, chroot, mount namespaces)"

BINARY=${1:-}
if [[ -z $BINARY ]]; then
  BINARY=target/release/grpckit
  [[ -x $BINARY ]] || BINARY=target/debug/grpckit
fi
[[ -x $BINARY ]] || { echo "FAIL: no grpckit binary at $BINARY (build it first)" >&2; exit 1; }

# A storage of its own (vfs: no overlay mounts needed), kept with the debootstrap cache.
CACHE=${GRPCKIT_CI_CACHE:-/var/cache/grpckit-ci}
export BUILDAH_STORAGE_ARGS="--storage-driver vfs --root $CACHE/containers --runroot /run/grpckit-ci"
read -r -a STORAGE <<<"$BUILDAH_STORAGE_ARGS"
IMAGE=localhost/grpckit:image-test
UID_EXPECTED=10001
step() { printf '\n-- %s (%ds)\n' "$*" "$SECONDS"; }

work=$(mktemp -d /var/tmp/grpckit-image.XXXXXX)
ctr="" mnt="" server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [[ -n $ctr ]]; then
    buildah "${STORAGE[@]}" umount "$ctr" >/dev/null 2>&1 || true
    buildah "${STORAGE[@]}" rm "$ctr" >/dev/null 2>&1 || true
  fi
  # The base image stays (cached); the test image goes, so runs do not pile up images.
  buildah "${STORAGE[@]}" rmi "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step "base image"
timeout 1500 bash deploy/test/base-image.sh

step "build the runtime stage from $BINARY"
mkdir -p "$work/ctx"
strip --strip-debug -o "$work/ctx/grpckit" "$BINARY"
cp deploy/Dockerfile.runtime "$work/ctx/Dockerfile"
timeout 600 buildah "${STORAGE[@]}" build --isolation chroot --pull=never --format docker \
  --layers=false --build-arg BINARY=grpckit -t "$IMAGE" -f "$work/ctx/Dockerfile" "$work/ctx" \
  >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

step "image config"
inspect() { buildah "${STORAGE[@]}" inspect --type image --format "$1" "$IMAGE"; }
user=$(inspect '{{.Docker.Config.User}}')
[[ $user == "$UID_EXPECTED:$UID_EXPECTED" ]] || { echo "FAIL: image user is '$user'" >&2; exit 1; }
ports=$(inspect '{{range $p, $_ := .Docker.Config.ExposedPorts}}{{$p}} {{end}}')
[[ $ports == *9090/tcp* && $ports == *9091/tcp* ]] || { echo "FAIL: exposed ports '$ports'" >&2; exit 1; }
check=$(inspect '{{.Docker.Config.Healthcheck.Test}}')
[[ $check == *"grpckit health"* ]] || { echo "FAIL: HEALTHCHECK is '$check'" >&2; exit 1; }
echo "user $user, ports $ports, HEALTHCHECK $check"

step "run the image's binary (read-only root, data volume, uid $UID_EXPECTED)"
ctr=$(buildah "${STORAGE[@]}" from --pull-never "$IMAGE")
mnt=$(buildah "${STORAGE[@]}" mount "$ctr")
mkdir -p "$work/data"
chown "$UID_EXPECTED:$UID_EXPECTED" "$work/data"
read -r GRPC_PORT ADMIN_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
# PID 1 of its own PID namespace, as in a container; the same network (loopback) as here.
unshare --pid --fork --mount --propagation private -- sh -c '
  set -e
  root=$1 data=$2; shift 2
  mount --bind "$root" "$root"
  mount -o remount,bind,ro "$root"
  mount --bind "$data" "$root/var/lib/grpckit"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  cd "$root/var/lib/grpckit"
  exec chroot --userspec=10001:10001 "$root" sh -c "cd /var/lib/grpckit && exec \"\$@\"" sh "$@"
' sh "$mnt" "$work/data" \
  env -i PATH=/usr/local/bin:/usr/bin:/bin GRPCKIT_JWT_SECRET=image-test-secret-image-test \
  GRPCKIT_DRAIN_DELAY=2s GRPCKIT_LOG_FORMAT=json \
  grpckit server --listen "127.0.0.1:$GRPC_PORT" --metrics-listen "127.0.0.1:$ADMIN_PORT" \
  >"$work/server.log" 2>&1 &
unshare_pid=$!

# The server: the process in the new namespace, as seen from here.
for _ in $(seq 1 100); do
  server_pid=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null | awk '{print $1}')
  [[ -n $server_pid ]] && break
  sleep 0.1
done
[[ -n $server_pid ]] || { echo "FAIL: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

healthy=""
for _ in $(seq 1 150); do
  if chroot --userspec=10001:10001 "$mnt" /usr/local/bin/grpckit health \
    --addr "127.0.0.1:$GRPC_PORT" --timeout 2s >"$work/health.out" 2>&1; then
    healthy=yes
    break
  fi
  kill -0 "$unshare_pid" 2>/dev/null || break
  sleep 0.2
done
[[ -n $healthy ]] || { echo "FAIL: grpckit health never said SERVING" >&2; cat "$work/health.out" "$work/server.log" >&2; exit 1; }
echo "grpckit health: $(cat "$work/health.out")"
livez=$(curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/livez")
[[ $livez == ok ]] || { echo "FAIL: /livez said '$livez'" >&2; exit 1; }
readyz=$(curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/readyz")
[[ $readyz == SERVING ]] || { echo "FAIL: /readyz said '$readyz'" >&2; exit 1; }
echo "/livez: $livez, /readyz: $readyz"

uid=$(awk '/^Uid:/ {print $2}' "/proc/$server_pid/status")
[[ $uid == "$UID_EXPECTED" ]] || { echo "FAIL: the server runs as uid $uid" >&2; exit 1; }
db_owner=$(stat -c %u "$work/data/grpckit.db")
[[ $db_owner == "$UID_EXPECTED" ]] || { echo "FAIL: grpckit.db owned by $db_owner" >&2; exit 1; }
echo "runs as uid $uid; SQLite file in the volume, owned by $db_owner"

step "SIGTERM drains and exits 0"
kill -TERM "$server_pid"
# During the drain delay (GRPCKIT_DRAIN_DELAY=2s) readiness goes 503 while liveness stays 200.
ready_code=""
for _ in $(seq 1 40); do
  ready_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$ADMIN_PORT/readyz" || true)
  [[ $ready_code == 503 ]] && break
  sleep 0.05
done
[[ $ready_code == 503 ]] || { echo "FAIL: /readyz said $ready_code during the drain" >&2; exit 1; }
live_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$ADMIN_PORT/livez" || true)
[[ $live_code == 200 ]] || { echo "FAIL: /livez said $live_code during the drain" >&2; exit 1; }
echo "draining: /readyz 503, /livez 200"
set +e
timeout 60 tail --pid="$unshare_pid" -f /dev/null
wait "$unshare_pid"
code=$?
set -e
server_pid=""
grep -q 'draining: health NOT_SERVING' "$work/server.log" || { echo "FAIL: no drain in the log" >&2; cat "$work/server.log" >&2; exit 1; }
grep -q 'server stopped' "$work/server.log" || { echo "FAIL: no clean stop in the log" >&2; cat "$work/server.log" >&2; exit 1; }
[[ $code == 0 ]] || { echo "FAIL: exit code $code" >&2; tail -20 "$work/server.log" >&2; exit 1; }
echo "drained, exit code 0"
echo "deploy image test: passed in ${SECONDS}s"
