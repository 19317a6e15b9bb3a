#!/usr/bin/env bash
# Checks systemd/podlift-watcher.service with `systemd-analyze verify` (any warning fails, not
# only errors) and that it keeps the properties the watcher relies on.
#   verify_unit.sh UNIT PODLIFT_BINARY
set -euo pipefail
unit=$1 bin=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (apt-get install systemd)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# verify checks that ExecStart exists: point it at the binary just built.
sed "s|/usr/local/bin/podlift|$bin|" "$unit" > "$dir/podlift-watcher.service"
out=$(systemd-analyze verify "$dir/podlift-watcher.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "systemd-analyze verify warned:"; echo "$out"; exit 1; fi
for want in 'Type=notify' 'WatchdogSec=' 'Restart=on-failure' 'ExecReload=/bin/kill -HUP $MAINPID' \
            'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ReadWritePaths=/var/lib/podlift' \
            'StateDirectory=podlift' 'PrivateTmp=yes' 'SupplementaryGroups=docker' \
            'EnvironmentFile=-/etc/podlift/watcher.env'; do
  grep -qF -- "$want" "$unit" || { echo "$unit lacks $want"; exit 1; }
done
echo "systemd-analyze verify: ok"
