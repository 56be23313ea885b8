#!/usr/bin/env bats
# Nothing lost, whatever the message: the queue and pickup paths (design.md
# section 6) with MIME composition and whole-message input (section 2).
# A queued or picked-up file must hold the complete message, attachments
# included, so that what --flush delivers later is what a direct send
# would have delivered.

load helpers/common
load helpers/mime

# queue_down DIR ARGS... (stdin: the body or message): a send whose server
# is down, with --queue-on-failure DIR; it must exit 0 and queue one file.
queue_down() {
	local dir=$1
	shift
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$(closed_port)" \
		--timeout 5 --queue-on-failure "$dir" "$@"
	assert_success
	[[ $stderr == *"queued as $dir/"* ]] || fail "not queued: $stderr"
	assert_equal "$(count_queued "$dir")" 1
	assert_no_partial "$dir"
}

# flush_to DIR [ARGS...]: --flush DIR against the running server.
flush_to() {
	local dir=$1
	shift
	run --separate-stderr sendto --flush "$dir" "$@"
}

# message_of FILE OUT: the message in a queue file, without its envelope.
message_of() {
	sed '/^X-\(Sender\|Receiver\): /d' "$1" >"$2"
}

# envelope_of FILE: the envelope lines of a queue file, without CRs.
envelope_of() {
	sed -n '/^X-\(Sender\|Receiver\): /{s/\r$//;p;b};q' "$1"
}

# normalise IN OUT: the message with what differs from run to run (Date,
# Message-ID, MIME boundaries) replaced by placeholders; boundaries are
# numbered in order of appearance, so the structure is still compared.
normalise() {
	python - "$1" "$2" <<'EOF'
import re, sys
data = open(sys.argv[1], "rb").read()
data = re.sub(rb"(?m)^Date: [^\r\n]*", b"Date: D", data)
data = re.sub(rb"(?m)^Message-ID: [^\r\n]*", b"Message-ID: M", data)
seen = {}
def number(m):
    return seen.setdefault(m.group(0), b"=_B%d" % (len(seen) + 1))
data = re.sub(rb"=_[0-9a-z]{24}", number, data)
open(sys.argv[2], "wb").write(data)
EOF
}

# The parts used by the composed-message tests.
make_parts() {
	mkbin "$T/data.bin" 150000
	printf 'id,name\n1,Zoe\n' >"$T/table.csv"
	mkbin "$T/logo.png" 3000
	printf '<p>Report <img src="cid:logo.png"></p>\n' >"$T/page.html"
	MIME_ARGS=(-f jane@example.com -s 'Q3 report' --html "$T/page.html"
		--inline "$T/logo.png" -a "$T/data.bin" -a "$T/table.csv"
		-H 'X-Report: q3' --reply-to desk@example.com --priority high)
	TREE='multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/octet-stream,text/csv)'
}

@test "attachments queued on failure, then flushed: the queued bytes arrive, and match a direct send" {
	make_parts
	local sum_data sum_logo
	sum_data=$(sha "$T/data.bin")
	sum_logo=$(sha "$T/logo.png")
	queue_down "$T/q" "${MIME_ARGS[@]}" bob@example.com <<<"see attached"
	local f=$T/q/$(queued "$T/q")
	run envelope_of "$f"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: bob@example.com'
	message_of "$f" "$T/queued.eml"
	# The file holds everything: the attachments may go away now.
	mv "$T/data.bin" "$T/data.keep"
	rm "$T/logo.png"
	start_aiosmtpd plain
	flush_to "$T/q"
	assert_success
	assert_equal "$(count_queued "$T/q")" 0
	cmp "$OUT/msg-1.eml" "$T/queued.eml" || fail "the flushed message is not the queued one"
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.com"]'
	assert_tree "$OUT/msg-1.eml" "$TREE"
	assert_equal "$(part_field "$OUT/msg-1.eml" 3 9)" "$sum_logo"
	assert_equal "$(part_field "$OUT/msg-1.eml" 4 9)" "$sum_data"
	assert_equal "$(part_field "$OUT/msg-1.eml" 5 9)" "$(sha "$T/table.csv")"
	# The same command sent directly: equal but for Date, Message-ID and
	# the boundaries, which are new for every message.
	mv "$T/data.keep" "$T/data.bin"
	mkbin "$T/logo.png" 3000
	cp "$OUT/msg-1.eml" "$T/flushed.eml"
	stop_servers
	start_aiosmtpd plain
	run --separate-stderr sendto "${MIME_ARGS[@]}" bob@example.com <<<"see attached"
	assert_success
	wait_for_file "$OUT/msg-1.json" 10 || fail "no message delivered"
	normalise "$T/flushed.eml" "$T/a.eml"
	normalise "$OUT/msg-1.eml" "$T/b.eml"
	diff "$T/a.eml" "$T/b.eml" || fail "direct and queued-then-flushed messages differ"
}

