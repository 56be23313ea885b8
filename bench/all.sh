#!/bin/bash
# bench/all.sh — `make bench`: every benchmark, one after the other, each
# starting and stopping its own local servers, with one report at the end
# (also kept in $BENCH_REPORT when that is set).
#
#   1. bench/auth.sh        one message, STARTTLS + AUTH PLAIN to Postfix:
#                           smtpsend (cold and resumed) vs curl vs msmtp
#   2. bench/flush.sh sink  1000 queued messages to smtp-sink vs smtp-source
#                           and an msmtp loop
#   3. bench/attach.sh      one 256 MiB attachment to smtp-sink vs curl -T
#                           (and msmtp), with peak memory
#   4. bench/flush.sh postfix  1000 queued messages over STARTTLS + AUTH
#                           to Postfix vs an msmtp loop
#   5. bench/callgrind.sh   instruction counts for 1 and 2
#
# Needs root and the packages of `.ci/deps.sh --bench`.  Takes about ten
# minutes on two cores.  Figures from earlier runs are in bench/README.

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
report=$(mktemp "${TMPDIR:-/tmp}/smtpsend-bench.XXXXXX")
status=0

run() {
	local title=$1
	shift
	printf '\n==== %s ====\n' "$title" | tee -a "$report"
	if ! bash "$@" 2>&1 | tee -a "$report"; then
		echo "(failed: $*)" | tee -a "$report"
		status=1
	fi
}

{
	echo "smtpsend benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "smtpsend: $("${SMTPSEND:-$top/smtpsend}" --version 2>&1 | head -n 1)"
} | tee "$report"

run "1. one message, STARTTLS + AUTH PLAIN" "$top/bench/auth.sh"
run "2. 1000 queued messages to smtp-sink" "$top/bench/flush.sh" sink
if [ -f "$top/bench/attach.sh" ]; then
	run "3. one 256 MiB attachment" "$top/bench/attach.sh"
fi
run "4. 1000 queued messages, STARTTLS + AUTH to Postfix" "$top/bench/flush.sh" postfix
run "5. instruction counts" "$top/bench/callgrind.sh"

if [ -n "${BENCH_REPORT:-}" ]; then
	cp "$report" "$BENCH_REPORT"
fi
rm -f "$report"
exit "$status"
