#!/usr/bin/env bats
# Cancellation (SendAsyncCancel): SIGINT, SIGTERM and SIGHUP stop the run at
# once, never with the final dot of an interrupted message, with RSET/QUIT
# when the link can still take it within a second; exit 75.  SIGPIPE never
# kills smtpsend.

load helpers/common

# start SCRIPT-ARGS...: smtpsend in the background against $PORT; the body
# on stdin.
start() {
	smtpsend_bg "$T/run" --host 127.0.0.1 --port "$PORT" --timeout 20 \
		-f jane@example.com "$@"
}

# wait_ready: until smtpsend has its SIGHUP, SIGINT and SIGTERM handlers
# (SigCgt bits 0, 1 and 14).  Valgrind catches every signal itself, so
# there, give the program time to start as well.
wait_ready() {
	local i mask
	for i in $(seq 100); do
		mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$BG_PID/status" 2>/dev/null)
		[ -n "$mask" ] && [ $((0x$mask & 0x4003)) = $((0x4003)) ] && break
		sleep 0.05
	done
	[ "${VALGRIND:-}" = 1 ] && sleep 3
	return 0
}

# stop_with SIGNAL: send it, wait, and check that the process ended soon
# after: the one second it may take to close, plus slack for a loaded
# machine (stretched under valgrind), far below what it was waiting for.
stop_with() {
	local t0
	t0=$(now)
	kill -s "$1" "$BG_PID"
	bg_wait
	assert_elapsed_below "$t0" "$(budget 2.5)"
	stderr=$(cat "$T/run.err")
}

@test "SIGTERM while the server sits on RCPT (no PIPELINING): exit 75 at once, QUIT sent, no DATA" {
	start_fake - <<'EOF'
CAPA 8BITMIME ENHANCEDSTATUSCODES
SILENT RCPT
EOF
	start bob@example.com <<<"x"
	wait_transcript '^C: RCPT' 10
	stop_with TERM
	assert_equal "$status" 75
	[[ $stderr == *'RCPT TO:<bob@example.com>: interrupted by SIGTERM'* ]] || fail "stderr: $stderr"
	refute_transcript '^C: DATA'
	wait_transcript '^C: QUIT$'
}

@test "SIGTERM while a pipelined DATA is unanswered: exit 75, no text, hang up without QUIT" {
	start_fake - <<'EOF'
SILENT RCPT
EOF
	start bob@example.com <<<"x"
	wait_transcript '^C: DATA' 10
	stop_with TERM
	assert_equal "$status" 75
	[[ $stderr == *'interrupted by SIGTERM'* ]] || fail "stderr: $stderr"
	# The server may already be taking text: QUIT would become part of
	# the message, so the connection is simply closed.
	wait_transcript '^\* (EOF from client|DISCONNECT)'
	refute_transcript '^C: QUIT'
	refute_transcript '^D: '
}

@test "SIGINT in the middle of the message: no final dot, no QUIT inside DATA, exit 75" {
	start_fake - <<'EOF'
RCVBUF 8192
DELAY BODY 3
EOF
	yes 'a line of the message body, long enough to fill buffers quickly' |
		head -c 8000000 >"$T/big"
	start -s big bob@example.com <"$T/big"
	wait_transcript 'pauses reading the message' 10
	sleep 0.3
	stop_with INT
	assert_equal "$status" 75
	[[ $stderr == *'sending the message: interrupted by SIGINT'* ]] || fail "stderr: $stderr"
	wait_transcript 'EOF from client' 10
	refute_transcript '^C: \.$'
	refute_transcript '^C: QUIT'
	[ -z "$(ls -A "$DATADIR")" ]
}

@test "SIGHUP before the greeting: exit 75, nothing sent" {
	start_fake - <<'EOF'
DELAY GREETING 30
EOF
	start bob@example.com <<<"x"
	wait_transcript '^\* CONNECT' 10
	sleep 0.2
	stop_with HUP
	assert_equal "$status" 75
	[[ $stderr == *'greeting: interrupted by SIGHUP'* ]] || fail "stderr: $stderr"
	refute_transcript '^C: MAIL'
}

@test "SIGTERM with --queue-on-failure: the message is queued, and the exit is still 75" {
	start_fake - <<'EOF'
DELAY MAIL 30
EOF
	start --queue-on-failure "$T/q" bob@example.com <<<"keep me"
	wait_transcript '^C: MAIL' 10
	stop_with TERM
	assert_equal "$status" 75
	[[ $stderr == *'interrupted by SIGTERM; queued as '"$T/q/"* ]] || fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 1
	assert_no_partial "$T/q"
}

@test "a signal after the final dot: the verdict is awaited for a second; a 250 in time is success" {
	start_fake - <<'EOF'
DELAY DOT 0.4
EOF
	start bob@example.com <<<"x"
	wait_transcript '^C: \.$' 10
	stop_with TERM
	assert_equal "$status" 0
	[ -s "$DATADIR/msg-1.eml" ]
}

@test "a signal after the final dot and no verdict within a second: exit 75, queued when asked" {
	start_fake - <<'EOF'
DELAY DOT 10
EOF
	start --queue-on-failure "$T/q" bob@example.com <<<"x"
	wait_transcript '^C: \.$' 10
	stop_with TERM
	assert_equal "$status" 75
	[[ $stderr == *'end of data'*'queued as'* ]] || fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 1
}

