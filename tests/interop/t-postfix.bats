#!/usr/bin/env bats
# Interop suite: the happy paths of the main suite, against a real Postfix.
#
# One throwaway Postfix instance (tests/interop/postfix.sh) serves the whole
# file: a STARTTLS-capable submission port ($PF_SMTP_PORT, TLS optional) and
# an implicit-TLS port ($PF_SMTPS_PORT), both on loopback.  Postfix delivers
# into a Maildir; each test uses its own recipient addresses and finds its
# copy by the Delivered-To: header Postfix adds.
#
# Where Postfix is not installed, or we are not root (the Postfix master must
# start as root), every test is skipped with the reason, unless
# SMTPSEND_INTEROP_REQUIRED=1 (CI sets it), which turns the skip into a
# failure so that a broken install cannot pass as green.

load interop

setup_file() {
	local why
	why=$(interop_unavailable postfix)
	if [ -n "$why" ]; then
		interop_skip "$why: skipping interop tests"
		return
	fi
	pf_start postfix
}

teardown_file() {
	pf_stop
}

setup() {
	[ -z "${PF_SKIP:-}" ] || skip "$PF_SKIP"
	common_setup
	pf_quiesce
	PF_LOG_OFFSET=$(stat -c %s "$PF_LOG")
}

teardown() {
	common_teardown
}

# pf_send ARGS...: smtpsend against the instance's STARTTLS-capable port;
# ARGS may override --port/--tls (later options win).
pf_send() {
	smtpsend --host 127.0.0.1 --port "$PF_SMTP_PORT" --timeout 20 "$@"
}

# delivered RCPT: wait (10 s at most) for RCPT's copy, copy it to $T with
# CRLF line ends (Postfix stores LF) and print the copy's name.
delivered() {
	local f out
	f=$("$PFSH" wait "$PF_DIR" "$1" 10) || return 1
	out=$T/delivered-$1.eml
	cp "$f" "$out"
	to_crlf "$out"
	echo "$out"
}

# sender_headers FILE: the header lines Postfix did not add itself.
sender_headers() {
	sed -e '/^\r\{0,1\}$/q' "$1" |
		grep -viE '^(Return-Path|X-Original-To|Delivered-To):' || true
}

# pf_quiesce: wait (3 s at most) until every SMTP session Postfix accepted
# has been logged as ended, so that one test's log lines cannot spill into
# the next test's share of the log.
pf_quiesce() {
	local c d
	for _ in $(seq 60); do
		c=$(grep -c ']: connect from' "$PF_LOG" || true)
		d=$(grep -c ']: disconnect from' "$PF_LOG" || true)
		[ "$c" = "$d" ] && return 0
		sleep 0.05
	done
}

# assert_clean_maillog: Postfix logged no protocol complaint about this
# test's sessions.
assert_clean_maillog() {
	local bad
	pf_quiesce
	bad=$(tail -c +$((PF_LOG_OFFSET + 1)) "$PF_LOG" | grep -E 'improper command pipelining|syntax error|non-SMTP command|bare <LF>|lost connection|warning: ' |
		grep -v 'warning: dict_nis_init' || true)
	[ -z "$bad" ] || fail "Postfix complained:
$bad"
}

# assert_received_tls FILE: Postfix's own Received: header says TLS was used.
assert_received_tls() {
	sed -e '/^\r\{0,1\}$/q' "$1" | grep -q '(using TLSv1\.[23]' ||
		fail "no TLS in Postfix's Received: header:
$(sed -e '/^\r\{0,1\}$/q' "$1")"
}

@test "postfix: plain SMTP on loopback (--tls none)" {
	run pf_send --tls none -f sender@example.com -s 'plain hello' \
		plain@example.com <<<'over the wire in clear'
	assert_success
	msg=$(delivered plain@example.com)
	run check_msg "$msg" --expect-header 'Subject=plain hello' \
		--expect-header 'From=sender@example.com' \
		--expect-header 'To=plain@example.com' \
		--expect-body $'over the wire in clear\n' --check-date
	assert_success
	run grep -c '(using TLS' "$msg"
	assert_output 0
	assert_clean_maillog
}

