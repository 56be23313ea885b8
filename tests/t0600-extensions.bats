#!/usr/bin/env bats
# SMTP service extensions: SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8
# (RFC 6531/6532), DSN (RFC 3461/6533), REQUIRETLS (RFC 8689) and enhanced
# status codes (RFC 3463/2034).  The scripted server records every command
# exactly, so each case shows the MAIL and RCPT parameters sent -- and
# that none are sent for an extension the server does not advertise.

load helpers/common

# send ARGS... (stdin: body) with the usual sender, output split.
send() {
	run --separate-stderr sendto -f jane@example.com "$@"
}

# The N-th MAIL (default: the first) and RCPT command lines, prefix removed.
mail_cmd() {
	grep '^C: MAIL ' "$TRANSCRIPT" | sed -n "${1:-1}p" | cut -c4-
}
rcpt_cmds() {
	grep '^C: RCPT ' "$TRANSCRIPT" | cut -c4-
}

# The SIZE= value declared on the N-th MAIL.
declared_size() {
	mail_cmd "$1" | sed -n 's/.* SIZE=\([0-9][0-9]*\).*/\1/p'
}

# Nothing of a transaction was sent, and the session ended politely.
assert_no_transaction() {
	refute_transcript '^C: (MAIL|RCPT|DATA|BDAT)'
	refute_transcript '^D: '
	wait_transcript '^C: QUIT$'
}

# ---------------------------------------------------------------- SIZE

@test "SIZE: the declared size is exactly the octets the server stores" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES SIZE 100000000
EOF
	local n=0 f
	mkdir "$T/bodies"
	printf 'hello\n' >"$T/bodies/lf"
	printf 'one\r\ntwo\r\n' >"$T/bodies/crlf"
	printf 'no final newline' >"$T/bodies/unterminated"
	printf '.\n..two\n.three\nend .\n.' >"$T/bodies/dots"
	printf 'Gr\xc3\xbc\xc3\x9fe \xe2\x9c\x93\n' >"$T/bodies/utf8"
	printf 'latin-1 \xe9t\xe9\n' >"$T/bodies/qp-invalid-utf8"
	printf 'a\rlone cr\n' >"$T/bodies/qp-lone-cr"
	head -c 2000 /dev/zero | tr '\0' 'y' >"$T/bodies/qp-long-line"
	: >"$T/bodies/empty"
	# In memory but larger than one encoder slice.
	head -c 300000 /dev/urandom >"$T/bodies/qp-binary"
	# Past the 1 MiB in-memory limit: spilled to a temporary file.
	yes 'a line of text that repeats' | head -c 1500000 >"$T/bodies/spilled"
	head -c 1200000 /dev/urandom >"$T/bodies/qp-spilled"
	for f in lf crlf unterminated dots utf8 qp-invalid-utf8 qp-lone-cr \
		qp-long-line empty qp-binary spilled qp-spilled; do
		n=$((n + 1))
		send -q -s "size $f ✓" --body-file "$T/bodies/$f" bob@example.com
		[ "$status" -eq 0 ] || fail "$f: status $status: $stderr"
		size=$(declared_size "$n")
		stored=$(stat -c %s "$DATADIR/msg-$n.eml")
		[ -n "$size" ] || fail "$f: no SIZE= on MAIL: $(mail_cmd "$n")"
		[ "$size" = "$stored" ] ||
			fail "$f: declared SIZE=$size, server stored $stored octets"
	done
	assert_clean_transcript
}

@test "SIZE: declared when advertised without a limit, absent when not advertised" {
	start_fake - <<'EOF'
CAPA PIPELINING SIZE
EOF
	send bob@example.com <<<"x"
	assert_success
	run mail_cmd
	assert_output --regexp '^MAIL FROM:<jane@example\.com> SIZE=[0-9]+$'
	stop_servers

	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME
EOF
	send bob@example.com <<<"x"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com>'
}

