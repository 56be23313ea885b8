#!/usr/bin/env bats
# Nothing lost: --pickup-dir, --queue-on-failure, --flush (design.md
# section 6) and --on-rcpt-reject.

load helpers/common

# send ARGS... (stdin: body) against $PORT with the usual sender.
send() {
	run --separate-stderr sendto -f jane@example.com "$@"
}

# flush DIR [ARGS...] against $PORT.
flush() {
	local dir=$1
	shift
	run --separate-stderr sendto --flush "$dir" "$@"
}

# queue_one DIR RECIPIENT [BODY]: put a message into DIR the way a failed
# send does (the connection is refused), checking that it went there.
queue_one() {
	local dir=$1 rcpt=$2 body=${3:-"message for $2"}
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$(closed_port)" \
		--timeout 5 --queue-on-failure "$dir" -f jane@example.com \
		-s "to $rcpt" "$rcpt" <<<"$body"
	assert_success
	[[ $stderr == *"queued as $dir/"* ]] || fail "not queued: $stderr"
	sleep 0.01	# distinct, ordered names
}

# The envelope lines of a queue file, without CRs.
envelope_of() {
	sed -n '/^X-\(Sender\|Receiver\): /{s/\r$//;p;b};q' "$1"
}

@test "--pickup-dir: one file, X-Sender and X-Receiver lines, then the message; no network" {
	start_fake - </dev/null
	send --pickup-dir "$T/pickup" -s 'hi' --cc carol@example.com \
		-b dave@example.com bob@example.com <<<"Grüße"
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
	assert_equal "$(count_transcript '^\* CONNECT')" 0
	assert_equal "$(count_queued "$T/pickup")" 1
	local f
	f=$T/pickup/$(queued "$T/pickup")
	[[ $(basename "$f") =~ ^[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9]+-[0-9a-f]{8}\.eml$ ]] ||
		fail "unexpected name: $f"
	run envelope_of "$f"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: bob@example.com\nX-Receiver: carol@example.com\nX-Receiver: dave@example.com'
	# CRLF everywhere, and the rest is the message itself, without Bcc.
	run grep -c $'[^\r]$' "$f"
	assert_output 0
	sed '1,4d' "$f" >"$T/msg.eml"
	run check_msg "$T/msg.eml" --ascii-only --no-header Bcc \
		--expect-header 'Subject=hi' --expect-body $'Grüße\n'
	assert_success
	[ "$(stat -c %a "$T/pickup")" = 700 ]
	[ "$(stat -c %a "$f")" = 600 ]
	assert_no_partial "$T/pickup"
}

@test "--pickup-dir: the null sender is written as <>" {
	run --separate-stderr smtpsend --pickup-dir "$T/p" --envelope-from '<>' \
		-f jane@example.com bob@example.com <<<"x"
	assert_success
	run envelope_of "$T/p/$(queued "$T/p")"
	assert_output $'X-Sender: <>\nX-Receiver: bob@example.com'
}

@test "--pickup-dir: every message gets its own file" {
	for i in 1 2 3; do
		run smtpsend --pickup-dir "$T/p" -f jane@example.com bob@example.com <<<"$i"
		assert_success
	done
	assert_equal "$(count_queued "$T/p")" 3
}

@test "--pickup-dir whose parent does not exist: exit 73, nothing written" {
	run --separate-stderr smtpsend --pickup-dir "$T/no/such/dir" \
		-f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 73
	[[ $stderr == *'--pickup-dir'*"$T/no/such/dir"* ]] || fail "stderr: $stderr"
	[ ! -e "$T/no" ]
}

@test "--pickup-dir naming a regular file: exit 73" {
	: >"$T/file"
	run --separate-stderr smtpsend --pickup-dir "$T/file" \
		-f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 73
}

@test "--pickup-dir not writable: exit 73, nothing written" {
	mkdir "$T/ro"
	if [ "$(id -u)" != 0 ]; then
		chmod 555 "$T/ro"
	else
		# root may write anywhere: let the fault injector say no.
		shim_env FAULTSHIM_PATH="$T/ro" FAULTSHIM_ACCESS=eacces
	fi
	run --separate-stderr smtpsend --pickup-dir "$T/ro" \
		-f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 73
	[[ $stderr == *'not writable'* ]] || fail "stderr: $stderr"
	[ -z "$(ls -A "$T/ro")" ]
}

