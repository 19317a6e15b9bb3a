#!/usr/bin/env bash
# Prepares the build box for e2e tests: a running Docker engine, the local Debian base image and
# the test-server image. Idempotent; each image is built once and reused.
# Prints nothing on success but progress lines on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
DOCKER=/usr/bin/docker   # the engine's own client; /usr/local/bin/docker may be a newer, mismatched one
log() { printf 'testenv: %s\n' "$*" >&2; }

if ! $DOCKER info >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/podlift-dockerd.log 2>&1 &
  for _ in $(seq 1 150); do $DOCKER info >/dev/null 2>&1 && break; sleep 0.2; done
  $DOCKER info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/podlift-dockerd.log"; exit 1; }
fi

if ! $DOCKER image inspect local/debian:bookworm >/dev/null 2>&1; then
  mirror=$(awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n1)
  mirror=${mirror:-http://deb.debian.org/debian}
  dir=$(mktemp -d /var/tmp/podlift-debian.XXXXXX)
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >/var/log/podlift-debootstrap.log 2>&1 \
    || { log "debootstrap failed; see /var/log/podlift-debootstrap.log"; exit 1; }
  tar -C "$dir" -c . | $DOCKER import - local/debian:bookworm >/dev/null
  rm -rf "$dir"
fi

# Rebuild the server image when its inputs change (the tag carries their hash).
hash=$(cat "$here/tests/e2e/server/Dockerfile" "$here/tests/e2e/server/entrypoint.sh" | sha256sum | cut -c1-12)
if ! $DOCKER image inspect "podlift-testserver:$hash" >/dev/null 2>&1; then
  log "building test-server image"
  $DOCKER build -q -t "podlift-testserver:$hash" "$here/tests/e2e/server" >/dev/null
fi
$DOCKER tag "podlift-testserver:$hash" podlift-testserver:latest