# size_refusal ARGS...: the server's limit is 1000000 octets and the
# message (described by ARGS) is larger: smtpsend must stop before MAIL, so
# not one octet of the message is uploaded, and say both sizes.  Whatever
# makes the message big -- a captured body or a sparse multi-GiB
# attachment -- the refusal must come quickly, without reading it through.
size_refusal() {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES SIZE 1000000
EOF
	local start
	start=$(now)
	send -s 'too big' "$@" bob@example.com </dev/null
	assert_equal "$status" 65
	assert_elapsed_below "$start" "$(budget 20)"
	[[ $stderr == *'SIZE'* && $stderr == *'accepts at most 1000000'* ]] ||
		fail "stderr: $stderr"
	[[ $stderr =~ is\ (at\ least\ )?([0-9]+)\ octets ]] ||
		fail "no size in: $stderr"
	[ "${BASH_REMATCH[2]}" -gt 1000000 ] || fail "stderr: $stderr"
	assert_no_transaction
	[ -z "$(ls -A "$DATADIR" 2>/dev/null)" ]
}

@test "SIZE: a 64 MiB body over the server's limit is refused (65) before MAIL" {
	yes 'the quick brown fox jumps over the lazy dog 0123456789' |
		head -c 64M >"$T/big"
	size_refusal --body-file "$T/big"
}

@test "SIZE: a quoted-printable body over the limit is refused (65) before MAIL" {
	# Over the limit before encoding: refused without encoding it.
	head -c 1500000 /dev/urandom >"$T/big.bin"
	size_refusal --body-file "$T/big.bin"
	[[ $stderr == *'is at least '* ]] || fail "stderr: $stderr"
	stop_servers
	# Under the limit raw, over it once encoded: the exact size counts.
	head -c 600000 /dev/urandom >"$T/mid.bin"
	size_refusal --body-file "$T/mid.bin"
	[[ $stderr != *'at least'* ]] || fail "stderr: $stderr"
}

@test "SIZE: a 3 GiB sparse attachment is refused (65) before MAIL, without being read" {
	truncate -s 3G "$T/sparse.bin"
	printf 'see attachment\n' >"$T/body"
	size_refusal --body-file "$T/body" -a "$T/sparse.bin"
	# base64 of 3 GiB alone is over 4 GiB: the size named is the real one
	# (or a lower bound), never a 32-bit wrap-around.
	[ "${BASH_REMATCH[2]}" -gt 4294967296 ] || fail "stderr: $stderr"
}

@test "SIZE: two attachments whose sum is over the limit are refused (65)" {
	head -c 600000 /dev/urandom >"$T/a.bin"
	head -c 600000 /dev/urandom >"$T/b.bin"
	printf 'two files\n' >"$T/body"
	size_refusal --body-file "$T/body" -a "$T/a.bin" -a "$T/b.bin"
}

@test "SIZE: a message of exactly the limit is sent; one octet more is refused" {
	printf 'exactly\n' >"$T/body"
	# Date and Message-ID have a fixed width, so the same message has the
	# same size on every run: learn it from a first one.
	start_fake - <<'EOF'
CAPA PIPELINING SIZE 1000000
EOF
	send -s s --body-file "$T/body" bob@example.com
	assert_success
	size=$(declared_size 1)
	stop_servers

	start_fake - <<EOF
CAPA PIPELINING SIZE $size
EOF
	send -s s --body-file "$T/body" bob@example.com
	assert_success
	assert_equal "$(declared_size 1)" "$size"
	stop_servers

	start_fake - <<EOF
CAPA PIPELINING SIZE $((size - 1))
EOF
	send -s s --body-file "$T/body" bob@example.com
	assert_equal "$status" 65
	assert_no_transaction
}

@test "SIZE: the smallest of repeated SIZE lines is the limit (robust EHLO parsing)" {
	start_fake - <<'EOF'
CAPA pipelining, size 900000, Size 50, X-UNKNOWN-EXT with params, size 0, 8bitmime
EOF
	send -s s bob@example.com <<<"more than fifty octets in all, with headers"
	assert_equal "$status" 65
	[[ $stderr == *'accepts at most 50 '* ]] || fail "stderr: $stderr"
	assert_no_transaction
}

@test "SIZE: 552 to MAIL (RFC 1870) is exit 65, with or without an enhanced code" {
	start_fake - <<'EOF'
CAPA PIPELINING SIZE
REPLY MAIL 552 Message size exceeds fixed maximum message size
EOF
	send bob@example.com <<<"x"
	assert_equal "$status" 65
	[[ $stderr == *'552 Message size exceeds'* ]] || fail "stderr: $stderr"
	refute_transcript '^D: '
}

# ------------------------------------------------------------ 8BITMIME

@test "8BITMIME: an 8-bit body goes as 8bit with BODY=8BITMIME" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME
EOF
	send bob@example.com <<<"Grüße aus Köln"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com> BODY=8BITMIME'
	run check_msg "$DATADIR/msg-1.eml" \
		--expect-header 'Content-Transfer-Encoding=8bit' \
		--expect-body $'Grüße aus Köln\n'
	assert_success
}

