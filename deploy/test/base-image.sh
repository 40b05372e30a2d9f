#!/usr/bin/env bash
# Makes the runtime stage's base image, `debian:bookworm-slim`, without a registry: a
# `debootstrap --variant=minbase bookworm` root filesystem (cached as a tarball under
# /var/cache/grpckit-ci/, so later runs reuse it) committed into buildah's local storage
# under that name. Idempotent: does nothing when the image is there already.
# Usage: base-image.sh   (env: BUILDAH_STORAGE_ARGS, as image.sh sets it)
set -euo pipefail
CACHE=${GRPCKIT_CI_CACHE:-/var/cache/grpckit-ci}
TARBALL=$CACHE/debian-bookworm-minbase.tar
IMAGE=docker.io/library/debian:bookworm-slim
read -r -a STORAGE <<<"${BUILDAH_STORAGE_ARGS:---storage-driver vfs --root $CACHE/containers --runroot /run/grpckit-ci}"

if buildah "${STORAGE[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE: present"
  exit 0
fi

# The Debian mirror apt already uses on this machine (nothing else is reachable).
mirror() {
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    grep -v security | head -1 | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}')
  [[ -n $uri ]] || { echo "no Debian mirror found in the apt sources" >&2; return 1; }
  echo "$uri"
}

mkdir -p "$CACHE"
if [[ ! -s $TARBALL ]]; then
  work=$(mktemp -d /var/tmp/grpckit-debootstrap.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  start=$SECONDS
  echo "debootstrap --variant=minbase bookworm (first run; cached as $TARBALL)"
  timeout 1200 debootstrap --variant=minbase bookworm "$work/rootfs" "$(mirror)" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
  }
  # Slim as the official image: no apt lists, caches, docs or man pages.
  rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin \
    "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/usr/share/doc/* \
    "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/locale/*
  tar -C "$work/rootfs" --numeric-owner -cf "$TARBALL.partial" .
  mv "$TARBALL.partial" "$TARBALL"
  echo "debootstrap took $((SECONDS - start)) s"
fi

ctr=$(buildah "${STORAGE[@]}" from scratch)
mnt=$(buildah "${STORAGE[@]}" mount "$ctr")
tar -C "$mnt" --numeric-owner -xf "$TARBALL"
buildah "${STORAGE[@]}" umount "$ctr" >/dev/null
buildah "${STORAGE[@]}" config --cmd '["bash"]' \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
buildah "${STORAGE[@]}" commit --quiet "$ctr" "$IMAGE" >/dev/null
buildah "${STORAGE[@]}" rm "$ctr" >/dev/null
echo "base image $IMAGE: made from $TARBALL"
