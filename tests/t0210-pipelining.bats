#!/usr/bin/env bats
# PIPELINING (RFC 2920) and CHUNKING (RFC 3030) on the wire.  The scripted
# server logs every chunk of octets it receives ("* read N", SHOWREADS), so
# each case shows which commands left in one write, which waited for a
# reply, and what a refusal in the middle of a group leads to.

load helpers/common

send() {
	run --separate-stderr sendto -f jane@example.com "$@"
}

# The commands of the session grouped by the read that brought them, one
# group per line: "MAIL RCPT RCPT DATA".  Message lines are not shown.
groups() {
	awk '
		/^\* read / { if (g != "") print g; g = ""; next }
		/^C: / { split(substr($0, 4), w, " "); if (w[1] == ".") next
			g = (g == "" ? "" : g " ") w[1] (w[1] == "BDAT" ? "(" w[2] (w[3] != "" ? "," w[3] : "") ")" : "") }
		END { if (g != "") print g }
	' "$TRANSCRIPT"
}

stored() {
	ls -A "$DATADIR" 2>/dev/null | wc -l
}

# ------------------------------------------------------------ PIPELINING

@test "PIPELINING: MAIL, every RCPT and DATA leave in one write" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
EOF
	send -s p a@example.com b@example.com c@example.com <<<'pipelined'
	assert_success
	wait_transcript '^C: QUIT$'
	run groups
	assert_line --index 1 'MAIL RCPT RCPT RCPT DATA'
	assert_clean_transcript
	[ "$(stored)" = 1 ]
	grep -q '^pipelined' "$DATADIR/msg-1.eml"
}

@test "without PIPELINING every command waits for its reply" {
	start_fake - <<'EOF'
SHOWREADS
CAPA 8BITMIME ENHANCEDSTATUSCODES
EOF
	send -s p a@example.com b@example.com <<<'one by one'
	assert_success
	wait_transcript '^C: QUIT$'
	run groups
	assert_line --index 1 'MAIL'
	assert_line --index 2 'RCPT'
	assert_line --index 3 'RCPT'
	assert_line --index 4 'DATA'
	assert_clean_transcript
	[ "$(stored)" = 1 ]
}

@test "PIPELINING: one recipient refused (abort): DATA's 354 is answered by hanging up, nothing delivered (67)" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY RCPT#2 550 5.1.1 <b@example.com>: no such user
EOF
	send -s p a@example.com b@example.com c@example.com <<<'must not go'
	assert_equal "$status" 67
	[[ $stderr == *'b@example.com'*'no such user'* ]] || fail "stderr: $stderr"
	wait_transcript '^\* DISCONNECT 1'
	run groups
	assert_line --index 1 'MAIL RCPT RCPT RCPT DATA'
	refute_transcript '^D: '
	refute_transcript '^C: \.$'
	[ "$(stored)" = 0 ]
}

@test "PIPELINING: one recipient refused with --on-rcpt-reject continue: the others get it (67, partial)" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY RCPT#2 550 5.1.1 <b@example.com>: no such user
EOF
	send --on-rcpt-reject continue -s p a@example.com \
		b@example.com c@example.com <<<'partial'
	assert_equal "$status" 67
	[[ $stderr == *'b@example.com'* ]] || fail "stderr: $stderr"
	wait_transcript '^C: QUIT$'
	run groups
	assert_line --index 1 'MAIL RCPT RCPT RCPT DATA'
	[ "$(stored)" = 1 ]
	assert_clean_transcript
}

@test "PIPELINING: every recipient refused: DATA is refused too, no text sent, QUIT (67)" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY RCPT 550 5.1.1 no such user
EOF
	send -s p a@example.com b@example.com <<<'nobody'
	assert_equal "$status" 67
	wait_transcript '^C: QUIT$'
	assert_transcript '^S: 554 '
	refute_transcript '^D: '
	[ "$(stored)" = 0 ]
}

@test "PIPELINING: MAIL refused: the pipelined RCPT and DATA replies are read, QUIT follows (75)" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY MAIL 451 4.3.0 try again later
EOF
	send -s p a@example.com <<<'later'
	assert_equal "$status" 75
	[[ $stderr == *'451 4.3.0 try again later'* ]] || fail "stderr: $stderr"
	wait_transcript '^C: QUIT$'
	assert_transcript '^S: 221 '
	refute_transcript '^D: '
}

# -------------------------------------------------------------- CHUNKING