@test "postfix: STARTTLS with --cafile, certificate verified" {
	run pf_send --tls starttls --cafile "$PF_CAFILE" -f sender@example.com \
		-s 'over starttls' starttls@example.com <<<'sealed'
	assert_success
	msg=$(delivered starttls@example.com)
	run check_msg "$msg" --expect-header 'Subject=over starttls' \
		--expect-body $'sealed\n'
	assert_success
	assert_received_tls "$msg"
	assert_clean_maillog
}

@test "postfix: STARTTLS over IPv6 loopback (--host ::1)" {
	[ "$PF_IPV6" = 1 ] || skip "no IPv6 loopback here"
	run smtpsend --host ::1 --port "$PF_SMTP_PORT" --timeout 20 \
		--tls starttls --cafile "$PF_CAFILE" -f sender@example.com \
		-s 'v6' ipv6@example.com <<<'via ::1'
	assert_success
	msg=$(delivered ipv6@example.com)
	run check_msg "$msg" --expect-header 'Subject=v6'
	assert_success
	assert_received_tls "$msg"
	grep -q 'IPv6:::1' "$msg" || fail "not received over ::1: $(grep -A2 '^Received:' "$msg")"
}

@test "postfix: STARTTLS to 'localhost' by name" {
	run smtpsend --host localhost --port "$PF_SMTP_PORT" --timeout 20 \
		--tls starttls --cafile "$PF_CAFILE" -f sender@example.com \
		-s 'by name' byname@example.com <<<'hello localhost'
	assert_success
	msg=$(delivered byname@example.com)
	assert_received_tls "$msg"
}

@test "postfix: implicit TLS on the wrapper-mode port" {
	run pf_send --port "$PF_SMTPS_PORT" --tls implicit --cafile "$PF_CAFILE" \
		-f sender@example.com -s 'implicit tls' implicit@example.com <<<'wrapped'
	assert_success
	msg=$(delivered implicit@example.com)
	run check_msg "$msg" --expect-header 'Subject=implicit tls' \
		--expect-body $'wrapped\n'
	assert_success
	assert_received_tls "$msg"
	assert_clean_maillog
}

@test "postfix: STARTTLS with an untrusted certificate is refused (69), nothing sent" {
	# The system trust store does not know the test CA.
	run pf_send --tls starttls -f sender@example.com -s 'must not arrive' \
		untrusted@example.com <<<'no'
	assert_failure 69
	run "$PFSH" wait "$PF_DIR" untrusted@example.com 1
	assert_failure
}

@test "postfix: UTF-8 subject and display names survive" {
	run pf_send --tls starttls --cafile "$PF_CAFILE" \
		-f 'Jane Ø Clayton <jane@example.com>' -s 'nightly ✓' \
		-c 'Zoë Ångström <zoe@example.com>' utf8@example.com <<<'Backup finished'
	assert_success
	msg=$(delivered utf8@example.com)
	run check_msg "$msg" --expect-header 'Subject=nightly ✓' \
		--expect-header 'From=Jane Ø Clayton <jane@example.com>' \
		--expect-header 'Cc=Zoë Ångström <zoe@example.com>' \
		--expect-body $'Backup finished\n' --fold-limit 998
	assert_success
	# The Cc recipient gets the same message.
	cc=$(delivered zoe@example.com)
	run check_msg "$cc" --expect-header 'Subject=nightly ✓'
	assert_success
	assert_clean_maillog
}

@test "postfix: body lines starting with '.' round-trip" {
	printf '.\n..two dots\n.leading dot\nmiddle . dot\n. \n.\nlast\n' >"$T/body"
	run pf_send --tls starttls --cafile "$PF_CAFILE" -f sender@example.com \
		-s dots --body-file "$T/body" dots@example.com
	assert_success
	msg=$(delivered dots@example.com)
	run check_msg "$msg" --expect-body-file "$T/body"
	assert_success
	assert_clean_maillog
}