@test "--pickup-dir on a full disk: exit 73 and no file at all, not even a partial one" {
	mkdir "$T/full"
	shim_env FAULTSHIM_PATH="$T/full" FAULTSHIM_WRITE_LIMIT=100
	run --separate-stderr smtpsend --pickup-dir "$T/full" -s x \
		-f jane@example.com bob@example.com < <(head -c 200000 /dev/zero | tr '\0' 'a' | fold -w 70)
	assert_equal "$status" 73
	[[ $stderr == *'No space left on device'* ]] || fail "stderr: $stderr"
	[ -z "$(ls -A "$T/full")" ] || fail "left behind: $(ls -A "$T/full")"
}

@test "--pickup-dir: a failing fsync is an error too (exit 73, no file)" {
	mkdir "$T/p"
	shim_env FAULTSHIM_PATH="$T/p" FAULTSHIM_FSYNC=eio
	run --separate-stderr smtpsend --pickup-dir "$T/p" \
		-f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 73
	[ -z "$(ls -A "$T/p")" ]
}

@test "--pickup-dir: killed before the file is durable: no file under a final name" {
	mkdir "$T/p"
	shim_env FAULTSHIM_PATH="$T/p" FAULTSHIM_FSYNC=sleep
	smtpsend_bg "$T/bg" --pickup-dir "$T/p" -f jane@example.com bob@example.com <<<"x"
	local i
	for i in $(seq 50); do
		[ -n "$(ls -A "$T/p")" ] && break
		sleep 0.1
	done
	sleep 0.3	# now inside fsync
	kill -KILL "$BG_PID"
	bg_wait
	assert_equal "$(count_queued "$T/p")" 0
	# A later flush ignores the leftover temporary file.
	unset LD_PRELOAD
	start_fake - </dev/null
	flush "$T/p"
	assert_success
	assert_equal "$(count_transcript '^C: MAIL')" 0
}

@test "--pickup-dir with --print, --queue-on-failure or --flush: exit 64" {
	run smtpsend --pickup-dir "$T/p" --print bob@example.com </dev/null
	assert_equal "$status" 64
	run smtpsend --pickup-dir "$T/p" --queue-on-failure "$T/q" bob@example.com </dev/null
	assert_equal "$status" 64
	run smtpsend --flush "$T/q" --pickup-dir "$T/p" </dev/null
	assert_equal "$status" 64
	run smtpsend --flush "$T/q" bob@example.com </dev/null
	assert_equal "$status" 64
	run smtpsend --max-age 1d bob@example.com </dev/null
	assert_equal "$status" 64
	run smtpsend --flush "$T/q" --max-age soon </dev/null
	assert_equal "$status" 64
	run smtpsend --on-rcpt-reject sometimes bob@example.com </dev/null
	assert_equal "$status" 64
}

@test "--queue-on-failure: connection refused -> exit 0, one line on stderr, the message queued" {
	PORT=$(closed_port)
	send --queue-on-failure "$T/q" -s 'later' bob@example.com <<<"keep me"
	assert_success
	assert_output ''
	[ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ] || fail "more than one line: $stderr"
	# The refusal (with its hint on what to check), then where it went.
	[[ $stderr == smtpsend:*'Connection refused'*'; queued as '"$T/q/"*'.eml for a later --flush' ]] ||
		fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 1
	assert_no_partial "$T/q"
	run envelope_of "$T/q/$(queued "$T/q")"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: bob@example.com'
}