@test "CHUNKING, one recipient: MAIL, RCPT, 'BDAT n LAST' with the message, and QUIT in one write" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME CHUNKING SIZE ENHANCEDSTATUSCODES
EOF
	printf 'line one\n.a line starting with a dot\n..two dots\n' >"$T/in"
	send -s chunks a@example.com <"$T/in"
	assert_success
	wait_transcript '^C: QUIT$'
	run groups
	assert_line --index 1 --regexp '^MAIL RCPT BDAT\([0-9]+,LAST\) QUIT$'
	refute_transcript '^C: DATA'
	assert_clean_transcript
	# No dot-stuffing with BDAT: the lines arrive as they are, and the
	# chunk size, the SIZE declared and the octets stored all agree.
	grep -q '^\.a line starting with a dot' "$DATADIR/msg-1.eml"
	grep -q '^\.\.two dots' "$DATADIR/msg-1.eml"
	local n size
	n=$(sed -n 's/^C: BDAT \([0-9]*\) LAST$/\1/p' "$TRANSCRIPT")
	size=$(sed -n 's/^C: MAIL .* SIZE=\([0-9]*\).*/\1/p' "$TRANSCRIPT")
	[ "$n" = "$(stat -c %s "$DATADIR/msg-1.eml")" ]
	[ "$n" = "$size" ]
}

@test "CHUNKING, two recipients: the first chunk goes with the envelope, LAST only after both are accepted" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
EOF
	send -s chunks a@example.com b@example.com <<<'two'
	assert_success
	wait_transcript '^C: QUIT$'
	run groups
	assert_line --index 1 --regexp '^MAIL RCPT RCPT BDAT\([0-9]+\)$'
	assert_line --index 2 'BDAT(0,LAST) QUIT'
	[ "$(stored)" = 1 ]
	grep -q '^two' "$DATADIR/msg-1.eml"
}

@test "CHUNKING, a recipient refused (abort): no LAST, nothing delivered (67)" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
REPLY RCPT#1 550 5.1.1 <a@example.com>: no such user
EOF
	send -s chunks a@example.com b@example.com <<<'not for a'
	assert_equal "$status" 67
	[[ $stderr == *'a@example.com'* ]] || fail "stderr: $stderr"
	wait_transcript '^C: QUIT$'
	refute_transcript 'LAST'
	[ "$(stored)" = 0 ]
	assert_clean_transcript
}

@test "CHUNKING: a 3 MiB message goes in 1 MiB chunks, the last marked LAST, byte for byte" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
EOF
	yes 'the quick brown fox jumps over the lazy dog 0123456789' |
		head -n 60000 >"$T/body"
	send -s big --body-file "$T/body" a@example.com
	assert_success
	wait_transcript '^C: QUIT$'
	local sizes total
	sizes=$(sed -n 's/^C: BDAT \([0-9]*\).*/\1/p' "$TRANSCRIPT")
	[ "$(echo "$sizes" | wc -l)" -ge 4 ] || fail "chunks: $sizes"
	for n in $sizes; do
		[ "$n" -le 1048576 ] || fail "chunk of $n octets"
	done
	total=$(echo "$sizes" | paste -sd+ | bc)
	[ "$total" = "$(stat -c %s "$DATADIR/msg-1.eml")" ]
	[ "$(grep -c '^C: BDAT .* LAST$' "$TRANSCRIPT")" = 1 ]
	# The body is the input with CRLF line ends.
	sed 's/$/\r/' "$T/body" >"$T/body.crlf"
	tail -c "$(stat -c %s "$T/body.crlf")" "$DATADIR/msg-1.eml" |
		cmp - "$T/body.crlf"
}

@test "CHUNKING: a chunk refused in the middle fails the message, nothing delivered" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
REPLY BDAT#2 552 5.3.4 message too big for system
EOF
	head -c 6M /dev/zero | tr '\0' 'x' | fold -w 100 >"$T/body"
	send -s big --body-file "$T/body" a@example.com
	assert_failure
	[[ $stderr == *'552 5.3.4'* ]] || fail "stderr: $stderr"
	wait_transcript '^C: QUIT$'
	# Chunks already in the pipeline may follow (the server discards
	# them, RFC 3030 section 4.1); what matters is that nothing is kept.
	[ "$(stored)" = 0 ]
	assert_transcript '^S: 552 5.3.4'
}

