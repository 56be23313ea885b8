#!/usr/bin/env bats
# The SMTP session: envelope, replies, failures at each phase and their exit
# statuses, QUIT, HELO fallback, trace and quiet modes.

load helpers/common

# send ARGS... (stdin: body) with the usual sender, output split.
send() {
	run --separate-stderr sendto -f jane@example.com "$@"
}

@test "plain delivery to aiosmtpd on loopback (--tls auto falls back to clear when STARTTLS is absent)" {
	start_aiosmtpd plain
	send -s 'hello' bob@example.com <<<"first message"
	assert_success
	assert_output ''
	run check_msg "$OUT/msg-1.eml" --expect-header 'Subject=hello' --expect-body $'first message\n'
	assert_success
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'jane@example.com'
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.com"]'
	run msg_json "$OUT/msg-1.json" tls
	assert_output false
	[ ! -e "$OUT/msg-2.eml" ]
}

@test "envelope: every --to, --cc, --bcc and positional recipient, display names stripped" {
	start_aiosmtpd plain
	send --to 'Bob Ü <bob@example.com>' -c 'Carol <carol@example.com>' \
		-b dave@example.com --bcc erin@example.com frank@example.com <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	run python -c 'import json,sys; print(" ".join(sorted(json.loads(sys.argv[1]))))' "$output"
	assert_output 'bob@example.com carol@example.com dave@example.com erin@example.com frank@example.com'
	run check_msg "$OUT/msg-1.eml" --no-header Bcc
	assert_success
	run grep -c -e dave@ -e erin@ "$OUT/msg-1.eml"
	assert_output 0
}

@test "-f with a display name: MAIL FROM gets the bare address" {
	start_aiosmtpd plain
	run --separate-stderr sendto -f 'Jane Ø Clayton <jane@example.com>' bob@example.com <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'jane@example.com'
}

@test "--envelope-from changes MAIL FROM only, not the From header" {
	start_aiosmtpd plain
	send --envelope-from bounces@lists.example.com bob@example.com <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'bounces@lists.example.com'
	run check_msg "$OUT/msg-1.eml" --expect-header 'From=jane@example.com'
	assert_success
}

@test "multi-line replies at every step are read whole" {
	start_fake "$SCRIPTS/multiline-replies.fake"
	send -s x bob@example.com <<<"body"
	assert_success
	[ -s "$DATADIR/msg-1.eml" ]
	assert_clean_transcript
	assert_transcript '^C: QUIT$'
}

@test "a clean session: exact commands, QUIT last, no protocol violations" {
	start_fake - </dev/null
	send -s x bob@example.com carol@example.com <<<"body"
	assert_success
	assert_clean_transcript
	assert_transcript '^C: EHLO '
	assert_transcript '^C: MAIL FROM:<jane@example\.com>'
	assert_transcript '^C: RCPT TO:<bob@example\.com>$'
	assert_transcript '^C: RCPT TO:<carol@example\.com>$'
	assert_transcript '^C: DATA$'
	run bash -c "grep '^C: ' '$TRANSCRIPT' | tail -n 1"
	assert_output 'C: QUIT'
	assert_equal "$(count_transcript '^\* CONNECT')" 1
}

@test "no PIPELINING offered: the client waits for every reply" {
	start_fake - <<'EOF'
CAPA 8BITMIME ENHANCEDSTATUSCODES
EOF
	send -s x bob@example.com carol@example.com dave@example.com <<<"body"
	assert_success
	assert_clean_transcript
	[ -s "$DATADIR/msg-1.eml" ]
}

@test "421 greeting: exit 75, reply shown, no MAIL" {
	start_fake - <<'EOF'
REPLY GREETING 421 4.3.2 fake.test too busy, try later
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 75
	[[ $stderr == *'421 4.3.2 fake.test too busy'* ]] || fail "stderr: $stderr"
	refute_transcript '^C: MAIL'
}

