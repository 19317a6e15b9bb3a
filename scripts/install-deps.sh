#!/usr/bin/env bash
# Installs everything podlift needs to build and test on Debian bookworm (run as root).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake pkg-config git ca-certificates curl
  libgit2-dev libssh-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libssl-dev
  libcpp-httplib-dev libcli11-dev libgtest-dev googletest zlib1g-dev
  libsystemd-dev systemd
  docker.io docker-registry apache2-utils openssl debootstrap openssh-client openssh-server nginx
  wrk hey iproute2 clang-format
  chromium
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# nginx/sshd on the build box are only packages we need binaries from; do not leave them running.
