#!/bin/sh
# tests/fuzz/run.sh SECONDS TARGET... — run each libFuzzer target for a
# bounded time (make fuzz-run; CI).  Each starts from its seed corpus in
# tests/fuzz/corpus/TARGET, which stays untouched: new inputs go to a
# scratch directory.  A crash leaves its input in tests/fuzz/crashes/ (add
# it to the corpus as a regression input once fixed) and fails the run.
# The last line per target says how many executions ran.
set -u
cd "$(dirname "$0")/../.." || exit 1
seconds=$1
shift
mkdir -p tests/fuzz/crashes
work=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
total=0
failed=0
for t in "$@"; do
	mkdir -p "$work/$t"
	./tests/fuzz/fuzz-"$t" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="tests/fuzz/crashes/$t-" \
		"$work/$t" "tests/fuzz/corpus/$t" >"$work/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
	runs=${runs:-0}
	total=$((total + runs))
	if [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
		echo "fuzz-$t: FAILED (exit $rc) after $runs executions:"
		tail -n 40 "$work/$t.log"
	else
		echo "fuzz-$t: $runs executions in $seconds s, no crash"
	fi
done
echo "fuzzing: $total executions, $failed target(s) crashed"
[ "$failed" -eq 0 ]
