#!/bin/bash
# bench/profile.sh — where the time of a large attachment goes: the
# client's CPU time, system calls and hottest functions while smtpsend
# sends one random attachment (the message of bench/attach.sh).
#
#   bench/profile.sh [-n ROUNDS] [-s MIB] [-c OTHER] [-o DIR] [MODE...]
#
#   plain     to Postfix's smtp-sink: no CHUNKING, so DATA and dot-stuffing
#   tls       STARTTLS to a local Postfix that discards the mail, DATA
#             (--no-chunking)
#   tls-bdat  the same with BDAT chunks (Postfix offers CHUNKING)
# Default: all three.  MIB (default 256) is the attachment's size.
#
# Per mode: ROUNDS (default 5) runs under /usr/bin/time after a warm-up,
# reported as the median user, system and wall time and the largest peak
# RSS; then one run under `strace -c -f` (the system calls that count)
# and one under `perf record -g` (`perf report --no-children`, flat: the
# objects and functions with the most samples of smtpsend's own process,
# libraries and kernel included).  Against these servers the wall time is
# mostly theirs (smtp-sink parses every line, Postfix writes the message
# to its queue), so user + system time is the client's figure that counts.
#
# -c OTHER profiles a second binary too (a build from before a change):
# the timed runs of the two alternate, in a rotating order, and the ratio
# of their medians is printed.  With -o the raw files (times, strace and
# perf output) are kept in DIR.
#
# Needs root, postfix, strace and perf (Debian packages postfix, strace,
# linux-perf).  $SMTPSEND picks the binary (default ./smtpsend).  Nothing
# is written into the tree.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=bench/profile.sh
# shellcheck source=bench/common.sh
. "$top/bench/common.sh"
rounds=${BENCH_ROUNDS:-5}
mib=256
keep=
other=
modes=()

while [ $# -gt 0 ]; do
	case $1 in
	-n | --rounds) rounds=$2; shift 2 ;;
	-s | --size) mib=$2; shift 2 ;;
	-c | --compare) other=$2; shift 2 ;;
	-o | --output) keep=$2; shift 2 ;;
	plain | tls | tls-bdat) modes+=("$1"); shift ;;
	-h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "$me: unknown argument: $1" >&2; exit 64 ;;
	esac