@test "CHUNKING without PIPELINING: each chunk waits for its reply" {
	start_fake - <<'EOF'
SHOWREADS
CAPA 8BITMIME CHUNKING ENHANCEDSTATUSCODES
EOF
	yes 'line of text for a two-chunk message, sixty octets or so..' |
		head -c 1500000 >"$T/body"
	send -s big --body-file "$T/body" a@example.com
	assert_success
	wait_transcript '^C: QUIT$'
	assert_clean_transcript
	run groups
	assert_line --index 1 'MAIL'
	assert_line --index 2 'RCPT'
	assert_line --index 3 --regexp '^BDAT\([0-9]+\)$'
	assert_line --index 4 --regexp '^BDAT\([0-9]+,LAST\)$'
	[ "$(stored)" = 1 ]
}

@test "CHUNKING: bare LF and lone CR become CRLF; a queued line over 998 octets is refused before MAIL (65)" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
EOF
	printf 'From: jane@example.com\nSubject: ends\n\nunix line\nold mac line\rcrlf line\r\n' >"$T/in"
	send --raw a@example.com <"$T/in"
	assert_success
	grep -q $'^unix line\r$' "$DATADIR/msg-1.eml"
	grep -q $'^old mac line\r$' "$DATADIR/msg-1.eml"
	grep -q $'^crlf line\r$' "$DATADIR/msg-1.eml"
	stop_servers
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
EOF
	# A queued file is sent as it is: the first chunk is filled before
	# MAIL, so its over-long line stops everything before MAIL.
	mkdir -m 700 "$T/q"
	{ printf 'X-Sender: jane@example.com\r\nX-Receiver: a@example.com\r\n'
	  printf 'From: jane@example.com\r\nSubject: long\r\n\r\n'
	  head -c 2000 /dev/zero | tr '\0' 'y'; printf '\r\n'; } \
		>"$T/q/20260101T000000Z-1-1.eml"
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PORT" \
		--timeout 10 --flush "$T/q"
	assert_equal "$status" 65
	[[ $output == *'998'* ]] || fail "output: $output"
	wait_transcript '^C: QUIT$'
	refute_transcript '^C: (MAIL|BDAT)'
	[ -f "$T/q/failed/20260101T000000Z-1-1.eml" ]
}

@test "--no-chunking sends with DATA although the server offers CHUNKING" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
EOF
	send --no-chunking -s p a@example.com <<<'data please'
	assert_success
	wait_transcript '^C: QUIT$'
	run groups
	assert_line --index 1 'MAIL RCPT DATA'
	refute_transcript '^C: BDAT'
	[ "$(stored)" = 1 ]
}

@test "CHUNKING: a refusal of BDAT LAST is the verdict: its text on stderr, nothing stored" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
REPLY DOT 554 5.7.1 message refused by policy
EOF
	send -s p a@example.com <<<'refused'
	assert_failure
	[[ $stderr == *'554 5.7.1 message refused by policy'* ]] ||
		fail "stderr: $stderr"
	wait_transcript '^C: QUIT$'
	[ "$(stored)" = 0 ]
}

# ------------------------------------------------------ many per connection

# pickup DIR RCPT...: write one message per recipient into DIR.
pickup() {
	local dir=$1 rcpt
	shift
	for rcpt in "$@"; do
		run --separate-stderr smtpsend --pickup-dir "$dir" \
			-f jane@example.com -s "to $rcpt" "$rcpt" <<<"for $rcpt"
		assert_success
		sleep 0.01	# distinct, ordered names
	done
}

flush_queue() {
	local q=$1
	shift
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PORT" \
		--timeout 10 "$@" --flush "$q"
}

@test "--flush over CHUNKING: one connection, one write per message, no RSET" {
	pickup "$T/q" a@example.com b@example.com c@example.com
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
EOF
	flush_queue "$T/q"
	assert_success
	wait_transcript '^C: QUIT$'
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	assert_equal "$(count_transcript '^C: RSET')" 0
	run groups
	assert_line --index 1 --regexp '^MAIL RCPT BDAT\([0-9]+,LAST\)$'
	assert_line --index 2 --regexp '^MAIL RCPT BDAT\([0-9]+,LAST\)$'
	assert_line --index 3 --regexp '^MAIL RCPT BDAT\([0-9]+,LAST\)$'
	assert_line --index 4 'QUIT'
	grep -q '^for a@example.com' "$DATADIR/msg-1.eml"
	grep -q '^for c@example.com' "$DATADIR/msg-3.eml"
	assert_clean_transcript
}

