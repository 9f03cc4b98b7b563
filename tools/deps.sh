#!/bin/sh
# Installs the Debian packages that `make test` needs, or says how to.
# Usage: tools/deps.sh PACKAGE...   (A|B: either will do; A is installed if neither is)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
missing=""
for p in "$@"; do
    ok=""
    for alt in $(echo "$p" | tr '|' ' '); do installed "$alt" && ok=1; done
    [ -n "$ok" ] || missing="$missing ${p%%|*}"
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