@test "postfix: Bcc recipient receives it, no Bcc header anywhere" {
	run pf_send --tls starttls --cafile "$PF_CAFILE" -f sender@example.com \
		-s 'with bcc' -b hidden@example.com visible@example.com <<<'psst'
	assert_success
	for rcpt in visible@example.com hidden@example.com; do
		msg=$(delivered "$rcpt")
		run check_msg "$msg" --no-header Bcc --expect-header 'Subject=with bcc' \
			--expect-header 'To=visible@example.com'
		assert_success
		# Only Postfix's own delivery headers may name the hidden address.
		run sender_headers "$msg"
		refute_output --partial hidden@example.com
	done
	assert_clean_maillog
}

@test "postfix: 8-bit UTF-8 body arrives intact" {
	printf 'Grüße aus Köln — ✓\nΚαλημέρα κόσμε\n日本語のテキスト\n' >"$T/body"
	run pf_send --tls starttls --cafile "$PF_CAFILE" -f sender@example.com \
		-s 'eight bit' eightbit@example.com <"$T/body"
	assert_success
	msg=$(delivered eightbit@example.com)
	# Postfix offers 8BITMIME, so the body may travel as 8bit (design §3).
	run check_msg "$msg" --expect-body-file "$T/body" \
		--expect-header 'Content-Transfer-Encoding=8bit' \
		--expect-header-re 'Content-Type=text/plain; charset="?utf-8"?'
	assert_success
	grep -q 'Content-Transfer-Encoding' "$msg"
	assert_clean_maillog
}

@test "postfix: recipient rejected with 550 -> exit 67, nothing delivered" {
	run pf_send --tls starttls --cafile "$PF_CAFILE" -f sender@example.com \
		-s 'to nobody' rejected@example.com <<<'bounce me'
	assert_failure 67
	assert_output --partial '550'
	assert_output --partial 'rejected@example.com'
	run "$PFSH" wait "$PF_DIR" rejected@example.com 1
	assert_failure
}

@test "postfix: unknown domain refused by Postfix (relay denied, 554) -> exit 67" {
	run pf_send --tls none -f sender@example.com -s 'elsewhere' \
		someone@unknown-domain.invalid <<<'not for us'
	assert_failure 67
	assert_output --partial '554'
}

@test "postfix: a multi-part message (HTML, inline image, attachments, UTF-8 names) arrives intact" {
	local name='Bericht März ✓ 東京.pdf'
	printf 'Grüße, see attached\n' >"$T/body"
	printf '<p>Grüße <img src="cid:logo.png"></p>\n' >"$T/page.html"
	head -c 3000 /dev/urandom >"$T/logo.png"
	head -c 200000 /dev/urandom >"$T/$name"
	printf 'a,b\n1,2\n' >"$T/table.csv"
	run pf_send --tls starttls --cafile "$PF_CAFILE" -f 'Zoë <sender@example.com>' \
		-s 'multi ✓' --html "$T/page.html" --inline "$T/logo.png" \
		-a "$T/$name" -a "$T/table.csv" -H 'X-Test: interop' \
		--priority high mime@example.com <"$T/body"
	assert_success
	msg=$(delivered mime@example.com)
	run check_msg "$msg" --allow-2047-name --fold-limit 998 \
		--expect-header 'Subject=multi ✓' --expect-header 'X-Test=interop' \
		--expect-header 'Importance=high'
	assert_success
	run python "$HELPERS/mimeparts.py" "$msg"
	assert_line 'tree multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/pdf,text/csv)'
	local sum
	for f in "$T/logo.png" "$T/$name" "$T/table.csv" "$T/page.html" "$T/body"; do
		sum=$(sha256sum <"$f" | cut -d' ' -f1)
		assert_output --partial "$sum"
	done
	assert_output --partial "	$name	$name	"
	assert_clean_maillog
}

@test "postfix: -t with a complete message; Bcc recipient served, Bcc field gone" {
	printf 'From: sender@example.com\nTo: raw-to@example.com\nBcc: raw-bcc@example.com\nSubject: whole message\n\n.dot line\nbody\n' >"$T/in.eml"
	run pf_send --tls starttls --cafile "$PF_CAFILE" -t <"$T/in.eml"
	assert_success
	for rcpt in raw-to@example.com raw-bcc@example.com; do
		msg=$(delivered "$rcpt")
		run check_msg "$msg" --no-header Bcc --expect-header 'Subject=whole message' \
			--expect-body $'.dot line\nbody\n' --check-date
		assert_success
	done
	assert_clean_maillog
}