@test "a second signal ends the process at once, even while it says QUIT" {
	# Without PIPELINING, so that no DATA is in flight and QUIT is said.
	start_fake - <<'EOF'
CAPA 8BITMIME ENHANCEDSTATUSCODES
SILENT RCPT
EOF
	start bob@example.com <<<"x"
	wait_transcript '^C: RCPT' 10
	local t0
	t0=$(now)
	kill -TERM "$BG_PID"
	wait_transcript '^C: QUIT' 5
	kill -TERM "$BG_PID" 2>/dev/null || true
	bg_wait
	assert_elapsed_below "$t0" "$(budget 2.5)"
	assert_equal "$status" 75
	grep -q 'second signal' "$T/run.err" || fail "stderr: $(cat "$T/run.err")"
}

@test "SIGINT while standard input is still open: exit 75, no connection, nothing queued" {
	start_fake - </dev/null
	mkfifo "$T/stdin"
	sleep 30 >"$T/stdin" 3>&- &
	SERVER_PIDS+=("$!")
	start --queue-on-failure "$T/q" bob@example.com <"$T/stdin"
	wait_ready
	stop_with INT
	assert_equal "$status" 75
	[[ $stderr == *'reading input: interrupted by SIGINT'* ]] || fail "stderr: $stderr"
	assert_equal "$(count_transcript '^\* CONNECT')" 0
	assert_equal "$(count_queued "$T/q")" 0
}

# queue_abc: messages to a, b and c queued in $T/q, in that order (the
# server was unreachable).
queue_abc() {
	local r
	for r in a b c; do
		run smtpsend --host 127.0.0.1 --port "$(closed_port)" --timeout 5 \
			--queue-on-failure "$T/q" -f jane@example.com "$r@example.com" <<<"$r"
		assert_success
		sleep 0.01
	done
}

@test "SIGTERM during a flush: the message in flight stays queued, exit 75; the next flush sends the rest once" {
	queue_abc
	start_fake - <<'EOF'
DELAY RCPT#2@1 30
EOF
	smtpsend_bg "$T/run" --host 127.0.0.1 --port "$PORT" --timeout 20 --flush "$T/q"
	wait_transcript 'RCPT TO:<b@' 10
	stop_with TERM
	assert_equal "$status" 75
	grep -q '^deferred .*interrupted by SIGTERM' "$T/run.out" || fail "report: $(cat "$T/run.out")"
	assert_equal "$(count_queued "$T/q")" 2
	assert_equal "$(count_transcript '^C: \.$')" 1
	local first_data=$DATADIR
	stop_servers	# it is still asleep on the first connection
	start_fake - </dev/null
	run --separate-stderr sendto --flush "$T/q"
	assert_success
	assert_equal "$(count_transcript 'RCPT TO:<a@')" 0
	assert_equal "$(count_transcript 'RCPT TO:<b@')" 1
	assert_equal "$(count_transcript 'RCPT TO:<c@')" 1
	assert_equal "$(ls "$first_data" | wc -l)" 1
	assert_equal "$(ls "$DATADIR" | wc -l)" 2
}

@test "SIGHUP ignored by the parent (nohup) stays ignored" {
	start_fake - <<'EOF'
DELAY MAIL 1
EOF
	(
		trap '' HUP
		exec "$SMTPSEND" --host 127.0.0.1 --port "$PORT" --timeout 10 \
			-f jane@example.com bob@example.com <<<"x"
	) >"$T/run.out" 2>"$T/run.err" &
	BG_PID=$!
	wait_transcript '^C: MAIL' 10
	kill -HUP "$BG_PID"
	bg_wait
	assert_equal "$status" 0
	[ -s "$DATADIR/msg-1.eml" ]
}

@test "SIGPIPE never kills: the server hangs up in the middle of a large message -> exit 75" {
	start_fake - <<'EOF'
RCVBUF 8192
CLOSE BODY
EOF
	yes 'another line of the message body that is long enough' | head -c 8000000 >"$T/big"
	run --separate-stderr sendto -f jane@example.com bob@example.com <"$T/big"
	assert_equal "$status" 75
	[[ $stderr == *'sending the message'* ]] || fail "stderr: $stderr"
}

@test "SIGTERM during a flush while a verdict is due behind the next message's commands: that verdict is awaited, the next message stays queued" {
	queue_abc
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
DELAY DOT#1 0.6
EOF
	smtpsend_bg "$T/run" --host 127.0.0.1 --port "$PORT" --timeout 20 --flush "$T/q"
	wait_transcript '^C: \.$' 10
	stop_with TERM
	assert_equal "$status" 75
	grep -q '^sent ' "$T/run.out" || fail "report: $(cat "$T/run.out")"
	grep -q '^deferred .*interrupted by SIGTERM' "$T/run.out" || fail "report: $(cat "$T/run.out")"
	[ -s "$DATADIR/msg-1.eml" ]
	assert_equal "$(count_queued "$T/q")" 2
	# b's DATA was never answered with text: one final dot in all, and
	# no QUIT that the server could have taken for message text.
	wait_transcript '^\* DISCONNECT 1' 10
	assert_equal "$(count_transcript '^C: \.$')" 1
	assert_equal "$(count_transcript '^C: QUIT')" 0
}