@test "--flush over CHUNKING: RSET only after the refused message, the others delivered" {
	pickup "$T/q" a@example.com b@example.com c@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
REPLY RCPT#2 550 5.1.1 no such user
EOF
	flush_queue "$T/q"
	assert_equal "$status" 67
	wait_transcript '^C: QUIT$'
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	assert_equal "$(count_transcript '^C: RSET')" 1
	# RSET comes right after the refused transaction, before the third.
	run grep -E '^C: (MAIL|RSET)' "$TRANSCRIPT"
	assert_line --index 2 'C: RSET'
	[ "$(stored)" = 2 ]
	grep -q '^for c@example.com' "$DATADIR/msg-2.eml"
}

@test "--flush over CHUNKING: a server that keeps a refused transaction open: RSET first, nothing joins it" {
	pickup "$T/q" a@example.com b@example.com c@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME CHUNKING ENHANCEDSTATUSCODES
STICKYMAIL
REPLY RCPT#2 550 5.1.1 no such user
EOF
	flush_queue "$T/q"
	assert_equal "$status" 67
	wait_transcript '^C: QUIT$'
	assert_equal "$(count_transcript '^!SEQUENCE')" 0
	run grep -E '^C: (MAIL|RSET)' "$TRANSCRIPT"
	assert_line --index 2 'C: RSET'
	assert_line --index 3 'C: MAIL FROM:<jane@example.com>'
	# c once, with its own recipient.
	[ "$(stored)" = 2 ]
	grep -q '^for c@example.com' "$DATADIR/msg-2.eml"
	assert_equal "$(count_transcript '^C: RCPT TO:<c@example.com>')" 1
}

# The client's protocol log (-v): the line number of the N-th line that
# holds TEXT.
logline() {
	grep -n -F -- "$1" <<<"$stderr" | sed -n "$2p" | cut -d: -f1
}

@test "--flush over PIPELINING without CHUNKING: a message's final dot and the next MAIL, RCPT and DATA in one write" {
	pickup "$T/q" a@example.com b@example.com c@example.com
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
DELAY DOT#1 0.3
EOF
	flush_queue "$T/q" -v
	assert_success
	local report=$output
	wait_transcript '^C: QUIT$'
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	assert_equal "$(count_transcript '^C: RSET')" 0
	run groups
	assert_line --index 1 'MAIL RCPT DATA'
	assert_line --index 2 'MAIL RCPT DATA'
	assert_line --index 3 'MAIL RCPT DATA'
	assert_line --index 4 QUIT
	# Each final dot came in the same read as the next message's MAIL.
	run awk '/^\* read /{n++} /^C: \.$/{d=n} /^C: MAIL/{if (d) print (d == n)}' "$TRANSCRIPT"
	assert_output $'1\n1'
	# The client wrote the next message's commands before it read the
	# verdict on the one before (its -v log), yet reports in queue order.
	local mail2 verdict1 mail3 verdict2
	mail2=$(logline '--> MAIL FROM:<jane@example.com>' 2)
	verdict1=$(logline '<-- 250 2.0.0 Ok: queued as 1' 1)
	mail3=$(logline '--> MAIL FROM:<jane@example.com>' 3)
	verdict2=$(logline '<-- 250 2.0.0 Ok: queued as 2' 1)
	[ "$mail2" -lt "$verdict1" ] || fail "MAIL 2 at $mail2, verdict 1 at $verdict1"
	[ "$mail3" -lt "$verdict2" ] || fail "MAIL 3 at $mail3, verdict 2 at $verdict2"
	run echo "$report"
	assert_line --index 0 --regexp '^sent .*: 1 recipient: 250 2\.0\.0 Ok: queued as 1$'
	assert_line --index 1 --regexp '^sent .*queued as 2$'
	assert_line --index 2 --regexp '^sent .*queued as 3$'
	[ "$(stored)" = 3 ]
	grep -q '^for a@example.com' "$DATADIR/msg-1.eml"
	grep -q '^for b@example.com' "$DATADIR/msg-2.eml"
	grep -q '^for c@example.com' "$DATADIR/msg-3.eml"
	[ -z "$(ls "$T/q" | grep '\.eml$')" ]
	assert_clean_transcript
}

