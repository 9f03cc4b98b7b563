#!/bin/sh
# Installs the Debian packages that `make test` needs, or says how to.
# Usage: tools/deps.sh PACKAGE...
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
    echo "missing packages:$missing" >&2
    echo "run as root:  apt-get update && $cmd" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && $cmd; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "apt-get failed; the command was: apt-get update && $cmd" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