@test "8BITMIME: an ASCII body declares no BODY even when 8BITMIME is offered" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME SMTPUTF8
EOF
	send -s 'plain' bob@example.com <<<"plain ascii"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com>'
}

@test "8BITMIME: without it, no BODY parameter and not one 8-bit octet on the wire" {
	start_fake - <<'EOF'
CAPA PIPELINING ENHANCEDSTATUSCODES
EOF
	send -f 'Zoë <zoe@bücher.example>' -s 'Grüße' bob@example.com <<<"Grüße aus Köln"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<zoe@xn--bcher-kva.example>'
	run check_msg "$DATADIR/msg-1.eml" --ascii-only \
		--expect-header 'Content-Transfer-Encoding=quoted-printable' \
		--expect-header 'Subject=Grüße' \
		--expect-header 'From=Zoë <zoe@xn--bcher-kva.example>' \
		--expect-body $'Grüße aus Köln\n'
	assert_success
}

# ------------------------------------------------------------ SMTPUTF8

@test "SMTPUTF8: UTF-8 addresses in envelope and headers, UTF-8 header text" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES
EOF
	run --separate-stderr sendto -f 'Jäne Dœ <用户@例子.测试>' \
		-s '主题: nightly ✓' -c '"Zoë, Ångström" <zoe@bücher.example>' \
		'收件人@例子.测试' <<<"你好"
	assert_success
	run mail_cmd
	assert_output --regexp '^MAIL FROM:<用户@例子\.测试> BODY=8BITMIME SMTPUTF8$'
	run rcpt_cmds
	assert_output $'RCPT TO:<收件人@例子.测试>\nRCPT TO:<zoe@bücher.example>'
	run check_msg "$DATADIR/msg-1.eml" --allow-8bit-headers \
		--expect-header 'From=Jäne Dœ <用户@例子.测试>' \
		--expect-header 'To=收件人@例子.测试' \
		--expect-header 'Cc="Zoë, Ångström" <zoe@bücher.example>' \
		--expect-header 'Subject=主题: nightly ✓' \
		--expect-body $'你好\n'
	assert_success
	# RFC 6532: the header text is UTF-8 itself, not RFC 2047 words.
	run grep -c '=?utf-8?' "$DATADIR/msg-1.eml"
	assert_output 0
	assert_clean_transcript
}

@test "SMTPUTF8: an IDN domain alone also uses SMTPUTF8 (U-labels) when offered" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME SMTPUTF8
EOF
	send --envelope-from 'bounce@Bücher.example' bob@例子.测试 <<<"x"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<bounce@bücher.example> BODY=8BITMIME SMTPUTF8'
	run rcpt_cmds
	assert_output 'RCPT TO:<bob@例子.测试>'
}

@test "SMTPUTF8: all-ASCII mail does not use it even when offered" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME SMTPUTF8
EOF
	send -s 'Grüße' bob@example.com <<<"x"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com>'
	run check_msg "$DATADIR/msg-1.eml" --expect-header 'Subject=Grüße'
	assert_success
}

@test "SMTPUTF8 not offered: IDN domains become A-labels in envelope, headers and EHLO" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
EOF
	send --helo 'client.bücher.example' -f 'Jäne <jane@例子.测试>' \
		-s '主题' -c 'cc@Bücher.example' bob@例子.测试 <<<"x"
	assert_success
	assert_transcript '^C: EHLO client\.xn--bcher-kva\.example$'
	run mail_cmd
	assert_output 'MAIL FROM:<jane@xn--fsqu00a.xn--0zwm56d>'
	run rcpt_cmds
	assert_output $'RCPT TO:<bob@xn--fsqu00a.xn--0zwm56d>\nRCPT TO:<cc@xn--bcher-kva.example>'
	run check_msg "$DATADIR/msg-1.eml" --ascii-only \
		--expect-header 'From=Jäne <jane@xn--fsqu00a.xn--0zwm56d>' \
		--expect-header 'To=bob@xn--fsqu00a.xn--0zwm56d' \
		--expect-header 'Cc=cc@xn--bcher-kva.example' \
		--expect-header 'Subject=主题'
	assert_success
	refute_transcript 'SMTPUTF8'
}

