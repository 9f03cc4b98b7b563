#!/bin/sh
# make demo: the API document's example order, signed and sent over HTTPS to a
# local TOP gateway (tools/top_gateway.py on 127.0.0.1) with build/icbu-reflow.
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
ICBU_REFLOW_APP_KEY=12345678
ICBU_REFLOW_APP_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')   # made here, never shown
export ICBU_REFLOW_APP_KEY ICBU_REFLOW_APP_SECRET
python3 tools/top_gateway.py --http-port 0 --https-port 0 --app-key "$ICBU_REFLOW_APP_KEY" \
    --state-dir "$dir" --key-type ec --quiet &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM
i=0
while [ ! -s "$dir/ports" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "demo: the gateway did not start" >&2; exit 1; }
    sleep 0.1
done
port=$(sed -n 's/.*https=\([0-9]*\).*/\1/p' "$dir/ports")
url="https://127.0.0.1:$port/router/rest"
ts=$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone(d.timedelta(hours=8)))).strftime("%Y-%m-%d %H:%M:%S"))')

echo "== local TOP gateway: $url (throw-away CA $dir/ca.pem)"
echo "== order: tests/data/example_order.json (the API document's Java sample)"
build/icbu-reflow sign --timestamp "$ts" tests/data/example_order.json > "$dir/body"
echo "== what is sent: POST /router/rest, $(wc -c < "$dir/body" | tr -d ' ') bytes of form body, decoded:"
python3 - "$dir/body" <<'PY'
import sys, urllib.parse
body = open(sys.argv[1]).read().strip()
for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True):
    print('   %-29s %s' % (k, v if len(v) < 100 else v[:97] + '...'))
PY
echo "== the gateway's answer, parsed (build/icbu-reflow send):"
status=0
build/icbu-reflow send --timestamp "$ts" --url "$url" --ca-file "$dir/ca.pem" tests/data/example_order.json || status=$?
echo "== exit status $status (0 accepted, 1 refused, 2 platform error, 3 transport)"
exit $status