@test "451 to MAIL: exit 75, the reply on stderr, QUIT sent" {
	start_fake - <<'EOF'
REPLY MAIL 451 4.3.0 local error, try again
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 75
	[[ $stderr == smtpsend:*'451 4.3.0 local error, try again'* ]] || fail "stderr: $stderr"
	# DATA went in the pipelined group and was refused: no text follows.
	refute_transcript '^D: '
	assert_transcript '^C: QUIT$'
	[ ! -e "$DATADIR/msg-1.eml" ]
}

@test "550 to RCPT: exit 67, 'smtpsend: RCPT TO:<bob@example.com>: 550 ...', no DATA" {
	start_fake - <<'EOF'
CAPA 8BITMIME ENHANCEDSTATUSCODES
REPLY RCPT 550 5.1.1 <bob@example.com>: no such user
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 67
	assert_equal "$stderr" 'smtpsend: RCPT TO:<bob@example.com>: 550 5.1.1 <bob@example.com>: no such user'
	refute_transcript '^D: '
	assert_transcript '^C: QUIT$'
	[ ! -e "$DATADIR/msg-1.eml" ]
}

@test "550 to RCPT with PIPELINING: exit 67, no message content sent" {
	start_fake - <<'EOF'
REPLY RCPT 550 5.1.1 no such user
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 67
	[[ $stderr == *'RCPT TO:<bob@example.com>: 550 5.1.1 no such user'* ]] || fail "stderr: $stderr"
	refute_transcript '^D: '
	[ ! -e "$DATADIR/msg-1.eml" ]
}

@test "554 to MAIL: exit 69" {
	start_fake - <<'EOF'
REPLY MAIL 554 5.7.1 sender rejected
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *'554 5.7.1 sender rejected'* ]] || fail "stderr: $stderr"
}

@test "554 to the end of data: exit 69, reply shown" {
	start_fake - <<'EOF'
REPLY DOT 554 5.7.1 message content rejected
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *'554 5.7.1 message content rejected'* ]] || fail "stderr: $stderr"
	[ ! -e "$DATADIR/msg-1.eml" ]
}

@test "452 to the end of data: exit 75" {
	start_fake - <<'EOF'
REPLY DOT 452 4.3.1 insufficient system storage
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 75
}

@test "server replies are sanitised: control characters do not reach the terminal" {
	start_fake - <<'EOF'
REPLY MAIL 550 5.7.1 bad\x1b[31m red \x07 bell
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr != *$'\e'* && $stderr != *$'\a'* ]] || fail "control characters in stderr: $(printf %q "$stderr")"
	[[ $stderr == *'550 5.7.1 bad'* ]] || fail "stderr: $stderr"
}

@test "garbage instead of a reply: exit 76" {
	start_fake - <<'EOF'
GARBAGE MAIL
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 76
	refute_transcript '^D: '
}

@test "garbage instead of the greeting: exit 76" {
	start_fake - <<'EOF'
GARBAGE GREETING
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 76
	refute_transcript '^C: MAIL'
}

@test "a 5000-octet reply line: exit 76" {
	start_fake - <<'EOF'
LONGLINE MAIL 5000
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 76
	refute_transcript '^D: '
}

@test "connection dropped after the data: exit 75, nothing stored, no second attempt" {
	start_fake - <<'EOF'
CLOSE DOT
EOF
	send -s x bob@example.com <<<"only once"
	assert_equal "$status" 75
	[[ $stderr == *'end of data'* ]] || fail "stderr does not name the phase: $stderr"
	assert_transcript '^D: only once$'
	[ -z "$(ls -A "$DATADIR")" ] || fail "server stored a message: $(ls "$DATADIR")"
	sleep 0.3
	assert_equal "$(count_transcript '^\* CONNECT')" 1
}

@test "connection dropped right after the greeting: exit 75" {
	start_fake - <<'EOF'
CLOSE EHLO
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 75
}