done
[ ${#modes[@]} -gt 0 ] || modes=(plain tls tls-bdat)
[ "$(id -u)" = 0 ] || bench_die "needs root (Postfix, smtp-sink as nobody)"
[ -x /usr/bin/time ] || bench_die "/usr/bin/time not found (Debian package time)"
[ -z "$other" ] || [ -x "$other" ] || bench_die "-c $other: not an executable"

bench_setup smtp-sink postfix strace perf
out=${keep:-$work/out}
mkdir -p "$out"
# The binaries, by label: "smtpsend" is $SMTPSEND, "other" is -c.
labels=(smtpsend)
declare -A bin=([smtpsend]=$smtpsend)
if [ -n "$other" ]; then
	labels+=(other)
	bin[other]=$other
fi

echo "preparing a $mib MiB attachment ..." >&2
head -c $((mib * 1024 * 1024)) /dev/urandom >"$work/data.bin"
start_sink
need_postfix=0
for m in "${modes[@]}"; do
	[ "$m" = plain ] || need_postfix=1
done
if [ "$need_postfix" = 1 ]; then
	PF_DISCARD=1 bash "$top/tests/interop/postfix.sh" start \
		"$work/postfix" >"$work/start.log" 2>&1 ||
		{ cat "$work/start.log" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$work/postfix/instance.env"
	# The default limit (10 MB) would refuse the message at MAIL.
	postconf -c "$work/postfix/etc" -e message_size_limit=0
	postfix -c "$work/postfix/etc" reload >/dev/null 2>&1
	sleep 1
fi

# argv_for LABEL MODE: that binary's command line for MODE, in $argv.
argv_for() {
	argv=("${bin[$1]}" --timeout 600 -f bench@example.com -s attachment
		-a "$work/data.bin")
	case $2 in
	plain) argv+=(--host 127.0.0.1 --port "$sink_port") ;;
	tls | tls-bdat)
		argv+=(--host 127.0.0.1 --port "$PF_SMTP_PORT" --tls starttls
			--cafile "$PF_CAFILE" --tls-servername localhost)
		[ "$2" = tls-bdat ] || argv+=(--no-chunking)
		;;
	esac
	argv+=(sink@example.com)
}

# report LABEL MODE: what the runs of that binary showed.  (The pipes
# end in head, which may leave early: || true keeps pipefail quiet.)
report() {
	local f=$out/$2.$1 comm
	comm=$(basename "${bin[$1]}")
	comm=${comm:0:15}
	"$PY" - "$1" "$2" "$f.times" <<'EOF'
import statistics, sys
label, mode, path = sys.argv[1:4]
rows = [l.split() for l in open(path) if l.strip()]
u = [float(r[0]) for r in rows]
s = [float(r[1]) for r in rows]
w = [float(r[2]) for r in rows]
rss = max(int(r[3]) for r in rows)
print("== %s, %s: %d runs, median user %.2f s, system %.2f s, user+system"
      " %.2f s, wall %.2f s; peak RSS %.1f MiB"
      % (mode, label, len(rows), statistics.median(u), statistics.median(s),
         statistics.median(a + b for a, b in zip(u, s)),
         statistics.median(w), rss / 1024))
EOF
	echo "-- system calls (strace -c -f), the ten most frequent"
	awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
		print $NF, $4, (NF == 6 ? "calls (" $5 " failed)" : "calls") }' \
		"$f.strace" | sort -k2,2 -rn | head -n 10 | sed 's/^/   /' || true
	echo "-- perf: share of the process's samples, by object"
	# GnuTLS's symbols are stripped; its share as a whole is not.
	perf report -q -i "$f.perf.data" --stdio --no-children \
		--comm "$comm" --percentage relative --sort dso -g none \
		2>/dev/null | grep -E '^ +[0-9]' | head -n 5 |
		awk '{ printf "%s%s %s", (NR > 1 ? ", " : "   "), $2, $1 }
		END { print "" }' || true
	echo "-- perf: share of the process's samples, by function"
	perf report -q -i "$f.perf.data" --stdio --no-children \
		--comm "$comm" --percentage relative --sort dso,symbol \
		-g none 2>/dev/null | grep -E '^ +[0-9]' | head -n 15 |
		sed 's/ \{2,\}/  /g; s/ *- *- *$//' || true
}

for m in "${modes[@]}"; do
	echo "profiling $m ..." >&2
	for l in "${labels[@]}"; do
		: >"$out/$m.$l.times"
		# A warm-up run (page cache, Postfix's processes), not counted.
		argv_for "$l" "$m"
		"${argv[@]}" </dev/null >/dev/null ||
			bench_die "$m: ${bin[$l]} failed"
	done
	n=${#labels[@]}
	for round in $(seq "$rounds"); do
		for i in $(seq 0 $((n - 1))); do
			l=${labels[$(((i + round) % n))]}
			argv_for "$l" "$m"
			/usr/bin/time -f '%U %S %e %M' -o "$work/t" "${argv[@]}" \
				</dev/null >/dev/null ||
				bench_die "$m: ${bin[$l]} failed"
			tail -n 1 "$work/t" >>"$out/$m.$l.times"
		done
	done
	for l in "${labels[@]}"; do
		argv_for "$l" "$m"
		strace -c -f -o "$out/$m.$l.strace" "${argv[@]}" \
			</dev/null >/dev/null
		perf record -q -g -F 4999 -o "$out/$m.$l.perf.data" -- \
			"${argv[@]}" </dev/null >/dev/null 2>"$work/perf.err" ||
			{ cat "$work/perf.err" >&2; exit 1; }
		report "$l" "$m"
	done
	[ -n "$other" ] || continue
	"$PY" - "$m" "$out/$m.smtpsend.times" "$out/$m.other.times" <<'EOF'
import statistics, sys
def cpu(path):
    rows = [l.split() for l in open(path) if l.strip()]
    return statistics.median(float(r[0]) + float(r[1]) for r in rows)
a, b = cpu(sys.argv[2]), cpu(sys.argv[3])
print("== %s: user+system, smtpsend / other: %.2f" % (sys.argv[1], a / b))
EOF
done
[ -z "$keep" ] || echo "raw files kept in $keep" >&2
