#!/usr/bin/env bats
# Whole-message input: --raw (recipients from the arguments) and -t
# (recipients from the message's To, Cc and Bcc), -i and -oi.

load helpers/common
load helpers/mime

# A complete message with LF line ends, a leading-dot line, no Date and no
# Message-ID, a Bcc field, groups and comments in the address fields.
message() {
	cat <<'EOF'
From: =?utf-8?q?Zo=C3=AB_=C3=85ngstr=C3=B6m?= <zoe@example.com>
To: "Smith, Bob" <bob@example.com>, carol@example.com (Carol, at home)
Cc: team: dave@example.com, Erin <erin@example.com>;, undisclosed-recipients:;
Bcc: hidden@example.com,
 other-hidden@example.com
Subject: =?utf-8?q?raw_=E2=9C=93?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

.a line starting with a dot
.
..
the end
EOF
}

@test "-t: recipients from To, Cc and Bcc (groups, comments, folding); Bcc removed; Date and Message-ID added" {
	start_fake - </dev/null
	message >"$T/in.eml"
	run --separate-stderr sendto -t <"$T/in.eml"
	assert_success
	local r
	for r in bob carol dave erin hidden other-hidden; do
		assert_transcript "^C: RCPT TO:<$r@example.com>\$"
	done
	assert_equal "$(count_transcript '^C: RCPT TO:')" 6
	# Without -f the envelope sender is the message's From.
	assert_transcript '^C: MAIL FROM:<zoe@example.com>'
	run check_msg "$DATADIR/msg-1.eml" --no-header Bcc --check-date \
		--expect-header-re 'Message-ID=<[^<>@ ]+@example\.com>' \
		--expect-header 'Subject=raw ✓' \
		--expect-body $'.a line starting with a dot\n.\n..\nthe end\n'
	assert_success
	run grep -c hidden "$DATADIR/msg-1.eml"
	assert_output 0
	# Dot-stuffing on the wire is exact.
	assert_transcript '^D: \.\.a line starting with a dot$'
	assert_transcript '^D: \.\.$'
	assert_transcript '^D: \.\.\.$'
	assert_clean_transcript
}

@test "--raw: recipients from the arguments only; the message is kept as it is apart from Bcc" {
	start_fake - </dev/null
	printf 'From: a@example.com\r\nTo: listed@example.com\r\nBcc: b@example.com\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <kept@example.com>\r\nX-Custom:   odd   spacing\r\n\tand a fold\r\n\r\nbody\r\n' >"$T/in.eml"
	run --separate-stderr sendto --raw -f envelope@example.com real@example.com <"$T/in.eml"
	assert_success
	assert_transcript '^C: MAIL FROM:<envelope@example.com>'
	assert_transcript '^C: RCPT TO:<real@example.com>$'
	assert_equal "$(count_transcript '^C: RCPT TO:')" 1
	run python - "$T/in.eml" "$DATADIR/msg-1.eml" <<'EOF'
import sys
a, b = (open(f, "rb").read() for f in sys.argv[1:3])
a = a.replace(b"Bcc: b@example.com\r\n", b"")
sys.exit(0 if a == b else 1)
EOF
}

@test "-t: command-line recipients are added; a message without any recipient is a usage error" {
	start_fake - </dev/null
	printf 'From: a@example.com\nTo: x@example.com\nSubject: s\n\nbody\n' >"$T/in.eml"
	run --separate-stderr sendto -t extra@example.com <"$T/in.eml"
	assert_success
	assert_transcript '^C: RCPT TO:<x@example.com>'
	assert_transcript '^C: RCPT TO:<extra@example.com>'
	printf 'From: a@example.com\nTo: undisclosed-recipients:;\n\nbody\n' >"$T/none.eml"
	run --separate-stderr sendto -t <"$T/none.eml"
	assert_equal "$status" 64
}

