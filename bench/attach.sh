#!/bin/bash
# bench/attach.sh — one large attachment to a local sink: smtpsend, which
# base64-encodes the file while it sends, against curl -T and msmtp
# uploading the very same message already encoded (they do no encoding
# work at all), in the same run.
#
#   bench/attach.sh [-n ROUNDS] [-s MIB]
#
# ROUNDS (default 5, or $BENCH_ROUNDS) rounds after one warm-up round; in
# each round every tool sends once, in an order that rotates from round to
# round.  MIB (default 256) is the size of the attachment, random octets.
#
# The server is Postfix's smtp-sink (Debian package postfix), started here
# on a free loopback port and stopped on exit: it accepts and discards
# mail, so what is measured is the client plus the loopback.  The
# pre-encoded message curl and msmtp send is smtpsend --print's output for
# the same attachment: byte for byte what smtpsend puts on the wire.
#
# Every run goes through /usr/bin/time (Debian package time) for its wall
# time and peak RSS.  Reported: median and best wall time per tool, the
# ratio of smtpsend's median to curl's (target <= 1.0) and to msmtp's, and
# peak RSS (target for smtpsend <= 8 MiB).  Nothing is written into the
# tree; the 256 MiB of data live in a temporary directory.
#
# The binary measured is $SMTPSEND, default ./smtpsend at the top of the
# tree.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${BENCH_ROUNDS:-5}
mib=256
PATH=$PATH:/usr/sbin:/sbin
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

while [ $# -gt 0 ]; do
	case $1 in
	-n | --rounds) rounds=$2; shift 2 ;;
	-s | --size) mib=$2; shift 2 ;;
	-h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/attach.sh: unknown argument: $1" >&2; exit 64 ;;
	esac
done

die() { echo "bench/attach.sh: $*" >&2; exit 1; }

smtpsend=${SMTPSEND:-$top/smtpsend}
[ -x "$smtpsend" ] || die "no binary at $smtpsend (run make)"
sink=$(command -v smtp-sink || true)
[ -n "$sink" ] || die "smtp-sink not found (Debian package postfix)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package time)"
have_curl=$(command -v curl || true)
have_msmtp=$(command -v msmtp || true)

work=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-bench.XXXXXX")
sink_pid=
cleanup() {
	[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
	[ -z "$sink_pid" ] || wait "$sink_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

port=$("$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user=()
[ "$(id -u)" != 0 ] || user=(-u nobody)
# 100: listen backlog.  smtp-sink advertises PIPELINING and 8BITMIME.
"$sink" "${user[@]}" "127.0.0.1:$port" 100 </dev/null >/dev/null 2>&1 &
sink_pid=$!
for _ in $(seq 50); do
	"$PY" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null && break
	sleep 0.1
done

echo "preparing a $mib MiB attachment in $work ..." >&2
head -c $((mib * 1024 * 1024)) /dev/urandom >"$work/data.bin"
"$smtpsend" --print -f bench@example.com -s attachment \
	-a "$work/data.bin" sink@example.com </dev/null >"$work/encoded.eml"
cat >"$work/msmtprc" <<EOF
account default
host 127.0.0.1
port $port
from bench@example.com
tls off
auth off
EOF
chmod 600 "$work/msmtprc"

# Each tool's command line, and what it reads on standard input.
smtpsend_argv=("$smtpsend" --host 127.0.0.1 --port "$port" --timeout 600
	-f bench@example.com -s attachment -a "$work/data.bin" sink@example.com)
smtpsend_in=/dev/null
curl_argv=(curl -sS "smtp://127.0.0.1:$port" --mail-from bench@example.com
	--mail-rcpt sink@example.com -T "$work/encoded.eml")
curl_in=/dev/null
msmtp_argv=(msmtp -C "$work/msmtprc" sink@example.com)
msmtp_in=$work/encoded.eml

tools=(smtpsend)
[ -z "$have_curl" ] || tools+=(curl)
[ -z "$have_msmtp" ] || tools+=(msmtp)

# measure TOOL: one run under /usr/bin/time; appends "wall rss" to
# $work/TOOL.
measure() {
	local tool=$1 out=$work/time.out
	local -n argv=${tool}_argv
	local -n input=${tool}_in
	/usr/bin/time -f '%e %M' -o "$out" "${argv[@]}" <"$input" >/dev/null ||
		die "$tool failed: $(cat "$out")"
	tail -n 1 "$out" >>"$work/$tool"
}

n=${#tools[@]}
for round in $(seq 0 "$rounds"); do
	for i in $(seq 0 $((n - 1))); do
		tool=${tools[$(((i + round) % n))]}
		measure "$tool"
		# Round 0 is the warm-up: forget it.
		[ "$round" -gt 0 ] || : >"$work/$tool"
	done
	[ "$round" -eq 0 ] || echo "round $round of $rounds done" >&2
done

"$PY" - "$work" "$mib" "${tools[@]}" <<'EOF'
import os, statistics, sys
work, mib, tools = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
res = {}
for t in tools:
    rows = [l.split() for l in open(os.path.join(work, t)) if l.strip()]
    walls = [float(r[0]) for r in rows]
    rss = max(int(r[1]) for r in rows)
    res[t] = (statistics.median(walls), min(walls), rss, len(walls))
size = os.path.getsize(os.path.join(work, "encoded.eml"))
print("One %d MiB attachment (%.1f MB on the wire) to Postfix smtp-sink on loopback"
      % (mib, size / 1e6))
print("%-9s %10s %10s %12s %8s" % ("tool", "median s", "best s", "peak RSS", "runs"))
for t in tools:
    med, best, rss, n = res[t]
    print("%-9s %10.2f %10.2f %9.1f MiB %8d" % (t, med, best, rss / 1024, n))
base = res["smtpsend"][0]
for t in tools[1:]:
    print("smtpsend / %-6s median wall-time ratio: %.2f" % (t, base / res[t][0]))
print("smtpsend peak RSS: %.1f MiB (target <= 8 MiB)" % (res["smtpsend"][2] / 1024))
EOF