@test "SMTPUTF8 not offered: a non-ASCII local part anywhere is exit 65 before MAIL" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES
EOF
	local args
	for args in '用户@example.com' '-c 用户@example.com bob@example.com' \
		'-b 用户@example.com bob@example.com' \
		'--envelope-from 用户@example.com bob@example.com' \
		'-f 用户@example.com bob@example.com'; do
		# shellcheck disable=SC2086 # word splitting wanted
		run --separate-stderr sendto -f jane@example.com $args <<<"x"
		[ "$status" -eq 65 ] || fail "$args: status $status: $stderr"
		[[ $stderr == *'SMTPUTF8'* && $stderr == *'用户@example.com'* ]] ||
			fail "$args: stderr: $stderr"
	done
	refute_transcript '^C: (MAIL|RCPT|DATA)'
	assert_equal "$(count_transcript '^C: QUIT$')" 5
}

@test "SMTPUTF8: --print of a UTF-8 local part writes RFC 6532 headers" {
	run --separate-stderr smtpsend --print -f '用户@例子.测试' -s 'ok' \
		bob@bücher.example <<<"x"
	assert_success
	printf '%s\n' "$output" >"$T/m.eml"
	to_crlf "$T/m.eml"
	run check_msg "$T/m.eml" --allow-8bit-headers \
		--expect-header 'From=用户@例子.测试' \
		--expect-header 'To=bob@bücher.example'
	assert_success
}

@test "SMTPUTF8: aiosmtpd (an independent server) takes the parameters and addresses" {
	start_aiosmtpd plain
	run --separate-stderr sendto -f '用户@例子.测试' -s '主题 ✓' \
		'收件人@例子.测试' <<<"你好"
	assert_success
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output '用户@例子.测试'
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["收件人@例子.测试"]'
	size=$(stat -c %s "$OUT/msg-1.eml")
	run msg_json "$OUT/msg-1.json" mail_options
	assert_output "[\"SIZE=$size\", \"BODY=8BITMIME\", \"SMTPUTF8\"]"
	run check_msg "$OUT/msg-1.eml" --allow-8bit-headers \
		--expect-header 'From=用户@例子.测试' --expect-header 'Subject=主题 ✓'
	assert_success
}

@test "SMTPUTF8: aiosmtpd without it gets A-labels, and a UTF-8 local part is refused" {
	start_aiosmtpd plain --no-smtputf8
	send bob@例子.测试 <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["bob@xn--fsqu00a.xn--0zwm56d"]'
	send 用户@example.com <<<"x"
	assert_equal "$status" 65
	[ ! -e "$OUT/msg-2.eml" ]
}

# ----------------------------------------------------------------- DSN

@test "DSN: NOTIFY, ORCPT on every RCPT; RET and ENVID (xtext) on MAIL" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME DSN ENHANCEDSTATUSCODES
EOF
	send --dsn-notify failure,DELAY --dsn-ret hdrs --envid 'run 42+x=y' \
		bob@example.com 'tag+list@example.com' <<<"x"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com> RET=HDRS ENVID=run+2042+2Bx+3Dy'
	run rcpt_cmds
	assert_output "RCPT TO:<bob@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.com
RCPT TO:<tag+list@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;tag+2Blist@example.com"
}

@test "DSN: --dsn-notify never, success; --dsn-ret full" {
	start_fake - <<'EOF'
CAPA PIPELINING DSN
EOF
	send --dsn-notify never bob@example.com <<<"x"
	assert_success
	send --dsn-notify success --dsn-ret full bob@example.com <<<"x"
	assert_success
	run mail_cmd 2
	assert_output 'MAIL FROM:<jane@example.com> RET=FULL'
	run rcpt_cmds
	assert_output "RCPT TO:<bob@example.com> NOTIFY=NEVER ORCPT=rfc822;bob@example.com
RCPT TO:<bob@example.com> NOTIFY=SUCCESS ORCPT=rfc822;bob@example.com"
}

@test "DSN: with SMTPUTF8, ORCPT of a UTF-8 address is utf-8 unitext (RFC 6533)" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME SMTPUTF8 DSN
EOF
	send --dsn-notify failure '用户@例子.测试' '"a b"@example.com' <<<"x"
	assert_success
	run rcpt_cmds
	assert_output 'RCPT TO:<用户@例子.测试> NOTIFY=FAILURE ORCPT=utf-8;用户@例子.测试
