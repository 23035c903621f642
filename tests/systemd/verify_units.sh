#!/usr/bin/env bash
# Runs `systemd-analyze verify` on the shipped units. The units name /usr/bin binaries that a test
# machine has not installed, so a copy pointing at the freshly built ones is verified instead.
set -euo pipefail
daemon=$1
ctl=$2
units_dir=$(cd "$(dirname "$0")/../../systemd" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "$units_dir"/*.service "$units_dir"/*.timer; do
  sed -e "s|/usr/bin/tronrelayd|$daemon|" -e "s|/usr/bin/tronrelayctl|$ctl|" "$unit" > "$work/$(basename "$unit")"
done
cd "$work"
systemd-analyze verify --man=no ./*.service ./*.timer
echo "systemd-analyze verify: all units pass"
