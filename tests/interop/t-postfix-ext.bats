#!/usr/bin/env bats
# Interop suite for the SMTP extensions, against a real Postfix:
# SMTPUTF8 round trips (RFC 6531/6532), the A-label fallback on a listener
# with smtputf8_enable=no, DSN parameters proven by the reports Postfix
# itself sends back (RFC 3461/3464/6533), SIZE against Postfix's
# message_size_limit, and REQUIRETLS and BINARYMIME, which Postfix does not
# offer.
#
# The instance comes from tests/interop/postfix.sh (see t-postfix.bats for
# the rules on skipping); its Maildir receives everything, including the
# delivery reports, and each copy is found by its Delivered-To: header.

load interop

setup_file() {
	local why
	why=$(interop_unavailable postfix)
	if [ -n "$why" ]; then
		interop_skip "$why: skipping interop tests"
		return
	fi
	pf_start postfix-ext
}

teardown_file() {
	pf_stop
}

setup() {
	[ -z "${PF_SKIP:-}" ] || skip "$PF_SKIP"
	common_setup
}

teardown() {
	common_teardown
}

# pf_send ARGS...: STARTTLS to the SMTPUTF8-capable listener, verified.
pf_send() {
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PF_SMTP_PORT" \
		--timeout 20 --tls starttls --cafile "$PF_CAFILE" "$@"
}

# pf_send_noutf8 ARGS...: the listener without SMTPUTF8 (clear text).
pf_send_noutf8() {
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PF_NOUTF8_PORT" \
		--timeout 20 --tls none "$@"
}

# delivered RCPT: wait for RCPT's copy; print a CRLF copy's name in $T.
delivered() {
	local f out
	f=$("$PFSH" wait "$PF_DIR" "$1" 10) || return 1
	out=$T/delivered.$RANDOM.eml
	cp "$f" "$out"
	to_crlf "$out"
	echo "$out"
}

# received_with FILE: the protocol word of Postfix's own Received: header
# (ESMTP, ESMTPS, UTF8SMTPS, ...).
received_with() {
	sed -e '/^\r\{0,1\}$/q' "$1" | tr -d '\r' |
		sed -n 's/.*(Postfix) with \([A-Z0-9]*\) id .*/\1/p' | head -n 1
}

@test "postfix: SMTPUTF8 round trip, 用户@例子.测试 to and from, UTF-8 headers" {
	pf_send -f 'Jäne Dœ <用户@例子.测试>' -s '主题: nightly ✓' \
		-c '"Zoë, Å" <抄送@例子.测试>' '收件人 <收件人@例子.测试>' <<<"你好，世界"
	assert_success
	for rcpt in 收件人@例子.测试 抄送@例子.测试; do
		msg=$(delivered "$rcpt")
		run received_with "$msg"
		assert_output UTF8SMTPS
		run check_msg "$msg" --allow-8bit-headers \
			--expect-header 'Return-Path=<用户@例子.测试>' \
			--expect-header 'From=Jäne Dœ <用户@例子.测试>' \
			--expect-header 'To=收件人 <收件人@例子.测试>' \
			--expect-header 'Cc="Zoë, Å" <抄送@例子.测试>' \
			--expect-header 'Subject=主题: nightly ✓' \
			--expect-body $'你好，世界\n'
		assert_success
	done
	# And back: the recipient answers the sender.
	pf_send -f '收件人@例子.测试' -s 'Re: 主题' '用户@例子.测试' <<<"收到"
	assert_success
	msg=$(delivered 用户@例子.测试)
	run check_msg "$msg" --allow-8bit-headers \
		--expect-header 'Return-Path=<收件人@例子.测试>' \
		--expect-header 'Subject=Re: 主题' --expect-body $'收到\n'
	assert_success
}

@test "postfix: without SMTPUTF8, IDN domains travel as A-labels everywhere" {
	pf_send_noutf8 -f 'Jäne <jane@例子.测试>' -s '主题 ✓' bob@例子.测试 <<<"hi"
	assert_success
	msg=$(delivered bob@xn--fsqu00a.xn--0zwm56d)
	run received_with "$msg"
	assert_output ESMTP
	run check_msg "$msg" --ascii-only \
		--expect-header 'Return-Path=<jane@xn--fsqu00a.xn--0zwm56d>' \
		--expect-header 'From=Jäne <jane@xn--fsqu00a.xn--0zwm56d>' \
		--expect-header 'To=bob@xn--fsqu00a.xn--0zwm56d' \
		--expect-header 'Subject=主题 ✓' --expect-body $'hi\n'
	assert_success
}

