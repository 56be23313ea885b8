# bench/common.sh — what the benchmark scripts share; sourced, not run.
# The caller sets `top` (the tree) and `me` (its name, for messages).

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PATH=$PATH:/usr/sbin:/sbin

bench_die() {
	echo "$me: $*" >&2
	exit 1
}

# bench_setup TOOL...: the binary measured ($SMTPSEND, default ./smtpsend)
# and the other programs must exist; a scratch directory $work (0755, so
# Postfix's users reach it) is removed on exit together with any server
# started through this file.
bench_setup() {
	local tool
	smtpsend=${SMTPSEND:-$top/smtpsend}
	[ -x "$smtpsend" ] || bench_die "no binary at $smtpsend (run make)"
	for tool in "$@"; do
		command -v "$tool" >/dev/null || bench_die "$tool is not installed"
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-bench.XXXXXX")
	chmod 755 "$work"
	sink_pid=
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
	bash "$top/tests/interop/postfix.sh" stop "$work/postfix" >/dev/null 2>&1 || true
	rm -rf "$work"
}

free_port() {
	"$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_sink: Postfix's smtp-sink on a free loopback port ($sink_port).
start_sink() {
	sink_port=$(free_port)
	smtp-sink -u nobody "127.0.0.1:$sink_port" 1000 &
	sink_pid=$!
	sleep 0.3
}

stop_sink() {
	[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
	sink_pid=
}

# start_postfix_sasl: a Postfix with Dovecot SASL that accepts alice with
# $password ($work/pw holds it) and discards the mail; PF_SMTP_PORT,
# PF_CAFILE and the rest of its instance.env are set.
password='bench-Secret-9'
start_postfix_sasl() {
	PF_SASL=1 PF_DISCARD=1 PF_SASL_PASSWORD=$password \
		bash "$top/tests/interop/postfix.sh" start "$work/postfix" \
		>"$work/start.log" 2>&1 ||
		{ cat "$work/start.log" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$work/postfix/instance.env"
	printf '%s\n' "$password" >"$work/pw"
	chmod 600 "$work/pw"
}

stop_postfix() {
	bash "$top/tests/interop/postfix.sh" stop "$work/postfix" >/dev/null 2>&1 || true
}

# make_queue DIR COUNT: COUNT queued 1 KiB messages in the documented
# pickup format (X-Sender, X-Receiver, then the message smtpsend builds,
# each with its own Message-ID), written directly so that no fsync is
# paid for them.  The message itself is left in $work/msg.eml.
make_queue() {
	head -c 768 /dev/urandom | base64 -w 64 >"$work/body1k"
	"$smtpsend" --print -f bench@example.com -s 'queued bench message' \
		sink@example.com <"$work/body1k" >"$work/msg.eml"
	"$PY" - "$work/msg.eml" "$1" "$2" <<'PYEOF'
import os, re, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
msg = open(src, "rb").read()
if b"\r\n" not in msg:
    msg = msg.replace(b"\n", b"\r\n")
os.makedirs(out)
for i in range(n):
    body = re.sub(rb"(?im)^(Message-ID: <)", rb"\g<1>%d." % i, msg, count=1)
    name = "20261122T000000Z-%06d-bench.eml" % i
    with open(os.path.join(out, name), "wb") as fh:
        fh.write(b"X-Sender: bench@example.com\r\n"
                 b"X-Receiver: sink@example.com\r\n" + body)
PYEOF
}
