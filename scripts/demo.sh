#!/usr/bin/env bash
# The main job on a local default: a local test server (a container running sshd, dockerd and
# nginx, reached on 127.0.0.1), the sample app in a git repository with a bare "origin" beside
# it, and `podlift watch` following origin's main branch. A new commit is pushed while wrk loads
# the site; the watcher deploys it and the demo checks that no request failed.
# The watcher and the server keep running afterwards; the script prints how to stop them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
bash "$root/scripts/testenv.sh"
D=/usr/bin/docker
podlift=$root/build/podlift
demo=${PODLIFT_DEMO_DIR:-/tmp/podlift-demo}
unset PODLIFT_DEMO_DIR
mkdir -p "$demo"
gitc() { git -c user.email=demo@podlift.invalid -c user.name=demo "$@"; }
wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local n=$(($1 * 5)); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

# A watcher left by an earlier run of this demo goes first.
if [ -f "$demo/watch.pid" ]; then kill "$(cat "$demo/watch.pid")" 2>/dev/null || true; sleep 1; fi

# The server: fresh each run, with its own host key, which goes into a demo known_hosts.
[ -f "$demo/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C podlift-demo -f "$demo/id_ed25519"
$D rm -f podlift-demo-server >/dev/null 2>&1 || true
$D run -d --name podlift-demo-server --hostname demo-server \
  --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
  --security-opt apparmor=unconfined --security-opt systempaths=unconfined --cgroupns host \
  -v /sys/fs/cgroup:/sys/fs/cgroup --tmpfs /var/lib/docker:exec \
  -v "$demo/id_ed25519.pub:/authorized_keys:ro" -p 127.0.0.1::22 -p 127.0.0.1::80 \
  podlift-testserver:latest >/dev/null
wait_for 30 $D exec podlift-demo-server test -f /run/podlift-testserver-ready
ssh_port=$($D port podlift-demo-server 22/tcp | head -n1 | sed 's/.*://')
http_port=$($D port podlift-demo-server 80/tcp | head -n1 | sed 's/.*://')
echo "[127.0.0.1]:$ssh_port $($D exec podlift-demo-server cut -d' ' -f1-2 /etc/ssh/ssh_host_ed25519_key.pub)" \
  > "$demo/known_hosts"

# The app: a git repository holding the sample app, pushed to a bare "origin" the watcher follows.
rm -rf "$demo/hello" "$demo/origin.git" "$demo/state"
git init -q --bare -b main "$demo/origin.git"
cp -r "$root/examples/hello" "$demo/hello"
cd "$demo/hello"
secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'PODLIFT_WEBHOOK_SECRET=%s\n' "$secret" > .env
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
watch:
  repo: $demo/origin.git
  branch: main
  poll_interval: 2s
  state_dir: $demo/state
  listen: 127.0.0.1:9292
YML
printf 'podlift.yml\n.env\n' > .gitignore
git init -q -b main
gitc add -A
gitc commit -q -m "sample app"
git remote add origin "$demo/origin.git"
git push -q origin main

echo "== podlift validate"
"$podlift" validate
echo "== podlift watch (in the background; log: $demo/watch.log)"
"$podlift" watch > "$demo/watch.log" 2>&1 &
echo $! > "$demo/watch.pid"
url="http://127.0.0.1:$http_port/"
first=$(git rev-parse HEAD)
served() { curl -fsS --max-time 5 "$url" 2>/dev/null | grep -q "version $1"; }
wait_for 120 served "$first" || { echo "FAILED: the watcher did not deploy $first"; cat "$demo/watch.log"; exit 1; }
echo "== the watcher deployed the first commit; $url serves:"
curl -fsS "$url"

echo "== a new commit is pushed while wrk loads the site (2 threads x 16 connections, 25 s)"
wrk -t2 -c16 -d25s "$url" > "$demo/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 2
echo "second version" > message.txt
gitc commit -q -am "second version"
git push -q origin main
sha=$(git rev-parse HEAD)
t0=$(date +%s)
wait_for 120 served "$sha" || { echo "FAILED: the watcher did not deploy $sha"; cat "$demo/watch.log"; exit 1; }
echo "== pushed $sha; served $(($(date +%s) - t0)) s later"
wait $wrk_pid
body=$(curl -fsS "$url")
echo "== $url serves:"
echo "$body"
# wrk prints "Socket errors: connect N, read N, write N, timeout N" and "Non-2xx or 3xx
# responses: N" only when there were any.
requests=$(awk '/requests in/{print $1}' "$demo/wrk.txt")
sock=$({ grep -o -E '(connect|read|write|timeout) [0-9]+' "$demo/wrk.txt" || true; } | awk '{s+=$2} END{print s+0}')
non2xx=$(awk -F': *' '/Non-2xx/{print $2}' "$demo/wrk.txt")
echo "== load during the deploy: requests=${requests:-0} socket_errors=${sock:-0} non_2xx=${non2xx:-0}"
echo "== podlift watch status"
"$podlift" watch status
echo
echo "The watcher keeps running: status page http://127.0.0.1:9292/, metrics http://127.0.0.1:9292/metrics."
echo "Push to $demo/origin.git (from $demo/hello) and it deploys. Stop it with: kill $(cat "$demo/watch.pid")"
case "$body" in
  *"$sha"*) ;;
  *) echo "FAILED: $url does not serve $sha"; exit 1 ;;
esac
if [ "${sock:-0}" != 0 ] || [ "${non2xx:-0}" != 0 ]; then
  echo "FAILED: requests failed during the deploy"; exit 1
fi
echo "OK: the watcher deployed $sha, served at $url, with no failed request"