@test "--queue-on-failure: 451 to MAIL -> queued (exit 0), then --flush delivers the same message" {
	start_fake - <<'EOF'
REPLY MAIL@1 451 4.3.0 try later
EOF
	send --queue-on-failure "$T/q" -s 'retry me' bob@example.com <<<"the body"
	assert_success
	[[ $stderr == *'451 4.3.0 try later; queued as'* ]] || fail "stderr: $stderr"
	local id
	id=$(sed -n 's/^Message-ID: //p' "$T/q/$(queued "$T/q")" | tr -d '\r')
	flush "$T/q"
	assert_success
	assert_equal "$(count_queued "$T/q")" 0
	run check_msg "$DATADIR/msg-1.eml" --expect-header "Message-ID=$id" \
		--expect-header 'Subject=retry me' --expect-body $'the body\n'
	assert_success
}

@test "--queue-on-failure: a permanent failure is not queued and keeps its status" {
	start_fake - <<'EOF'
REPLY RCPT 550 5.1.1 no such user
EOF
	send --queue-on-failure "$T/q" bob@example.com <<<"x"
	assert_equal "$status" 67
	assert_equal "$stderr" 'smtpsend: RCPT TO:<bob@example.com>: 550 5.1.1 no such user'
	assert_equal "$(count_queued "$T/q")" 0
	assert_no_partial "$T/q"
}

@test "--queue-on-failure: 554 at the end of data is permanent: exit 69, nothing queued" {
	start_fake - <<'EOF'
REPLY DOT 554 5.7.1 rejected
EOF
	send --queue-on-failure "$T/q" bob@example.com <<<"x"
	assert_equal "$status" 69
	assert_equal "$(count_queued "$T/q")" 0
}

@test "--queue-on-failure: delivered -> nothing left in the queue directory" {
	start_fake - </dev/null
	send --queue-on-failure "$T/q" -s x bob@example.com <<<"x"
	assert_success
	assert_equal "$stderr" ''
	[ -z "$(ls -A "$T/q")" ] || fail "left: $(ls -A "$T/q")"
	[ -s "$DATADIR/msg-1.eml" ]
}

@test "--queue-on-failure: an unwritable queue is found before sending (exit 73, nothing sent)" {
	start_fake - </dev/null
	: >"$T/q"
	send --queue-on-failure "$T/q" bob@example.com <<<"x"
	assert_equal "$status" 73
	assert_equal "$(count_transcript '^\* CONNECT')" 0
}

@test "--queue-on-failure on a full disk: exit 73, no partial file, nothing sent" {
	start_fake - </dev/null
	mkdir "$T/q"
	shim_env FAULTSHIM_PATH="$T/q" FAULTSHIM_WRITE_LIMIT=50
	send --queue-on-failure "$T/q" bob@example.com <<<"some text"
	assert_equal "$status" 73
	[ -z "$(ls -A "$T/q")" ] || fail "left: $(ls -A "$T/q")"
	assert_equal "$(count_transcript '^\* CONNECT')" 0
}

@test "--queue-on-failure: no answer to the final dot -> queued (the server might have it: same Message-ID)" {
	start_fake - <<'EOF'
SILENT DOT
EOF
	TIMEOUT=2 send --queue-on-failure "$T/q" bob@example.com <<<"x"
	assert_success
	[[ $stderr == *'end of data: timed out'*'queued as'* ]] || fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 1
}

@test "--queue-on-failure: input that never ends is not queued (exit 75, incomplete)" {
	mkfifo "$T/stdin"
	sleep 30 >"$T/stdin" 3>&- &
	SERVER_PIDS+=("$!")
	PORT=$(closed_port)
	TIMEOUT=1 send --queue-on-failure "$T/q" bob@example.com <"$T/stdin"
	assert_equal "$status" 75
	[[ $stderr == *'reading input: timed out'* ]] || fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 0
}

@test "--flush of an empty or new queue: exit 0, no connection" {
	start_fake - </dev/null
	flush "$T/q"
	assert_success
	assert_output "flush $T/q: 0 sent, 0 partly sent, 0 deferred, 0 failed, 0 expired; 0 left in the queue"
	assert_equal "$(count_transcript '^\* CONNECT')" 0
	[ -d "$T/q" ]
}

