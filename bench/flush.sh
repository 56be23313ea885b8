#!/bin/bash
# bench/flush.sh — many messages over one connection: a queue of small
# messages flushed by smtpsend, against the tools a user would otherwise
# loop over.
#
#   bench/flush.sh [-n MESSAGES] [-r ROUNDS] [sink|postfix|all]
#
#   sink     (issue 8, benchmark 2) MESSAGES (default 1000) queued 1 KiB
#            messages flushed over one plain connection to Postfix's
#            smtp-sink, against `smtp-source -d -s 1 -m MESSAGES -l 1024`
#            (Postfix's own load generator, one connection too) and a loop
#            of MESSAGES msmtp invocations.  Target: smtpsend's messages
#            per second >= smtp-source's.
#   postfix  (benchmark 4) the same flush over STARTTLS + AUTH PLAIN to a
#            local Postfix with Dovecot SASL that discards the mail, against
#            MESSAGES msmtp invocations doing the same.
#
# Each round (default 5; the msmtp loops run in the first 2 only and send
# at most 100 messages each, they are slow: the rate is what counts) runs
# the tools one after the other in a rotated order; the report gives messages per second (median over the rounds) and the ratios.  The
# queue is written in the documented pickup format straight from one
# message smtpsend built (--print), so preparing it costs no fsyncs; it is
# copied afresh before every flush and the copy is not timed.
#
# Needs postfix (smtp-sink, smtp-source), msmtp and, for postfix mode,
# dovecot-core and root.  $SMTPSEND picks the binary (default ./smtpsend).
# Nothing is written into the tree.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=bench/flush.sh
# shellcheck source=bench/common.sh
. "$top/bench/common.sh"
count=${BENCH_MESSAGES:-1000}
rounds=${BENCH_ROUNDS:-5}
loop_rounds=2
mode=all

while [ $# -gt 0 ]; do
	case $1 in
	-n | --messages) count=$2; shift 2 ;;
	-r | --rounds) rounds=$2; shift 2 ;;
	sink | postfix | all) mode=$1; shift ;;
	-h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/flush.sh: unknown argument: $1" >&2; exit 64 ;;
	esac
done
[ "$loop_rounds" -le "$rounds" ] || loop_rounds=$rounds
loop_count=$((count < 100 ? count : 100))

bench_setup smtp-sink smtp-source msmtp
make_queue "$work/template" "$count"

: >"$work/times"
# timed LABEL N COMMAND...: run COMMAND (which sends N messages) once,
# append "LABEL microseconds N".
timed() {
	local label=$1 n=$2 start end
	shift 2
	start=$(date +%s%N)
	"$@" >/dev/null 2>"$work/err" ||
		{ echo "bench/flush.sh: $label failed:" >&2; cat "$work/err" >&2; exit 1; }
	end=$(date +%s%N)
	echo "$label $(((end - start) / 1000)) $n" >>"$work/times"
}

fresh_queue() {
	rm -rf "$work/q"
	cp -r "$work/template" "$work/q"
}

msmtp_loop() {
	local i
	for ((i = 0; i < loop_count; i++)); do
		msmtp "$@" sink@example.com <"$work/msg.eml" || return 1
	done
}

flush_sink() {
	fresh_queue
	timed "sink:smtpsend" "$count" "$smtpsend" -q --host 127.0.0.1 --port "$sink_port" \
		--tls none --flush "$work/q"
	[ -z "$(ls -A "$work/q" | grep -v '^\.lock$')" ] ||
		{ echo "bench/flush.sh: the queue was not emptied" >&2; exit 1; }
}

bench_sink() {
	start_sink
	local r t tools
	for ((r = 0; r < rounds; r++)); do
		tools=(smtpsend smtp-source)
		[ "$r" -lt "$loop_rounds" ] && tools+=(msmtp)
		for ((i = 0; i < ${#tools[@]}; i++)); do
			t=${tools[$(((i + r) % ${#tools[@]}))]}
			case $t in
			smtpsend) flush_sink ;;
			smtp-source)
				timed "sink:smtp-source" "$count" smtp-source -d -s 1 \
					-m "$count" -l 1024 -f bench@example.com \
					-t sink@example.com "127.0.0.1:$sink_port" ;;
			msmtp)
				timed "sink:msmtp-loop" "$loop_count" msmtp_loop \
					--host=127.0.0.1 --port="$sink_port" \
					--tls=off --auth=off \
					--from=bench@example.com ;;
			esac
		done
	done
	stop_sink
}

bench_postfix() {
	local r t tools
	start_postfix_sasl
	for ((r = 0; r < rounds; r++)); do
		tools=(smtpsend)
		[ "$r" -lt "$loop_rounds" ] && tools+=(msmtp)
		for ((i = 0; i < ${#tools[@]}; i++)); do
			t=${tools[$(((i + r) % ${#tools[@]}))]}
			case $t in
			smtpsend)
				fresh_queue
				timed "postfix:smtpsend" "$count" "$smtpsend" -q \
					--host 127.0.0.1 --port "$PF_SMTP_PORT" \
					--tls starttls --cafile "$PF_CAFILE" -u alice \
					--password-file "$work/pw" --auth PLAIN \
					--flush "$work/q" ;;
			msmtp)
				timed "postfix:msmtp-loop" "$loop_count" msmtp_loop \
					--host=127.0.0.1 --port="$PF_SMTP_PORT" \
					--tls=on --tls-starttls=on \
					--tls-trust-file="$PF_CAFILE" --auth=plain \
					--user=alice --passwordeval="cat $work/pw" \
					--from=bench@example.com ;;
			esac
		done
	done
	stop_postfix
}

case $mode in
sink) bench_sink ;;
postfix) bench_postfix ;;
all) bench_sink; bench_postfix ;;
esac

"$PY" - "$work/times" "$count" <<'EOF'
import statistics, sys
count = int(sys.argv[2])
rate = {}
for line in open(sys.argv[1]):
    label, us, n = line.split()
    rate.setdefault(label, []).append(int(n) / (int(us) / 1e6))
def show(title, labels):
    labels = [l for l in labels if l in rate]
    if not labels:
        return
    print(title)
    print("  %-22s %12s %8s   (messages per second)" % ("", "median", "runs"))
    for l in labels:
        print("  %-22s %12.0f %8d" % (l.split(":")[1], statistics.median(rate[l]), len(rate[l])))
sink = ("sink:smtpsend", "sink:smtp-source", "sink:msmtp-loop")
pf = ("postfix:smtpsend", "postfix:msmtp-loop")
show("%d queued 1 KiB messages to smtp-sink, one connection, no TLS:" % count, sink)
m = {l: statistics.median(v) for l, v in rate.items()}
if "sink:smtpsend" in m and "sink:smtp-source" in m:
    r = m["sink:smtpsend"] / m["sink:smtp-source"]
    print("  smtpsend / smtp-source = %.2f (target >= 1.0: %s)" % (r, "met" if r >= 1.0 else "NOT met"))
if "sink:smtpsend" in m and "sink:msmtp-loop" in m:
    print("  smtpsend / msmtp loop  = %.1f" % (m["sink:smtpsend"] / m["sink:msmtp-loop"]))
show("%d queued 1 KiB messages to Postfix, STARTTLS + AUTH PLAIN:" % count, pf)
if "postfix:smtpsend" in m and "postfix:msmtp-loop" in m:
    print("  smtpsend / msmtp loop  = %.1f" % (m["postfix:smtpsend"] / m["postfix:msmtp-loop"]))
EOF
