#!/bin/sh
# demo.sh — `make demo`: a throwaway STARTTLS server on loopback, a fresh
# test CA, and one UTF-8 message sent through it with the just-built binary.
# Shows the session (-v) and the message exactly as the server received it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
smtpsend=${SMTPSEND:-$top/smtpsend}
py=/usr/bin/python3

if [ ! -x "$smtpsend" ]; then
	echo "demo: $smtpsend not built (run make)" >&2
	exit 1
fi
if ! "$py" -c 'import aiosmtpd' 2>/dev/null; then
	echo "demo: needs python3-aiosmtpd (apt-get install python3-aiosmtpd)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-demo.XXXXXX")
server=
cleanup() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== generating a throwaway CA and server certificate"
"$here/mkcerts.sh" "$tmp/certs"

echo "== starting aiosmtpd on 127.0.0.1 (STARTTLS required)"
"$py" "$here/aiosmtpd-server.py" --mode starttls --require-starttls \
	--cert "$tmp/certs/server.pem" --key "$tmp/certs/server-key.pem" \
	--port-file "$tmp/port" --outdir "$tmp/out" &
server=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "demo: the server did not start" >&2
		exit 1
	fi
	sleep 0.05
done
port=$(cat "$tmp/port")

echo "== sending (smtpsend -v, trace on stderr)"
echo "   printf 'Backup finished...' | smtpsend --host 127.0.0.1 --port $port \\"
echo "       --tls starttls --cafile ca.pem -f 'Jane Ø Clayton <jane@example.com>' \\"
echo "       -s 'nightly ✓' ops@example.com"
echo
status=0
printf 'Backup finished at %s.\nGrüße aus dem Serverraum — alles grün ✓\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" |
	"$smtpsend" -v --host 127.0.0.1 --port "$port" --tls starttls \
		--cafile "$tmp/certs/ca.pem" --timeout 20 \
		-f 'Jane Ø Clayton <jane@example.com>' -s 'nightly ✓' ops@example.com ||
	status=$?
echo
echo "== smtpsend exited with status $status"

i=0
while [ ! -s "$tmp/out/msg-1.json" ] && [ "$i" -lt 40 ]; do
	i=$((i + 1))
	sleep 0.05
done
if [ ! -s "$tmp/out/msg-1.eml" ]; then
	echo "demo: the server received nothing" >&2
	exit 1
fi
echo "== the message as the server received it (CRLF shown as line breaks)"
tr -d '\r' <"$tmp/out/msg-1.eml"
echo
echo "== envelope and session as the server saw them"
cat "$tmp/out/msg-1.json"
echo "== headers decoded by Python's email package (policy=default)"
"$py" "$here/checkmsg.py" "$tmp/out/msg-1.eml"