@test "--flush: three messages over one connection, oldest first, no RSET, files removed" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	queue_one "$T/q" c@example.com
	local names
	names=$(queued "$T/q")
	start_fake - </dev/null
	flush "$T/q"
	assert_success
	local name
	for name in $names; do
		assert_line --partial "sent $name: 1 recipient: 250 2.0.0 Ok"
	done
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	assert_equal "$(count_transcript '^C: RSET')" 0
	assert_equal "$(count_transcript '^C: QUIT')" 1
	run grep -o '^C: RCPT TO:<.*>' "$TRANSCRIPT"
	assert_output $'C: RCPT TO:<a@example.com>\nC: RCPT TO:<b@example.com>\nC: RCPT TO:<c@example.com>'
	assert_equal "$(count_queued "$T/q")" 0
	[ -s "$DATADIR/msg-3.eml" ]
	assert_clean_transcript
}

@test "--flush report: one line per message" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	start_fake - <<'EOF'
REPLY RCPT#2@1 550 5.1.1 no such user
EOF
	local first second
	first=$(queued "$T/q" | head -n 1)
	second=$(queued "$T/q" | tail -n 1)
	flush "$T/q"
	assert_equal "$status" 67
	assert_line --index 0 "sent $first: 1 recipient: 250 2.0.0 Ok: queued as 1"
	assert_line --index 1 "failed $second: RCPT TO:<b@example.com>: 550 5.1.1 no such user (moved to failed/)"
	assert_line --index 2 "flush $T/q: 1 sent, 0 partly sent, 0 deferred, 1 failed, 0 expired; 0 left in the queue"
	[[ $stderr == *'1 message refused for good'* ]] || fail "stderr: $stderr"
}

@test "--flush: a permanent refusal moves the file to failed/ with its reason; RSET only after it" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	queue_one "$T/q" c@example.com
	local second
	second=$(queued "$T/q" | sed -n 2p)
	start_fake - <<'EOF'
REPLY RCPT#2@1 550 5.1.1 no such user
EOF
	flush "$T/q"
	assert_equal "$status" 67
	assert_equal "$(count_transcript '^C: RSET')" 1
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	[ -f "$T/q/failed/$second" ] || fail "not in failed/: $(ls -R "$T/q")"
	local reason=$T/q/failed/${second%.eml}.reason
	grep -q '^Reason: RCPT TO:<b@example.com>: 550 5.1.1 no such user$' "$reason" ||
		fail "reason: $(cat "$reason")"
	grep -q '^Status: 67$' "$reason"
	assert_equal "$(count_queued "$T/q")" 0
	[ -s "$DATADIR/msg-2.eml" ]
	[ ! -e "$DATADIR/msg-3.eml" ]
}

@test "--flush: a temporary refusal keeps the file; the others go; exit 75" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	queue_one "$T/q" c@example.com
	local second
	second=$(queued "$T/q" | sed -n 2p)
	start_fake - <<'EOF'
REPLY MAIL#2@1 451 4.3.0 try later
EOF
	flush "$T/q"
	assert_equal "$status" 75
	assert_line "deferred $second: MAIL FROM:<jane@example.com>: 451 4.3.0 try later"
	assert_equal "$(queued "$T/q")" "$second"
	assert_equal "$(count_transcript '^C: RSET')" 1
	[[ $stderr == *'1 message left for a later try'* ]] || fail "stderr: $stderr"
	# The next flush sends it.
	flush "$T/q"
	assert_success
	assert_equal "$(count_queued "$T/q")" 0
}

@test "--flush: after a 421 it reconnects and goes on with the same message" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	queue_one "$T/q" c@example.com
	start_fake - <<'EOF'
REPLY MAIL#2@1 421 4.3.2 closing, too many messages
EOF
	flush "$T/q"
	assert_success
	assert_equal "$(count_transcript '^\* CONNECT')" 2
	assert_equal "$(count_queued "$T/q")" 0
	[ -s "$DATADIR/msg-3.eml" ]
	[ ! -e "$DATADIR/msg-4.eml" ]
}

@test "--flush: a lost connection between messages -> reconnect, everything delivered once" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	queue_one "$T/q" c@example.com
	start_fake - <<'EOF'
