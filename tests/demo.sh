#!/bin/sh
# make demo: send one real UTF-8 message over STARTTLS through a throwaway
# local server (aiosmtpd) with a certificate made a moment ago, then show
# what the server received.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-demo.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

echo "== generating a test CA and a server certificate for localhost"
sh "$top/tests/helpers/mkcerts.sh" "$dir/certs" >/dev/null
echo "== starting a local SMTP server (aiosmtpd, STARTTLS) on 127.0.0.1"
mkdir "$dir/out"
/usr/bin/python3 "$top/tests/helpers/aiosmtpd-server.py" --mode starttls \
    --cert "$dir/certs/server.pem" --key "$dir/certs/server-key.pem" \
    --port-file "$dir/port" --outdir "$dir/out" &
pid=$!
i=0
while [ ! -s "$dir/port" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "server did not start" >&2; exit 1; }
	sleep 0.05
done
port=$(cat "$dir/port")

echo "== sending with: smtpsend -v --host 127.0.0.1 --port $port --cafile ca.pem ..."
printf 'Backup finished at %s.\nÅsa, Øyvind and Zoë say hello.\n' "$(date)" |
    "$top/smtpsend" -v --host 127.0.0.1 --port "$port" \
    --cafile "$dir/certs/ca.pem" \
    -f 'Jane Ø Clayton <jane@example.com>' -s 'nightly ✓ Überprüfung' \
    ops@example.com
echo "== smtpsend exited with status $?"
echo "== the message as the server received it:"
cat "$dir/out/msg-1.eml" | tr -d '\r'
echo "== its headers decoded by Python's email package:"
/usr/bin/python3 "$top/tests/helpers/checkmsg.py" "$dir/out/msg-1.eml"
