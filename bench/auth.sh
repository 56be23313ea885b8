#!/bin/bash
# bench/auth.sh — one message over STARTTLS + AUTH PLAIN to a local Postfix
# (with Dovecot SASL), timed for smtpsend, curl and msmtp in the same run.
#
#   bench/auth.sh [-n ROUNDS]
#
# Each round runs, in an order rotated from round to round:
#   smtpsend          a cold start: full TLS handshake
#   smtpsend-resumed  with --tls-session-cache (warmed once before timing),
#                     so the TLS session is resumed
#   curl              smtp:// with --ssl-reqd and --login-options AUTH=PLAIN
#   msmtp             --tls-starttls=on --auth=plain
# and the report gives each one's median and quartiles in milliseconds and
# the ratios smtpsend/curl and smtpsend/msmtp (targets: <= 1.0 and <= 0.3).
#
# The Postfix instance (tests/interop/postfix.sh, PF_SASL=1 PF_DISCARD=1)
# is started here on free loopback ports and stopped on exit.  Needs root,
# postfix, dovecot-core, curl and msmtp.  $SMTPSEND picks the binary
# (default ./smtpsend at the top of the tree).  Nothing is written into
# the tree.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=bench/auth.sh
# shellcheck source=bench/common.sh
. "$top/bench/common.sh"
rounds=${BENCH_ROUNDS:-30}

while [ $# -gt 0 ]; do
	case $1 in
	-n | --rounds) rounds=$2; shift 2 ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/auth.sh: unknown argument: $1" >&2; exit 64 ;;
	esac
done

bench_setup curl msmtp postfix dovecot
start_postfix_sasl
body="One small message, as a cron job would send it."
printf 'From: bench@example.com\r\nTo: sink@example.com\r\nSubject: bench\r\n\r\n%s\r\n' \
	"$body" >"$work/msg.eml"

run_tool() {
	case $1 in
	smtpsend)
		"$smtpsend" --host 127.0.0.1 --port "$PF_SMTP_PORT" --tls starttls \
			--cafile "$PF_CAFILE" -u alice --password-file "$work/pw" \
			--auth PLAIN -f bench@example.com -s bench sink@example.com \
			<<<"$body" ;;
	smtpsend-resumed)
		"$smtpsend" --host 127.0.0.1 --port "$PF_SMTP_PORT" --tls starttls \
			--cafile "$PF_CAFILE" -u alice --password-file "$work/pw" \
			--auth PLAIN --tls-session-cache "$work/cache" \
			-f bench@example.com -s bench sink@example.com <<<"$body" ;;
	curl)
		curl -sS --url "smtp://127.0.0.1:$PF_SMTP_PORT" --ssl-reqd \
			--cacert "$PF_CAFILE" --user "alice:$password" \
			--login-options AUTH=PLAIN --mail-from bench@example.com \
			--mail-rcpt sink@example.com --upload-file "$work/msg.eml" ;;
	msmtp)
		msmtp --host=127.0.0.1 --port="$PF_SMTP_PORT" --tls=on \
			--tls-starttls=on --tls-trust-file="$PF_CAFILE" --auth=plain \
			--user=alice --passwordeval="cat $work/pw" \
			--from=bench@example.com sink@example.com <"$work/msg.eml" ;;
	esac
}

tools=(smtpsend smtpsend-resumed curl msmtp)
# Warm up: page cache, Postfix's processes, and the session cache.
for t in "${tools[@]}"; do
	run_tool "$t" >/dev/null 2>"$work/err" ||
		{ echo "bench/auth.sh: $t failed:" >&2; cat "$work/err" >&2; exit 1; }
done
# The resumption must really happen, or the figure means nothing.
"$smtpsend" -v --host 127.0.0.1 --port "$PF_SMTP_PORT" --tls starttls \
	--cafile "$PF_CAFILE" -u alice --password-file "$work/pw" --auth PLAIN \
	--tls-session-cache "$work/cache" -f bench@example.com sink@example.com \
	<<<"$body" 2>&1 | grep -q 'resumed from the cache' ||
	echo "bench/auth.sh: warning: the TLS session was not resumed" >&2

: >"$work/times"
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < ${#tools[@]}; i++)); do
		t=${tools[$(((i + r) % ${#tools[@]}))]}
		start=$(date +%s%N)
		run_tool "$t" >/dev/null 2>"$work/err" ||
			{ echo "bench/auth.sh: $t failed:" >&2; cat "$work/err" >&2; exit 1; }
		end=$(date +%s%N)
		echo "$t $(((end - start) / 1000))" >>"$work/times"
	done
done

"$PY" - "$work/times" "$rounds" <<'EOF'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    tool, us = line.split()
    times.setdefault(tool, []).append(int(us) / 1000.0)
def q(v):
    v = sorted(v)
    qs = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    return qs[0], statistics.median(v), qs[2]
print("one message, STARTTLS + AUTH PLAIN, local Postfix + Dovecot; %s rounds"
      % sys.argv[2])
print("%-18s %9s %9s %9s   (wall time, ms)" % ("", "q1", "median", "q3"))
med = {}
for tool in ("smtpsend", "smtpsend-resumed", "curl", "msmtp"):
    lo, m, hi = q(times[tool])
    med[tool] = m
    print("%-18s %9.2f %9.2f %9.2f" % (tool, lo, m, hi))
print()
for mine in ("smtpsend", "smtpsend-resumed"):
    for other, target in (("curl", 1.0), ("msmtp", 0.3)):
        r = med[mine] / med[other]
        print("%-18s / %-6s = %5.2f   (target <= %.1f: %s)"
              % (mine, other, r, target, "met" if r <= target else "NOT met"))
EOF