CLOSE MAIL#2@1
EOF
	flush "$T/q"
	assert_success
	assert_equal "$(count_transcript '^\* CONNECT')" 2
	assert_equal "$(count_queued "$T/q")" 0
	[ ! -e "$DATADIR/msg-4.eml" ]
}

@test "--flush: connection lost at the end of data -> that file stays, the rest goes; no retry of it" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	queue_one "$T/q" c@example.com
	local second
	second=$(queued "$T/q" | sed -n 2p)
	start_fake - <<'EOF'
CLOSE DOT#2@1
EOF
	flush "$T/q"
	assert_equal "$status" 75
	assert_line "deferred $second: end of data: connection closed by the server (the server may have it already)"
	assert_equal "$(queued "$T/q")" "$second"
	assert_equal "$(count_transcript '^\* CONNECT')" 2
	assert_equal "$(count_transcript 'RCPT TO:<b@')" 1
}

@test "--flush: no answer to the final dot: the file stays (deleted only after 250)" {
	queue_one "$T/q" a@example.com
	start_fake - <<'EOF'
SILENT DOT
EOF
	TIMEOUT=2 flush "$T/q"
	assert_equal "$status" 75
	assert_equal "$(count_queued "$T/q")" 1
}

@test "--flush: older than --max-age (default 5 days) -> failed/ as expired, never sent" {
	queue_one "$T/q" old@example.com
	queue_one "$T/q" new@example.com
	local old
	old=$(queued "$T/q" | head -n 1)
	touch -d '6 days ago' "$T/q/$old"
	start_fake - </dev/null
	flush "$T/q"
	assert_equal "$status" 69
	assert_line --partial "expired $old: expired: queued 144 h ago"
	[ -f "$T/q/failed/$old" ]
	grep -q '^Reason: expired' "$T/q/failed/${old%.eml}.reason"
	refute_transcript 'RCPT TO:<old@'
	assert_transcript 'RCPT TO:<new@'
}

@test "--flush --max-age 10d: a six-day-old message is still sent" {
	queue_one "$T/q" old@example.com
	touch -d '6 days ago' "$T/q/$(queued "$T/q")"
	start_fake - </dev/null
	flush "$T/q" --max-age 10d
	assert_success
	assert_transcript 'RCPT TO:<old@'
}

@test "--flush: two flushes at once never send the same file (exclusive lock)" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	start_fake - <<'EOF'
DELAY DOT 3
EOF
	smtpsend_bg "$T/first" --host 127.0.0.1 --port "$PORT" --timeout 20 --flush "$T/q"
	wait_transcript '^C: MAIL' 10
	flush "$T/q"
	assert_equal "$status" 75
	[[ $stderr == *'another smtpsend --flush is working on this queue'* ]] || fail "stderr: $stderr"
	bg_wait
	assert_equal "$status" 0
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	assert_equal "$(count_transcript '^C: MAIL')" 2
	assert_equal "$(count_queued "$T/q")" 0
}

@test "--flush: a file that is not in the pickup format goes to failed/ (exit 65)" {
	mkdir "$T/q"
	printf 'Subject: hello\r\n\r\nno envelope\r\n' >"$T/q/stray.eml"
	start_fake - </dev/null
	flush "$T/q"
	assert_equal "$status" 65
	assert_line "failed stray.eml: not a queue file: no X-Sender line at its start (moved to failed/)"
	[ -f "$T/q/failed/stray.eml" ]
	assert_equal "$(count_transcript '^\* CONNECT')" 0
}

@test "--flush: a file written by another tool (LF line ends, <addresses>) is sent correctly" {
	mkdir "$T/q"
	printf 'X-Sender: <ann@example.com>\nx-receiver: <bob@example.com>\nX-Receiver: carol@example.com\nSubject: from elsewhere\n\n.leading dot\nbody\n' >"$T/q/other.eml"
	start_fake - </dev/null
	flush "$T/q"
	assert_success
	assert_transcript '^C: MAIL FROM:<ann@example\.com>$'
	assert_transcript '^C: RCPT TO:<carol@example\.com>$'
	assert_transcript '^D: \.\.leading dot$'
	assert_clean_transcript
	run cat "$DATADIR/msg-1.eml"
	assert_output $'Subject: from elsewhere\r\n\r\n.leading dot\r\nbody\r'
}

