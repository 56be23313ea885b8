#!/bin/bash
# bench/callgrind.sh — instruction counts, a figure that does not depend on
# how busy the machine is: valgrind's callgrind counts the instructions
# smtpsend executes (process start-up, libraries and all).
#
#   bench/callgrind.sh [-n MESSAGES]
#
#   1. one small message over STARTTLS + AUTH PLAIN to a local Postfix with
#      Dovecot SASL (benchmark 1), and the same for curl and msmtp;
#   2. a flush of MESSAGES (default 200) queued 1 KiB messages to smtp-sink
#      over one plain connection, per message (benchmark 2), next to one
#      run of smtp-source for the same number of messages.
# Needs valgrind, postfix, dovecot-core, curl, msmtp and root.  $SMTPSEND
# picks the binary (default ./smtpsend).  Nothing is written into the tree.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=bench/callgrind.sh
# shellcheck source=bench/common.sh
. "$top/bench/common.sh"
count=200

while [ $# -gt 0 ]; do
	case $1 in
	-n | --messages) count=$2; shift 2 ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/callgrind.sh: unknown argument: $1" >&2; exit 64 ;;
	esac
done

bench_setup valgrind curl msmtp smtp-sink postfix bc

# instructions COMMAND...: run COMMAND under callgrind (children too) and
# print the instructions executed in all its processes.
instructions() {
	rm -f "$work"/cg.out.*
	valgrind --tool=callgrind --trace-children=yes \
		--callgrind-out-file="$work/cg.out.%p" "$@" \
		>/dev/null 2>"$work/cg.err" ||
		{ echo "bench/callgrind.sh: failed: $*" >&2; cat "$work/cg.err" >&2; exit 1; }
	sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/cg.err" |
		paste -sd+ | bc
}

start_postfix_sasl
body="One small message, as a cron job would send it."
printf 'From: bench@example.com\r\nTo: sink@example.com\r\nSubject: bench\r\n\r\n%s\r\n' \
	"$body" >"$work/msg.eml"
printf '%s\n' "$body" >"$work/body"

ir_smtpsend=$(instructions "$smtpsend" --host 127.0.0.1 --port "$PF_SMTP_PORT" \
	--tls starttls --cafile "$PF_CAFILE" -u alice --password-file "$work/pw" \
	--auth PLAIN -f bench@example.com -s bench --body-file "$work/body" \
	sink@example.com)
ir_curl=$(instructions curl -sS --url "smtp://127.0.0.1:$PF_SMTP_PORT" --ssl-reqd \
	--cacert "$PF_CAFILE" --user "alice:$password" --login-options AUTH=PLAIN \
	--mail-from bench@example.com --mail-rcpt sink@example.com \
	--upload-file "$work/msg.eml")
ir_msmtp=$(instructions msmtp --host=127.0.0.1 --port="$PF_SMTP_PORT" --tls=on \
	--tls-starttls=on --tls-trust-file="$PF_CAFILE" --auth=plain --user=alice \
	--passwordeval="cat $work/pw" --from=bench@example.com sink@example.com \
	<"$work/msg.eml")
stop_postfix

make_queue "$work/q" "$count"
start_sink
ir_flush=$(instructions "$smtpsend" -q --host 127.0.0.1 --port "$sink_port" \
	--tls none --flush "$work/q")
ir_source=$(instructions smtp-source -d -s 1 -m "$count" -l 1024 \
	-f bench@example.com -t sink@example.com "127.0.0.1:$sink_port")

printf 'instructions executed (valgrind callgrind, whole process)\n'
printf '1. one message, STARTTLS + AUTH PLAIN to Postfix:\n'
printf '   %-12s %14s\n' smtpsend "$ir_smtpsend" curl "$ir_curl" msmtp "$ir_msmtp"
printf '   smtpsend/curl = %s   smtpsend/msmtp = %s\n' \
	"$(echo "scale=2; $ir_smtpsend / $ir_curl" | bc)" \
	"$(echo "scale=2; $ir_smtpsend / $ir_msmtp" | bc)"
printf '2. flush of %d queued 1 KiB messages to smtp-sink, per message:\n' "$count"
printf '   %-12s %14s\n' smtpsend "$((ir_flush / count))" smtp-source "$((ir_source / count))"