@test "--queue-on-failure with an attachment: a 451 to MAIL queues it, the later flush delivers the same bytes" {
	mkbin "$T/a.bin" 70000
	start_fake - <<'EOF'
REPLY MAIL@1 451 4.3.0 try later
EOF
	run --separate-stderr sendto -f jane@example.com -s x -a "$T/a.bin" \
		--queue-on-failure "$T/q" bob@example.com <<<"body"
	assert_success
	[[ $stderr == *'451 4.3.0 try later; queued as'* ]] || fail "stderr: $stderr"
	message_of "$T/q/$(queued "$T/q")" "$T/queued.eml"
	flush_to "$T/q"
	assert_success
	assert_equal "$(count_queued "$T/q")" 0
	cmp "$DATADIR/msg-1.eml" "$T/queued.eml" || fail "not the queued message"
	assert_equal "$(part_field "$DATADIR/msg-1.eml" 2 9)" "$(sha "$T/a.bin")"
}

@test "--queue-on-failure: a missing attachment is an input error (66) before anything is queued or sent" {
	start_fake - </dev/null
	run --separate-stderr sendto -f jane@example.com -a "$T/nope.pdf" \
		--queue-on-failure "$T/q" bob@example.com <<<"x"
	assert_equal "$status" 66
	[[ $stderr == *"$T/nope.pdf"* ]] || fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 0
	assert_equal "$(count_transcript '^\* CONNECT')" 0
}

@test "--pickup-dir with attachments: the file is the whole MIME message, and a flush of it delivers it unchanged" {
	make_parts
	start_fake - </dev/null
	run --separate-stderr smtpsend --pickup-dir "$T/p" "${MIME_ARGS[@]}" \
		-b dave@example.com bob@example.com <<<"see attached"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(count_transcript '^\* CONNECT')" 0
	local f=$T/p/$(queued "$T/p")
	run envelope_of "$f"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: bob@example.com\nX-Receiver: dave@example.com'
	run grep -c $'[^\r]$' "$f"
	assert_output 0
	message_of "$f" "$T/m.eml"
	run grep -c '^Bcc:' "$T/m.eml"
	assert_output 0
	assert_tree "$T/m.eml" "$TREE"
	assert_equal "$(part_field "$T/m.eml" 4 9)" "$(sha "$T/data.bin")"
	assert_equal "$(part_field "$T/m.eml" 3 7)" '<logo.png>'
	run check_msg "$T/m.eml" --ascii-only --expect-header 'Subject=Q3 report' \
		--expect-header 'X-Report=q3' --expect-header 'Reply-To=desk@example.com'
	assert_success
	flush_to "$T/p"
	assert_success
	cmp "$DATADIR/msg-1.eml" "$T/m.eml" || fail "the picked-up message changed"
	assert_transcript '^C: RCPT TO:<dave@example.com>'
}

@test "--pickup-dir: a UTF-8 body with an attachment is written 7-bit safe (quoted-printable)" {
	mkbin "$T/a.bin" 1000
	run --separate-stderr smtpsend --pickup-dir "$T/p" -f jane@example.com \
		-s 'Grüße' -a "$T/a.bin" bob@example.com <<<"Grüße aus Köln"
	assert_success
	message_of "$T/p/$(queued "$T/p")" "$T/m.eml"
	run check_msg "$T/m.eml" --ascii-only --expect-header 'Subject=Grüße'
	assert_success
	assert_equal "$(part_field "$T/m.eml" 1 3)" quoted-printable
	parts "$T/m.eml" --save "$T/out" >/dev/null
	assert_equal "$(cat "$T/out/1")" 'Grüße aus Köln'
	assert_equal "$(sha "$T/out/2")" "$(sha "$T/a.bin")"
}

# A complete message with its own Date and Message-ID: nothing in it
# changes from run to run, so the deliveries can be compared byte for byte.
raw_message() {
	printf '%s\n' 'From: Jane <jane@example.com>' 'To: bob@example.com' \
		'Cc: carol@example.com' 'Bcc: dave@example.com' 'Subject: raw' \
		'Date: Mon, 02 Nov 2026 10:00:00 +0000' \
		'Message-ID: <raw-1@example.com>' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=utf-8' '' 'line one' \
		'.a line with a leading dot' 'last line'
}

@test "-t input queued on failure and flushed: recipients from the header, no Bcc, same bytes as a direct send" {
	raw_message >"$T/in.eml"
	queue_down "$T/q" -t <"$T/in.eml"
	local f=$T/q/$(queued "$T/q")
	run envelope_of "$f"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: bob@example.com\nX-Receiver: carol@example.com\nX-Receiver: dave@example.com'
	message_of "$f" "$T/queued.eml"
	run grep -c '^Bcc:' "$T/queued.eml"
	assert_output 0
	start_aiosmtpd plain
	flush_to "$T/q"
	assert_success
	cp "$OUT/msg-1.eml" "$T/flushed.eml"
	cmp "$T/flushed.eml" "$T/queued.eml" || fail "not the queued message"
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.com", "carol@example.com", "dave@example.com"]'
	stop_servers
	start_aiosmtpd plain
	run --separate-stderr sendto -t <"$T/in.eml"
	assert_success
	wait_for_file "$OUT/msg-1.json" 10 || fail "no message delivered"
	cmp "$T/flushed.eml" "$OUT/msg-1.eml" || fail "direct and flushed messages differ"
}