@test "--flush: 8-bit content goes with BODY=8BITMIME when the server offers it" {
	mkdir "$T/q"
	printf 'X-Sender: ann@example.com\r\nX-Receiver: bob@example.com\r\nSubject: x\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n' >"$T/q/a.eml"
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME
EOF
	flush "$T/q"
	assert_success
	assert_transcript '^C: MAIL FROM:<ann@example\.com> BODY=8BITMIME$'
}

@test "--flush: 8-bit content and a server without 8BITMIME: failed/, exit 65" {
	mkdir "$T/q"
	printf 'X-Sender: ann@example.com\r\nX-Receiver: bob@example.com\r\nSubject: x\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n' >"$T/q/a.eml"
	start_fake - <<'EOF'
CAPA PIPELINING
EOF
	flush "$T/q"
	assert_equal "$status" 65
	assert_line --partial 'failed a.eml: the message has 8-bit content'
	refute_transcript '^C: MAIL'
}

@test "--flush: the queue file shrinks while being sent: no final dot, exit 74, file kept" {
	queue_one "$T/q" a@example.com "$(seq 1 20000)"
	local f
	f=$T/q/$(queued "$T/q")
	start_fake - <<'EOF'
DELAY DATA 1
EOF
	smtpsend_bg "$T/bg" --host 127.0.0.1 --port "$PORT" --timeout 10 --flush "$T/q"
	wait_transcript '^C: DATA' 10
	truncate -s 300 "$f"
	bg_wait
	assert_equal "$status" 74
	grep -q 'became shorter' "$T/bg.err" || fail "stderr: $(cat "$T/bg.err")"
	refute_transcript '^C: \.$'
	[ -f "$f" ]
}

@test "--flush -q: silent when everything went" {
	queue_one "$T/q" a@example.com
	start_fake - </dev/null
	flush "$T/q" -q
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
}

@test "--flush: killed at any moment, nothing is lost and at most the message in flight is sent twice" {
	local delay run_no
	for delay in 0.2 0.7 1.2; do
		run_no=$delay
		rm -rf "$T/q"
		stop_servers
		for i in 1 2 3 4 5; do
			queue_one "$T/q" "r$i@example.com"
		done
		start_fake - <<'EOF'
DELAY DOT 0.3
EOF
		smtpsend_bg "$T/bg" --host 127.0.0.1 --port "$PORT" --timeout 10 --flush "$T/q"
		sleep "$delay"
		kill -KILL "$BG_PID" 2>/dev/null || true
		bg_wait
		flush "$T/q"
		assert_success
		assert_equal "$(count_queued "$T/q")" 0
		# Every recipient got it; one of them at most twice.
		local counts
		counts=$(grep -ho '^C: RCPT TO:<r[0-9]@' "$TRANSCRIPT" | sort | uniq -c | awk '{print $1}' | sort -n | tr '\n' ' ')
		[[ $counts == '1 1 1 1 1 ' || $counts == '1 1 1 1 2 ' ]] ||
			fail "kill after $run_no s: RCPT counts per recipient: $counts"
		local stored
		stored=$(ls "$DATADIR" | wc -l)
		[ "$stored" -ge 5 ] && [ "$stored" -le 6 ] || fail "stored $stored messages"
	done
}

@test "--on-rcpt-reject continue: the accepted recipients get it; partial delivery is exit 67" {
	start_fake - <<'EOF'
REPLY RCPT#2 550 5.1.1 <carol@example.com>: no such user
EOF
	send --on-rcpt-reject continue bob@example.com carol@example.com dave@example.com <<<"x"
	assert_equal "$status" 67
	assert_transcript '^C: DATA$'
	[ -s "$DATADIR/msg-1.eml" ]
	assert_equal "$stderr" 'smtpsend: RCPT TO:<carol@example.com>: 550 5.1.1 <carol@example.com>: no such user
smtpsend: partial delivery: the message was accepted for 2 of 3 recipients, NOT for <carol@example.com>'
}