@test "--raw/-t refuse composition options, and input that is not a message (65)" {
	start_fake - </dev/null
	printf 'From: a@example.com\n\nbody\n' >"$T/in.eml"
	local opt
	for opt in "-s x" "--priority high" "-H X-A:b" "--charset latin1" "--reply-to r@example.com"; do
		# shellcheck disable=SC2086 # word splitting wanted
		run --separate-stderr sendto --raw $opt bob@example.com <"$T/in.eml"
		[ "$status" -eq 64 ] || fail "--raw $opt: status $status, want 64"
	done
	printf 'just some text\nwithout headers\n' >"$T/text"
	run --separate-stderr sendto --raw bob@example.com <"$T/text"
	assert_equal "$status" 65
	python -c 'print("From: a@example.com\nX-Long: " + "x" * 1200 + "\n\nbody")' >"$T/long"
	run --separate-stderr sendto --raw bob@example.com <"$T/long"
	assert_equal "$status" 65
	printf 'From: a@example.com\nX-CR: a\rb\n\nbody\n' >"$T/cr"
	run --separate-stderr sendto --raw bob@example.com <"$T/cr"
	assert_equal "$status" 65
	refute_connected
}

@test "8-bit content: BODY=8BITMIME when the server offers it" {
	start_aiosmtpd plain
	printf 'From: a@example.com\nTo: b@example.com\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße ✓\n' >"$T/in.eml"
	deliver --raw b@example.com <"$T/in.eml"
	run msg_json "$OUT/msg-1.json" mail_options
	assert_output --partial 'BODY=8BITMIME'
	run check_msg "$MSG" --expect-body $'Grüße ✓\n'
	assert_success
}

@test "8-bit single part, server without 8BITMIME: re-encoded as quoted-printable, 7-bit on the wire" {
	start_aiosmtpd plain --no-8bitmime
	printf 'From: a@example.com\nTo: b@example.com\nSubject: cron\n\nGrüße ✓\n' >"$T/in.eml"
	deliver -t <"$T/in.eml"
	run msg_json "$OUT/msg-1.json" mail_options
	refute_output --partial 8BITMIME
	run check_msg "$MSG" --ascii-only --expect-body $'Grüße ✓\n' \
		--expect-header 'MIME-Version=1.0' \
		--expect-header-re 'Content-Type=text/plain; charset="?utf-8"?' \
		--expect-header 'Content-Transfer-Encoding=quoted-printable' \
		--expect-header 'Subject=cron'
	assert_success
}

@test "8-bit multipart, server without 8BITMIME: refused (65) before MAIL, nothing sent" {
	start_fake - <<'EOF'
CAPA PIPELINING ENHANCEDSTATUSCODES
EOF
	printf 'From: a@example.com\nTo: b@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße\n--XX--\n' >"$T/in.eml"
	run --separate-stderr sendto -t <"$T/in.eml"
	assert_equal "$status" 65
	[[ $stderr == *8BITMIME* ]] || fail "stderr: $stderr"
	refute_transcript '^C: MAIL'
	wait_transcript '^C: QUIT'
}

@test "raw lines over 998 octets: a single part is re-encoded, a multipart refused before connecting" {
	start_aiosmtpd plain
	python -c 'print("From: a@example.com\nTo: b@example.com\n\n" + "y" * 3000)' >"$T/in.eml"
	deliver --raw b@example.com <"$T/in.eml"
	run check_msg "$MSG" --expect-header 'Content-Transfer-Encoding=quoted-printable' \
		--expect-body "$(printf 'y%.0s' {1..3000})"$'\n'
	assert_success
	python -c 'print("From: a@example.com\nContent-Type: multipart/mixed; boundary=Q\n\n--Q\n\n" + "y" * 3000 + "\n--Q--")' >"$T/multi.eml"
	run --separate-stderr sendto --raw b@example.com <"$T/multi.eml"
	assert_equal "$status" 65
}

@test "-i and -oi are accepted; a lone dot in the input never ends it" {
	start_aiosmtpd plain
	printf 'first\n.\nafter the dot\n' >"$T/body"
	deliver -i -oi -f a@example.com -s dots b@example.com <"$T/body"
	run check_msg "$MSG" --expect-body-file "$T/body"
	assert_success
	run --separate-stderr smtpsend --print -f a@example.com -oq b@example.com </dev/null
	assert_equal "$status" 64
}

@test "--print -t: the message as it would be sent, CRLF, Bcc gone" {
	message | smtpsend --print -t >"$T/m.eml"
	run check_msg "$T/m.eml" --no-header Bcc --expect-header 'Subject=raw ✓'
	assert_success
	run grep -c $'[^\r]$' "$T/m.eml"
	assert_output 0
}