@test "--raw input queued and flushed: recipients from the command line, the message kept as given" {
	raw_message >"$T/in.eml"
	queue_down "$T/q" --raw erin@example.com <"$T/in.eml"
	run envelope_of "$T/q/$(queued "$T/q")"
	assert_output $'X-Sender: jane@example.com\nX-Receiver: erin@example.com'
	start_aiosmtpd plain
	flush_to "$T/q"
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["erin@example.com"]'
	run check_msg "$OUT/msg-1.eml" --no-header Bcc --expect-header 'Message-ID=<raw-1@example.com>' \
		--expect-header 'Cc=carol@example.com' \
		--expect-body $'line one\n.a line with a leading dot\nlast line\n'
	assert_success
}

@test "--raw 8-bit single part: queued as quoted-printable, so a server without 8BITMIME takes it" {
	printf 'From: jane@example.com\nTo: bob@example.com\nSubject: x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße ✓\n' >"$T/in.eml"
	queue_down "$T/q" --raw bob@example.com <"$T/in.eml"
	message_of "$T/q/$(queued "$T/q")" "$T/queued.eml"
	run grep -c 'quoted-printable' "$T/queued.eml"
	assert_output 1
	run check_msg "$T/queued.eml" --ascii-only --expect-body $'Grüße ✓\n'
	assert_success
	start_aiosmtpd plain --no-8bitmime
	flush_to "$T/q"
	assert_success
	run msg_json "$OUT/msg-1.json" mail_options
	refute_output --partial 8BITMIME
	run check_msg "$OUT/msg-1.eml" --ascii-only --expect-body $'Grüße ✓\n'
	assert_success
}

@test "--raw 8-bit multipart cannot be made 7-bit: queued as it is; BODY=8BITMIME when flushed, failed/ (65) without" {
	printf 'From: jane@example.com\nTo: bob@example.com\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße\n--XX--\n' >"$T/in.eml"
	queue_down "$T/q" --raw bob@example.com <"$T/in.eml"
	cp "$T/q/$(queued "$T/q")" "$T/copy.eml"
	message_of "$T/copy.eml" "$T/queued.eml"
	grep -q 'Grüße' "$T/queued.eml" || fail "the 8-bit text was not kept as it is"
	# A server without 8BITMIME cannot take it: failed/, not retried.
	start_aiosmtpd plain --no-8bitmime
	flush_to "$T/q"
	assert_equal "$status" 65
	[[ $stderr$output == *8BITMIME* ]] || fail "output: $output stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 0
	assert_equal "$(count_queued "$T/q/failed")" 1
	[ ! -e "$OUT/msg-1.eml" ] || fail "it was sent anyway"
	# One that offers 8BITMIME gets it, byte for byte.
	stop_servers
	mkdir "$T/q2"
	cp "$T/copy.eml" "$T/q2/"
	start_aiosmtpd plain
	flush_to "$T/q2"
	assert_success
	run msg_json "$OUT/msg-1.json" mail_options
	assert_output --partial 'BODY=8BITMIME'
	cmp "$OUT/msg-1.eml" "$T/queued.eml" || fail "not the queued message"
}

@test "-t input with UTF-8 header fields: SMTPUTF8 when offered, directly and after queueing, with the same bytes" {
	printf 'From: jane@example.com\nTo: bob@example.com\nSubject: Grüße\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <u8@example.com>\n\nhi\n' >"$T/in.eml"
	start_aiosmtpd plain
	run --separate-stderr sendto -t <"$T/in.eml"
	assert_success
	wait_for_file "$OUT/msg-1.json" 10 || fail "no message delivered"
	run msg_json "$OUT/msg-1.json" mail_options
	assert_output --partial SMTPUTF8
	cp "$OUT/msg-1.eml" "$T/direct.eml"
	queue_down "$T/q" -t <"$T/in.eml"
	stop_servers
	start_aiosmtpd plain
	flush_to "$T/q"
	assert_success
	run msg_json "$OUT/msg-1.json" mail_options
	assert_output --partial SMTPUTF8
	cmp "$OUT/msg-1.eml" "$T/direct.eml" || fail "direct and flushed messages differ"
}

@test "--flush sends what is queued: message options are refused (64)" {
	printf 'x\n' >"$T/f"
	local args
	for args in "-a|$T/f" "--inline|$T/f" "--html|$T/f" "--raw" "-t" "-s|x" \
		"--body-file|$T/f" "-H|X-A: b" "--reply-to|r@example.com" \
		"--priority|high" "--charset|latin1"; do
		IFS='|' read -ra a <<<"$args"
		run --separate-stderr smtpsend --flush "$T/q" "${a[@]}" </dev/null
		assert_equal "$status" 64
		[[ $stderr == *'--flush'*"${a[0]}"* ]] || fail "$args: $stderr"
	done
	[ ! -e "$T/q" ] || fail "the queue was touched"
}
