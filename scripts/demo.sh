#!/usr/bin/env bash
# The main job on a local default: a local test server (a container running sshd, dockerd and
# nginx, reached on 127.0.0.1), the sample app in a git repository, `podlift deploy`, a new
# commit, and `podlift deploy` again while wrk loads the site. Prints the URL and what it serves.
# Until the watcher exists (issue 4), `podlift deploy` does the deploying.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
bash "$root/scripts/testenv.sh"
D=/usr/bin/docker
podlift=$root/build/podlift
demo=${PODLIFT_DEMO_DIR:-/tmp/podlift-demo}
mkdir -p "$demo"

# The server: fresh each run, with its own host key, which goes into a demo known_hosts.
[ -f "$demo/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C podlift-demo -f "$demo/id_ed25519"
$D rm -f podlift-demo-server >/dev/null 2>&1 || true
$D run -d --name podlift-demo-server --hostname demo-server \
  --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
  --security-opt apparmor=unconfined --security-opt systempaths=unconfined --cgroupns host \
  -v /sys/fs/cgroup:/sys/fs/cgroup --tmpfs /var/lib/docker:exec \
  -v "$demo/id_ed25519.pub:/authorized_keys:ro" -p 127.0.0.1::22 -p 127.0.0.1::80 \
  podlift-testserver:latest >/dev/null
for _ in $(seq 1 150); do
  $D exec podlift-demo-server test -f /run/podlift-testserver-ready 2>/dev/null && break; sleep 0.2
done
ssh_port=$($D port podlift-demo-server 22/tcp | head -n1 | sed 's/.*://')
http_port=$($D port podlift-demo-server 80/tcp | head -n1 | sed 's/.*://')
echo "[127.0.0.1]:$ssh_port $($D exec podlift-demo-server cut -d' ' -f1-2 /etc/ssh/ssh_host_ed25519_key.pub)" \
  > "$demo/known_hosts"

# The app: a git repository holding the sample app.
rm -rf "$demo/hello"
cp -r "$root/examples/hello" "$demo/hello"
cd "$demo/hello"
cat > podlift.yml <<YML
service: hello
app_port: 3000
healthcheck:
  path: /up
  interval: 500ms
  deadline: 30s
servers:
  - host: 127.0.0.1
    port: $ssh_port
    identity_file: $demo/id_ed25519
ssh:
  known_hosts: $demo/known_hosts
nginx:
  server_name: _
  listen: 80
YML
git init -q -b main
git -c user.email=demo@podlift.invalid -c user.name=demo add -A
git -c user.email=demo@podlift.invalid -c user.name=demo commit -q -m "sample app"

echo "== podlift validate"
"$podlift" validate
echo "== podlift deploy (first version)"
"$podlift" deploy
url="http://127.0.0.1:$http_port/"
echo "== $url serves:"
curl -fsS "$url"

echo "== new commit, deployed under load (wrk, 2 threads x 16 connections)"
echo "second version" > message.txt
git -c user.email=demo@podlift.invalid -c user.name=demo commit -q -am "second version"
wrk -t2 -c16 -d25s "$url" > "$demo/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 2
"$podlift" deploy
wait $wrk_pid
sha=$(git rev-parse HEAD)
body=$(curl -fsS "$url")
echo "== $url serves:"
echo "$body"
# wrk prints "Socket errors: connect N, read N, write N, timeout N" and "Non-2xx or 3xx
# responses: N" only when there were any.
requests=$(awk '/requests in/{print $1}' "$demo/wrk.txt")
sock=$(grep -o -E '(connect|read|write|timeout) [0-9]+' "$demo/wrk.txt" | awk '{s+=$2} END{print s+0}')
non2xx=$(awk -F': *' '/Non-2xx/{print $2}' "$demo/wrk.txt")
echo "== load during the deploy: requests=${requests:-0} socket_errors=${sock:-0} non_2xx=${non2xx:-0}"
case "$body" in
  *"$sha"*) echo "OK: the new commit $sha is served at $url" ;;
  *) echo "FAILED: $url does not serve $sha"; exit 1 ;;
esac