RCPT TO:<"a b"@example.com> NOTIFY=FAILURE ORCPT=rfc822;"a+20b"@example.com'
}

@test "DSN: without DSN options, no DSN parameters even when offered" {
	start_fake - <<'EOF'
CAPA PIPELINING DSN
EOF
	send bob@example.com <<<"x"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com>'
	run rcpt_cmds
	assert_output 'RCPT TO:<bob@example.com>'
}

@test "DSN not offered: a warning, no DSN parameters, the message is sent" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME
EOF
	send --dsn-notify failure --dsn-ret hdrs --envid abc bob@example.com <<<"x"
	assert_success
	[[ $stderr == *'warning'*'does not offer DSN'* ]] || fail "stderr: $stderr"
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com>'
	run rcpt_cmds
	assert_output 'RCPT TO:<bob@example.com>'
	[ -s "$DATADIR/msg-1.eml" ]
	# -q silences the warning.
	send -q --dsn-notify failure bob@example.com <<<"x"
	assert_success
	assert_equal "$stderr" ''
}

@test "DSN not offered and --dsn-required: exit 69 before MAIL" {
	start_fake - <<'EOF'
CAPA PIPELINING 8BITMIME
EOF
	send --dsn-required --dsn-notify failure bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *'DSN'* && $stderr == *'--dsn-required'* ]] || fail "stderr: $stderr"
	assert_no_transaction
}

@test "DSN options: bad values are usage errors (64)" {
	local bad
	for bad in '--dsn-notify never,success' '--dsn-notify sometimes' \
		'--dsn-notify success,,delay' '--dsn-notify=' '--dsn-ret body' \
		"--envid $(printf 'x%.0s' $(seq 101))" '--envid=' "--envid é"; do
		# shellcheck disable=SC2086 # word splitting wanted
		run --separate-stderr smtpsend --host 127.0.0.1 --port 1 $bad \
			bob@example.com </dev/null
		[ "$status" -eq 64 ] || fail "'$bad': status $status: $stderr"
	done
}

# ---------------------------------------------------------- REQUIRETLS

@test "REQUIRETLS: --require-tls over STARTTLS sends the MAIL parameter" {
	start_fake --tls - <<'EOF'
CAPA PIPELINING STARTTLS
CAPA_TLS PIPELINING 8BITMIME REQUIRETLS
EOF
	run --separate-stderr smtpsend --host localhost --port "$PORT" --timeout 10 \
		--cafile "$CERTS/ca.pem" --require-tls -f jane@example.com \
		bob@example.com <<<"x"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com> REQUIRETLS'
}

@test "REQUIRETLS: offered in clear only (forgotten after STARTTLS) is not enough: 69" {
	start_fake --tls - <<'EOF'
CAPA PIPELINING STARTTLS REQUIRETLS
CAPA_TLS PIPELINING 8BITMIME
EOF
	run --separate-stderr smtpsend --host localhost --port "$PORT" --timeout 10 \
		--cafile "$CERTS/ca.pem" --require-tls -f jane@example.com \
		bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *'REQUIRETLS'* ]] || fail "stderr: $stderr"
	assert_no_transaction
}

@test "REQUIRETLS: --require-tls to a loopback server without STARTTLS: 69, nothing sent" {
	start_fake - <<'EOF'
CAPA PIPELINING REQUIRETLS
EOF
	send --require-tls bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *'--require-tls'* ]] || fail "stderr: $stderr"
	assert_no_transaction
}

@test "REQUIRETLS: not sent without --require-tls; contradictions are usage errors" {
	start_fake - <<'EOF'
CAPA PIPELINING REQUIRETLS
EOF
	send bob@example.com <<<"x"
	assert_success
	run mail_cmd
	assert_output 'MAIL FROM:<jane@example.com>'
	send --require-tls --tls none bob@example.com <<<"x"
	assert_equal "$status" 64
	send --require-tls --insecure bob@example.com <<<"x"
	assert_equal "$status" 64
}

# ------------------------------------------------ enhanced status codes

# refined VERB 'REPLY' STATUS [CAPA]: the server answers VERB with REPLY;
# smtpsend must exit with STATUS.  ENHANCEDSTATUSCODES is advertised
# unless CAPA says otherwise.
refined() {
	local verb=$1 reply=$2 want=$3
	local capa=${4:-PIPELINING 8BITMIME ENHANCEDSTATUSCODES}
	start_fake - <<EOF
CAPA $capa
REPLY $verb $reply
EOF
	send -s refine bob@example.com <<<"x"
	stop_servers
	[ "$status" -eq "$want" ] ||
		fail "$verb '$reply' (CAPA $capa): status $status, want $want: $stderr"
	[[ $stderr == *"${reply%% *}"* ]] || fail "reply not quoted: $stderr"
}