@test "postfix: a MIME message and a -t message queued while it was unreachable, then flushed over STARTTLS" {
	printf '<p>queued <img src="cid:logo.png"></p>\n' >"$T/page.html"
	head -c 3000 /dev/urandom >"$T/logo.png"
	head -c 150000 /dev/urandom >"$T/data.bin"
	run smtpsend --host 127.0.0.1 --port "$(closed_port)" --timeout 5 \
		--queue-on-failure "$T/q" -f sender@example.com -s 'queued ✓' \
		--html "$T/page.html" --inline "$T/logo.png" -a "$T/data.bin" \
		queued-mime@example.com <<<"Grüße from the queue"
	assert_success
	printf 'From: sender@example.com\nTo: queued-to@example.com\nBcc: queued-bcc@example.com\nSubject: queued whole message\n\n.dot line\nbody\n' |
		smtpsend --host 127.0.0.1 --port "$(closed_port)" --timeout 5 \
			--queue-on-failure "$T/q" -t 2>/dev/null
	assert_equal "$(count_queued "$T/q")" 2
	run pf_send --tls starttls --cafile "$PF_CAFILE" --flush "$T/q"
	assert_success
	assert_equal "$(count_queued "$T/q")" 0
	msg=$(delivered queued-mime@example.com)
	assert_received_tls "$msg"
	run check_msg "$msg" --expect-header 'Subject=queued ✓'
	assert_success
	run python "$HELPERS/mimeparts.py" "$msg"
	assert_line 'tree multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/octet-stream)'
	local f sum
	for f in "$T/logo.png" "$T/data.bin" "$T/page.html"; do
		sum=$(sha256sum <"$f" | cut -d' ' -f1)
		assert_output --partial "$sum"
	done
	for rcpt in queued-to@example.com queued-bcc@example.com; do
		msg=$(delivered "$rcpt")
		run check_msg "$msg" --no-header Bcc --expect-header 'Subject=queued whole message' \
			--expect-body $'.dot line\nbody\n'
		assert_success
	done
	assert_clean_maillog
}

@test "postfix: --flush --no-chunking: each final dot shares a write with the next MAIL, RCPT and DATA; all delivered intact, no pipelining complaint" {
	local i
	for i in 1 2 3 4 5; do
		printf 'line one of %s\n.a dot line\n.\nlast\n' "$i" |
			smtpsend --pickup-dir "$T/q" -f sender@example.com -s "overlap $i" \
				"overlap$i@example.com"
		sleep 0.01
	done
	assert_equal "$(count_queued "$T/q")" 5
	run --separate-stderr pf_send --tls starttls --cafile "$PF_CAFILE" --no-chunking -v --flush "$T/q"
	assert_success
	assert_equal "$(count_queued "$T/q")" 0
	assert_equal "$(grep -c '^sent ' <<<"$output")" 5
	# The second MAIL was written before the verdict on the first was read.
	local mail2 verdict1
	mail2=$(grep -n -- '--> MAIL FROM:' <<<"$stderr" | sed -n 2p | cut -d: -f1)
	verdict1=$(grep -n -- '<-- 250 2.0.0 Ok: queued as' <<<"$stderr" | sed -n 1p | cut -d: -f1)
	[ -n "$mail2" ] && [ -n "$verdict1" ] && [ "$mail2" -lt "$verdict1" ] ||
		fail "MAIL 2 at $mail2, verdict 1 at $verdict1"
	[[ $stderr != *"BDAT"* ]] || fail "BDAT used despite --no-chunking"
	for i in 1 2 3 4 5; do
		msg=$(delivered "overlap$i@example.com")
		run check_msg "$msg" --expect-header "Subject=overlap $i" \
			--expect-body "line one of $i"$'\n.a dot line\n.\nlast\n'
		assert_success
	done
	assert_clean_maillog
}