@test "--flush over PIPELINING without CHUNKING: a refused end of data with the next message behind it" {
	pickup "$T/q" a@example.com b@example.com c@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY DOT#2 554 5.7.1 content refused
EOF
	flush_queue "$T/q"
	assert_equal "$status" 69
	wait_transcript '^C: QUIT$'
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	assert_equal "$(count_transcript '^C: RSET')" 0
	assert_equal "$(count_transcript '^!SEQUENCE')" 0
	[ "$(stored)" = 2 ]
	grep -q '^for c@example.com' "$DATADIR/msg-2.eml"
	assert_line --index 0 --regexp '^sent '
	assert_line --index 1 --regexp '^failed .*554 5\.7\.1 content refused'
	assert_line --index 2 --regexp '^sent '
	grep -q 'for b@example.com' "$T/q/failed/"*.eml
}

@test "--flush over PIPELINING without CHUNKING: 421 to a message with the next one behind it: that one goes on a new connection" {
	pickup "$T/q" a@example.com b@example.com c@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY DOT#2@1 421 4.3.2 shutting down
EOF
	flush_queue "$T/q"
	assert_equal "$status" 75
	wait_transcript '^\* DISCONNECT 2'
	assert_equal "$(count_transcript '^\* CONNECT')" 2
	# a on the first connection, c on the second; b is refused for now.
	[ "$(stored)" = 2 ]
	grep -q '^for a@example.com' "$DATADIR/msg-1.eml"
	grep -q '^for c@example.com' "$DATADIR/msg-2.eml"
	assert_line --index 0 --regexp '^sent '
	assert_line --index 1 --regexp '^deferred .*421 4\.3\.2 shutting down'
	assert_line --index 2 --regexp '^sent '
	assert_equal "$(ls "$T/q" | grep -c '\.eml$')" 1
	grep -q 'for b@example.com' "$T/q/"*.eml
	# The first server hung up without reading c's commands: c went once.
	assert_equal "$(count_transcript '^C: RCPT TO:<c@example.com>')" 1
}

@test "--flush over PIPELINING without CHUNKING: the connection drops after the final dot with the next message behind it" {
	pickup "$T/q" a@example.com b@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
CLOSE DOT#1@1
EOF
	flush_queue "$T/q"
	assert_equal "$status" 75
	wait_transcript '^\* DISCONNECT 2'
	# a: its verdict never came, so it stays queued (the server may have
	# it); b, whose commands were behind it, goes on a new connection.
	assert_line --index 0 --regexp '^deferred .*the server may have it already'
	assert_line --index 1 --regexp '^sent '
	[ "$(stored)" = 1 ]
	grep -q '^for b@example.com' "$DATADIR/msg-1.eml"
	grep -q 'for a@example.com' "$T/q/"*.eml
}

@test "--flush over PIPELINING without CHUNKING: a message refused before MAIL (SIZE) between two; the verdict due before it is still read" {
	pickup "$T/q" a@example.com
	run --separate-stderr smtpsend --pickup-dir "$T/q" -f jane@example.com \
		-s big b@example.com < <(head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70)
	assert_success
	sleep 0.01
	pickup "$T/q" c@example.com
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES SIZE 2000
EOF
	flush_queue "$T/q"
	assert_equal "$status" 65
	wait_transcript '^C: QUIT$'
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	assert_line --index 0 --regexp '^sent '
	assert_line --index 1 --regexp '^failed .*SIZE'
	assert_line --index 2 --regexp '^sent '
	[ "$(stored)" = 2 ]
	assert_equal "$(count_transcript '^C: RCPT TO:<b@example.com>')" 0
	assert_clean_transcript
}

@test "PIPELINING: QUIT leaves with the final dot of a single message; the verdict is still read first" {
	start_fake - <<'EOF'
SHOWREADS
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
REPLY DOT 554 5.7.1 refused by policy
EOF
	send -s p a@example.com <<<'quit behind'
	assert_equal "$status" 69
	[[ $stderr == *'554 5.7.1 refused by policy'* ]] || fail "stderr: $stderr"
	wait_transcript '^S: 221 '
	# The message lines, the dot and QUIT came in one read.
	run awk '/^\* read /{n++} /^C: QUIT$/{print n} /^D: quit behind$/{print n}' "$TRANSCRIPT"
	assert_equal "${lines[0]}" "${lines[1]}"
	assert_clean_transcript
}

@test "without PIPELINING, QUIT waits for the verdict" {
	start_fake - <<'EOF'
SHOWREADS
CAPA 8BITMIME ENHANCEDSTATUSCODES
EOF
	send -s p a@example.com <<<'quit after'
	assert_success
	wait_transcript '^S: 221 '
	run groups
	assert_line --index 3 DATA
	assert_line --index 4 QUIT
	assert_clean_transcript
}