@test "enhanced codes: 5.1.x names a recipient: 67 at RCPT and at end of data" {
	refined RCPT '550 5.1.1 no such user' 67
	refined RCPT '550 5.1.10 null MX' 67
	refined DOT '550 5.1.1 <bob@example.com>: unknown after all' 67
	refined DOT '550 5.1.6 mailbox moved' 67
	# Without ENHANCEDSTATUSCODES the code is not trusted: 69 at end of data.
	refined DOT '550 5.1.1 unknown' 69 'PIPELINING 8BITMIME'
}

@test "enhanced codes: a bad sender (5.1.7, 5.1.8, or 5.1.x at MAIL) is 65" {
	refined MAIL '553 5.1.8 Sender address rejected: Domain not found' 65
	refined MAIL '550 5.1.0 Sender address rejected: User unknown' 65
	# Postfix reports sender checks at RCPT time (smtpd_delay_reject).
	refined RCPT '450 4.1.8 Sender address rejected: Domain not found' 75
	refined RCPT '550 5.1.8 Sender address rejected: Domain not found' 65
	refined RCPT '553 5.1.7 bad sender syntax' 65
	refined MAIL '553 5.1.8 Domain not found' 69 'PIPELINING'
}

@test "enhanced codes: too big (5.3.4, 5.2.3) and content (5.6.x) are 65" {
	refined DOT '552 5.3.4 Error: message file too big' 65
	refined MAIL '552 5.3.4 Message size exceeds fixed limit' 65
	refined DOT '552 5.2.3 over the administrative limit' 65
	refined RCPT '553 5.6.7 non-ASCII addresses not permitted' 65
	refined DOT '554 5.6.9 UTF-8 header message cannot be transferred' 65
	# Plain 552 at end of data means "too big" only when SIZE is in play.
	refined DOT '552 storage exceeded' 65 'PIPELINING SIZE'
	refined DOT '552 storage exceeded' 69 'PIPELINING'
}

@test "enhanced codes: authentication (530, 535, 5.7.8-5.7.14) is 77" {
	refined MAIL '530 5.7.0 Authentication required' 77
	refined MAIL '530 Must issue a STARTTLS command first' 77 'PIPELINING'
	refined MAIL '535 5.7.8 credentials invalid' 77
	refined MAIL '554 5.7.8 credentials invalid' 77
	refined MAIL '554 5.7.9 mechanism too weak' 77
	refined MAIL '523 5.7.10 encryption needed' 77
	refined MAIL '538 5.7.11 encryption required for mechanism' 77
	refined MAIL '550 5.7.13 user account disabled' 77
	refined MAIL '550 5.7.14 trust relationship required' 77
}

@test "enhanced codes: 5.7.30 (REQUIRETLS needed on the path) is 69, even at RCPT" {
	refined RCPT '550 5.7.30 REQUIRETLS support required' 69
	refined DOT '550 5.7.30 REQUIRETLS support required' 69
}

@test "enhanced codes: what is not in the table keeps its status" {
	refined RCPT '554 5.7.1 Relay access denied' 67
	refined MAIL '554 5.7.1 not authorized' 69
	refined DOT '554 5.0.0 rejected' 69
	refined DOT '451 4.3.0 try later' 75
	refined DOT '452 4.3.4 too big right now' 75
	refined RCPT '452 4.5.3 too many recipients' 75
}

@test "enhanced codes: a refined status says what the code means" {
	refined RCPT '550 5.1.8 <jane@example.com>: Sender address rejected' 65
	[[ $stderr == *'(5.1.8: bad sender system address)'* ]] || fail "stderr: $stderr"
	refined DOT '552 5.3.4' 65
	[[ $stderr == *'552 5.3.4 (5.3.4: message too big for system)'* ]] ||
		fail "stderr: $stderr"
	# An unrefined reply is quoted as it is (design.md section 4 form).
	refined RCPT '550 5.1.1 <bob@example.com>: no such user' 67
	assert_equal "$stderr" 'smtpsend: RCPT TO:<bob@example.com>: 550 5.1.1 <bob@example.com>: no such user'
}