@test "--on-rcpt-reject continue: nobody accepted -> no message text, exit 67" {
	start_fake - <<'EOF'
REPLY RCPT 550 5.1.1 no such user
EOF
	send --on-rcpt-reject continue bob@example.com carol@example.com <<<"x"
	assert_equal "$status" 67
	refute_transcript '^D: '
	[[ $stderr == *'no recipient was accepted'* ]] || fail "stderr: $stderr"
	[ "$(grep -c 'RCPT TO:' <<<"$stderr")" = 2 ]
}

@test "--on-rcpt-reject abort (the default): one refusal stops the message" {
	start_fake - <<'EOF'
REPLY RCPT#2 550 5.1.1 no such user
EOF
	send --on-rcpt-reject abort bob@example.com carol@example.com <<<"x"
	assert_equal "$status" 67
	# The pipelined DATA got its 354 (one recipient was taken): hanging
	# up before the final dot is what cancels it.
	refute_transcript '^D: '
	refute_transcript '^C: \.$'
	[ -z "$(ls -A "$DATADIR" 2>/dev/null)" ]
}

@test "--on-rcpt-reject continue + --queue-on-failure: a 451 recipient is queued alone, exit 0" {
	start_fake - <<'EOF'
REPLY RCPT#2@1 451 4.2.1 mailbox busy
EOF
	send --on-rcpt-reject continue --queue-on-failure "$T/q" bob@example.com carol@example.com <<<"x"
	assert_success
	[[ $stderr == 'smtpsend: RCPT TO:<carol@example.com>: 451 4.2.1 mailbox busy; queued as '* ]] || fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 1
	run envelope_of "$T/q/$(queued "$T/q")"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: carol@example.com'
	flush "$T/q"
	assert_success
	assert_equal "$(count_transcript 'RCPT TO:<carol@')" 2
	assert_equal "$(count_transcript 'RCPT TO:<bob@')" 1
}

@test "--flush --on-rcpt-reject continue: refused for good -> failed/, refused for now -> queued again" {
	mkdir "$T/q"
	printf 'X-Sender: ann@example.com\r\nX-Receiver: a@example.com\r\nX-Receiver: b@example.com\r\nX-Receiver: c@example.com\r\nSubject: x\r\n\r\nbody\r\n' >"$T/q/m.eml"
	touch -d '2 days ago' "$T/q/m.eml"
	start_fake - <<'EOF'
REPLY RCPT#2@1 550 5.1.1 no such user
REPLY RCPT#3@1 452 4.2.2 mailbox full
EOF
	flush "$T/q" --on-rcpt-reject continue
	assert_equal "$status" 67
	assert_line --partial 'partial m.eml: accepted for 1 of 3 recipients'
	[ ! -e "$T/q/m.eml" ]
	local again failed
	again=$T/q/$(queued "$T/q")
	run envelope_of "$again"
	assert_output $'X-Sender: ann@example.com\nX-Receiver: c@example.com'
	# --max-age still counts from the first queueing.
	[ "$(( $(date +%s) - $(stat -c %Y "$again") ))" -gt 86400 ]
	failed=$T/q/failed/$(queued "$T/q/failed")
	run envelope_of "$failed"
	assert_output $'X-Sender: ann@example.com\nX-Receiver: b@example.com'
	grep -q '^Reason: RCPT: 550 5.1.1 no such user' "${failed%.eml}.reason"
}

# With the extensions (issue 7) and AUTH (issue 4): a queued message goes
# through the same pre-flight and carries the same parameters as any other.

@test "--flush: each message is declared with its exact SIZE; one over the limit goes to failed/ before MAIL (exit 65)" {
	queue_one "$T/q" small@example.com "short"
	queue_one "$T/q" big@example.com "$(seq 1 2000)"
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES SIZE 3000
EOF
	flush "$T/q"
	assert_equal "$status" 65
	local size
	size=$(wc -c <"$DATADIR/msg-1.eml")
	assert_transcript "^C: MAIL FROM:<jane@example\\.com> SIZE=$size\$"
	assert_equal "$(count_transcript '^C: MAIL')" 1
	refute_transcript 'RCPT TO:<big@'
	assert_line --regexp '^failed .*\.eml: SIZE: the message is [0-9]+ octets and 127\.0\.0\.1 accepts at most 3000'
	assert_equal "$(count_queued "$T/q/failed")" 1
	assert_equal "$(count_queued "$T/q")" 0
}