@test "postfix: without SMTPUTF8, a non-ASCII local part is refused (65), nothing queued" {
	pf_send_noutf8 -f jane@example.com 不送@例子.测试 <<<"hi"
	assert_equal "$status" 65
	[[ $stderr == *'SMTPUTF8'* ]] || fail "stderr: $stderr"
	run "$PFSH" wait "$PF_DIR" 不送@例子.测试 1
	assert_failure
}

@test "postfix: DSN parameters take effect: a success report with ENVID and ORCPT" {
	pf_send -f dsn-sender@example.com --dsn-notify success,failure \
		--dsn-ret hdrs --envid 'job 42+x' -s 'dsn check' dsn-rcpt@example.com <<<"hi"
	assert_success
	delivered dsn-rcpt@example.com >/dev/null
	report=$(delivered dsn-sender@example.com)
	run grep -E '^(Original-Envelope-Id|Original-Recipient|Action|Status):' "$report"
	assert_output --partial 'Original-Envelope-Id: job 42+x'
	assert_output --partial 'Original-Recipient: rfc822;dsn-rcpt@example.com'
	assert_output --partial 'Action: delivered'
	assert_output --partial 'Status: 2.0.0'
	# RET=HDRS: the report returns the headers only.
	grep -q '^Content-Type: text/rfc822-headers' "$report" ||
		fail "no text/rfc822-headers part: $(cat "$report")"
	# NOTIFY without SUCCESS: no report.
	pf_send -f dsn-quiet@example.com --dsn-notify failure -s q quiet@example.com <<<"x"
	assert_success
	delivered quiet@example.com >/dev/null
	run "$PFSH" wait "$PF_DIR" dsn-quiet@example.com 2
	assert_failure
}

@test "postfix: DSN with SMTPUTF8: the ORCPT of a UTF-8 address (RFC 6533) comes back intact" {
	pf_send -f 'dsn-utf8@example.com' --dsn-notify success \
		'"a b+c"@例子.测试' <<<"hi"
	assert_success
	report=$(delivered dsn-utf8@example.com)
	run grep -E '^Original-Recipient:' "$report"
	assert_output 'Original-Recipient: utf-8;"a b+c"@例子.测试'$'\r'
}

@test "postfix: SIZE over message_size_limit is refused (65) before MAIL" {
	yes 'twelve megabytes of text, line after line after line' |
		head -c 12M >"$T/big"
	start=$(now)
	pf_send -f size@example.com -s big --body-file "$T/big" size-rcpt@example.com
	assert_equal "$status" 65
	[[ $stderr == *'accepts at most 10240000'* ]] || fail "stderr: $stderr"
	assert_elapsed_below "$start" 20
	run "$PFSH" wait "$PF_DIR" size-rcpt@example.com 1
	assert_failure
	# Just under the limit goes through, declaring its size.
	head -c 9M "$T/big" >"$T/fits"
	pf_send -f size@example.com -s fits --body-file "$T/fits" size-rcpt@example.com
	assert_success
	delivered size-rcpt@example.com >/dev/null
}

@test "postfix: --require-tls against a server without REQUIRETLS: 69, nothing sent" {
	pf_send --require-tls -f rt@example.com rt-rcpt@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *'REQUIRETLS'* ]] || fail "stderr: $stderr"
	run "$PFSH" wait "$PF_DIR" rt-rcpt@example.com 1
	assert_failure
}

@test "postfix: an unknown recipient's 550 5.1.1 is exit 67, the code quoted" {
	pf_send -f jane@example.com rejected@example.com <<<"x"
	assert_equal "$status" 67
	[[ $stderr == *'550 5.1.1'* ]] || fail "stderr: $stderr"
}

@test "postfix: --binary-attachments to a server without BINARYMIME: base64, delivered intact" {
	head -c 200000 /dev/urandom >"$T/a.bin"
	pf_send -v --binary-attachments -f bin@example.com -s bin -a "$T/a.bin" \
		bin-rcpt@example.com <<<"x"
	assert_success
	[[ $stderr == *"attachments in base64: 127.0.0.1 does not offer BINARYMIME"* ]] ||
		fail "stderr: $stderr"
	[[ $stderr != *'BODY=BINARYMIME'* ]] || fail "stderr: $stderr"
	local f
	f=$(delivered bin-rcpt@example.com)
	run python "$HELPERS/mimeparts.py" "$f"
	assert_line --partial "base64	attachment	a.bin	a.bin	-	200000	$(sha256sum <"$T/a.bin" | cut -d' ' -f1)"
}
