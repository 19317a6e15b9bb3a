#!/bin/bash
# Starts sshd (with host keys generated now, so every server has its own), dockerd and nginx.
# /authorized_keys (bind-mounted by the test) becomes root's authorized_keys.
set -eu
ssh-keygen -A >/dev/null
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
[ -f /authorized_keys ] && install -m 600 /authorized_keys /root/.ssh/authorized_keys
/usr/sbin/sshd
dockerd --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1 &
nginx
for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
touch /run/podlift-testserver-ready
exec sleep infinity