@test "--flush: the run's DSN options go on MAIL and RCPT of every queued message" {
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME DSN
EOF
	flush "$T/q" --dsn-notify failure,delay --dsn-ret hdrs --envid q-1
	assert_success
	assert_equal "$(count_transcript '^C: MAIL FROM:<jane@example\.com> RET=HDRS ENVID=q-1$')" 2
	assert_transcript '^C: RCPT TO:<a@example\.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@example\.com$'
	assert_transcript '^C: RCPT TO:<b@example\.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example\.com$'
}

@test "--flush --require-tls: a server without REQUIRETLS gets nothing; the message goes to failed/ (exit 69)" {
	queue_one "$T/q" a@example.com
	start_fake --tls - <<'EOF'
CAPA PIPELINING 8BITMIME STARTTLS
EOF
	flush "$T/q" --cafile "$CERTS/ca.pem" --require-tls
	assert_equal "$status" 69
	assert_line --partial 'REQUIRETLS'
	refute_transcript '^C: MAIL'
	assert_equal "$(count_queued "$T/q/failed")" 1
}

@test "--queue-on-failure keeps a UTF-8 address; --flush sends it with SMTPUTF8, or fails it (65) without" {
	queue_one "$T/q" '用户@例子.测试'
	run envelope_of "$T/q/$(queued "$T/q")"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: 用户@例子.测试'
	cp -r "$T/q" "$T/q2"
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME SMTPUTF8
EOF
	flush "$T/q"
	assert_success
	assert_transcript '^C: MAIL FROM:<jane@example\.com> BODY=8BITMIME SMTPUTF8$'
	assert_transcript '^C: RCPT TO:<用户@例子\.测试>$'
	stop_servers
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME
EOF
	flush "$T/q2"
	assert_equal "$status" 65
	assert_line --partial 'does not offer SMTPUTF8'
	refute_transcript '^C: MAIL'
	assert_equal "$(count_queued "$T/q2/failed")" 1
}

@test "--flush with credentials: every connection authenticates before MAIL" {
	printf '%s\n' "$AUTH_PW" >"$T/pw"
	chmod 600 "$T/pw"
	queue_one "$T/q" a@example.com
	queue_one "$T/q" b@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME AUTH PLAIN
REPLY AUTH 235 2.7.0 Authentication successful
CLOSE DOT#1@1
EOF
	flush "$T/q" -u alice --password-file "$T/pw" --auth PLAIN
	assert_equal "$status" 75
	assert_equal "$(count_transcript '^\* CONNECT')" 2
	assert_equal "$(count_transcript '^C: AUTH PLAIN ')" 2
	assert_equal "$(ls "$DATADIR" | wc -l)" 1
	assert_equal "$(count_queued "$T/q")" 1
}

@test "--on-rcpt-reject continue: refusals keep their refined status (RFC 3463)" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY RCPT#1 552 5.3.4 message too big for this recipient
REPLY RCPT#2 550 5.1.1 no such user
EOF
	send --on-rcpt-reject continue bob@example.com carol@example.com <<<"x"
	# The first permanent refusal decides, as with abort.
	assert_equal "$status" 65
	refute_transcript '^D: '
	[[ $stderr == *'no recipient was accepted'* ]] || fail "stderr: $stderr"
	send --on-rcpt-reject abort bob@example.com carol@example.com <<<"x"
	assert_equal "$status" 65
	send --on-rcpt-reject continue bob@example.com carol@example.com dave@example.com <<<"x"
	assert_equal "$status" 67
	[[ $stderr == *'partial delivery: the message was accepted for 1 of 3'* ]] || fail "stderr: $stderr"
}