@test "connection refused: exit 75, phase 'connect'" {
	PORT=$(closed_port)
	send bob@example.com <<<"x"
	assert_equal "$status" 75
	[[ $stderr == *connect* ]] || fail "stderr: $stderr"
}

@test "EHLO refused with 502: falls back to HELO and delivers" {
	start_fake - <<'EOF'
REPLY EHLO 502 5.5.2 EHLO not implemented
EOF
	send -s x bob@example.com <<<"plain ascii"
	assert_success
	assert_transcript '^C: HELO '
	assert_transcript '^C: MAIL FROM:<jane@example\.com>$'
	[ -s "$DATADIR/msg-1.eml" ]
}

@test "after HELO (no extensions) a UTF-8 body goes as quoted-printable, MAIL has no BODY=" {
	start_fake - <<'EOF'
REPLY EHLO 500 5.5.1 command unrecognized
EOF
	send -s x bob@example.com <<<"Grüße"
	assert_success
	refute_transcript '^C: MAIL .*BODY='
	run check_msg "$DATADIR/msg-1.eml" --ascii-only --expect-body $'Grüße\n'
	assert_success
}

@test "--helo NAME is what EHLO says" {
	start_fake - </dev/null
	send --helo client.example.org bob@example.com <<<"x"
	assert_success
	assert_transcript '^C: EHLO client\.example\.org$'
}

@test "default EHLO name is not 'localhost' (the FQDN, or an address literal)" {
	start_fake - </dev/null
	send bob@example.com <<<"x"
	assert_success
	local name fqdn
	name=$(sed -n 's/^C: EHLO //p' "$TRANSCRIPT" | head -n 1)
	[ -n "$name" ] || fail "no EHLO in transcript"
	[ "$name" != localhost ] || fail "EHLO localhost"
	fqdn=$(hostname -f 2>/dev/null || hostname)
	if [ -n "$fqdn" ] && [ "$fqdn" != localhost ] && [[ $name != \[* ]]; then
		assert_equal "$name" "$fqdn"
	fi
}

@test "-v: the protocol trace goes to stderr with --> and <-- prefixes" {
	start_fake - </dev/null
	send -v -s x bob@example.com <<<"x"
	assert_success
	assert_output ''
	[[ $stderr == *'<-- 220 '* ]] || fail "no greeting in trace: $stderr"
	[[ $stderr == *'--> EHLO '* ]] || fail "no EHLO in trace: $stderr"
	[[ $stderr == *'--> MAIL FROM:<jane@example.com>'* ]] || fail "no MAIL in trace: $stderr"
	[[ $stderr == *'--> RCPT TO:<bob@example.com>'* ]] || fail "no RCPT in trace: $stderr"
	[[ $stderr == *'<-- 250 2.0.0 Ok: queued as 1'* ]] || fail "no queue id in trace: $stderr"
	[[ $stderr == *'--> QUIT'* ]] || fail "no QUIT in trace: $stderr"
}

@test "-q: a successful send prints nothing at all" {
	start_aiosmtpd plain
	send -q -s x bob@example.com <<<"x"
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
}

@test "-q: errors are still reported" {
	start_fake - <<'EOF'
REPLY RCPT 550 5.1.1 no such user
EOF
	send -q bob@example.com <<<"x"
	assert_equal "$status" 67
	[[ $stderr == *'550 5.1.1 no such user'* ]] || fail "stderr: $stderr"
}

@test "--tls none never tries STARTTLS even when it is offered" {
	start_fake --tls - </dev/null
	send --tls none bob@example.com <<<"x"
	assert_success
	refute_transcript '^C: STARTTLS'
	[ -s "$DATADIR/msg-1.eml" ]
}

@test "--host localhost reaches a server on 127.0.0.1 (tries every address)" {
	start_aiosmtpd plain
	run --separate-stderr smtpsend --host localhost --port "$PORT" --timeout 10 \
		-f jane@example.com bob@example.com <<<"x"
	assert_success
	[ -s "$OUT/msg-1.eml" ]
}
