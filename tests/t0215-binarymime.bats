#!/usr/bin/env bats
# BINARYMIME (RFC 3030): with --binary-attachments, attachments travel
# unencoded (Content-Transfer-Encoding: binary) in BDAT chunks when the
# server offers CHUNKING and BINARYMIME, and in base64 as always when it
# does not.  What is checked is what the server received: MAIL's BODY=
# and SIZE=, the BDAT chunks, and the parts split byte for byte
# (binparts.py: Python's email package reads lines, which binary content
# does not have).  aiosmtpd and Postfix offer no BINARYMIME (aiosmtpd has
# no BDAT at all), so the scripted server is the one that does.

load helpers/common
load helpers/mime

BOTH='CAPA PIPELINING 8BITMIME CHUNKING BINARYMIME SIZE ENHANCEDSTATUSCODES'

send() {
	run --separate-stderr sendto -f jane@example.com "$@"
}

# mkhostile FILE SIZE: random octets (seeded) behind everything a line-based
# path would damage: a leading dot line, NUL, bare CR, bare LF, a line of
# 2000 octets, SMTP's end of data, a would-be boundary; it ends in a lone CR.
mkhostile() {
	python - "$1" "$2" <<'EOF'
import random, sys
r = random.Random(int(sys.argv[2]))
head = (b".leading dot line\r\n..two\r\n\x00nul\rbare cr\nbare lf\r\r\n"
        + b"y" * 2000 + b"\n\r\n.\r\n\r\n--=_not-a-boundary\r\n")
body = r.randbytes(max(0, int(sys.argv[2]) - len(head) - 1))
with open(sys.argv[1], "wb") as fh:
    fh.write(head + body + b"\r")
EOF
}

# binpart N [FIELD]: leaf N of the stored message as binparts.py sees it
# ("type cte size sha256 eol"), or only field FIELD (1-based) of that.
binpart() {
	local line
	line=$(python "$HELPERS/binparts.py" "${MSGFILE:-$DATADIR/msg-1.eml}" |
		awk -F'\t' -v n="$1" '$1 == "part" && $2 == n' | cut -f3-)
	if [ -n "${2:-}" ]; then
		cut -f "$2" <<<"$line"
	else
		echo "$line"
	fi
}

# The SIZE= of MAIL, the BDAT chunk sizes added up, the stored size.
mail_size() { sed -n 's/^C: MAIL FROM:.* SIZE=\([0-9]*\).*/\1/p' "$TRANSCRIPT"; }
bdat_total() {
	sed -n 's/^C: BDAT \([0-9]*\).*/\1/p' "$TRANSCRIPT" | awk '{ s += $1 } END { print s + 0 }'
}
stored_size() { stat -c %s "$DATADIR/msg-1.eml"; }

@test "BINARYMIME: MAIL says BODY=BINARYMIME, the part is binary and arrives byte for byte, text keeps CRLF" {
	start_fake - <<<"$BOTH"
	mkhostile "$T/data.bin" 100000
	send -v --binary-attachments -s bin -a "$T/data.bin" bob@example.com <<<"see attached"
	assert_success
	wait_transcript '^C: QUIT$'
	assert_transcript '^C: MAIL FROM:<jane@example.com> SIZE=[0-9]+ BODY=BINARYMIME$'
	assert_transcript '^C: BDAT [0-9]+ LAST$'
	refute_transcript '^C: DATA'
	assert_clean_transcript
	[[ $stderr == *'attachments binary (BINARYMIME)'* ]] || fail "stderr: $stderr"
	run python "$HELPERS/binparts.py" "$DATADIR/msg-1.eml"
	assert_success
	assert_line 'preamble-eol crlf'
	assert_equal "$(binpart 1 2)" 7bit
	assert_equal "$(binpart 1 5)" crlf
	assert_equal "$(binpart 2 2)" binary
	assert_equal "$(binpart 2 3)" 100000
	assert_equal "$(binpart 2 4)" "$(sha "$T/data.bin")"
	assert_equal "$(binpart 2 5)" crlf
	grep -q $'^Content-Transfer-Encoding: binary\r$' "$DATADIR/msg-1.eml"
	! grep -q 'base64' "$DATADIR/msg-1.eml" || fail "base64 in the message"
	# Not dot-stuffed: the leading dot line is there once, as it is.
	grep -q $'^\\.leading dot line\r$' "$DATADIR/msg-1.eml"
	assert_equal "$(mail_size)" "$(bdat_total)"
	assert_equal "$(mail_size)" "$(stored_size)"
}

@test "BINARYMIME: inline parts and attachments are binary, 8-bit text stays 8bit, the HTML stays text, SIZE exact" {
	start_fake - <<<"$BOTH"
	mkhostile "$T/logo.png" 3000
	mkhostile "$T/a.bin" 70001
	printf '<p>Gr\xc3\xbc\xc3\x9fe <img src="cid:logo.png"></p>\n' >"$T/page.html"
	send --binary-attachments -s mixed --html "$T/page.html" \
		--inline "$T/logo.png" -a "$T/a.bin" bob@example.com <<<"Grüße"
	assert_success
	wait_transcript '^C: QUIT$'
	assert_transcript 'BODY=BINARYMIME$'
	refute_transcript 'BODY=8BITMIME'
	assert_equal "$(binpart 1)" "$(printf 'text/plain\t8bit\t9\t%s\tcrlf' \
		"$(printf 'Gr\xc3\xbc\xc3\x9fe\r\n' | sha256sum | cut -d' ' -f1)")"
	assert_equal "$(binpart 2 1)" text/html
	assert_equal "$(binpart 2 5)" crlf
	assert_equal "$(binpart 3 2)" binary
	assert_equal "$(binpart 3 4)" "$(sha "$T/logo.png")"
	assert_equal "$(binpart 4 2)" binary
	assert_equal "$(binpart 4 4)" "$(sha "$T/a.bin")"
	assert_equal "$(mail_size)" "$(bdat_total)"
	assert_equal "$(mail_size)" "$(stored_size)"
}

@test "BINARYMIME without 8BITMIME: the attachment is binary, 8-bit text goes quoted-printable" {
	start_fake - <<'EOF'
CAPA PIPELINING CHUNKING BINARYMIME SIZE
EOF
	mkhostile "$T/a.bin" 5000
	send --binary-attachments -s q -a "$T/a.bin" bob@example.com <<<"Grüße"
	assert_success
	wait_transcript '^C: QUIT$'
	assert_transcript '^C: MAIL FROM:<jane@example.com> SIZE=[0-9]+ BODY=BINARYMIME$'
	assert_equal "$(binpart 1 2)" quoted-printable
	assert_equal "$(binpart 2 2)" binary
	assert_equal "$(binpart 2 4)" "$(sha "$T/a.bin")"
	assert_equal "$(mail_size)" "$(stored_size)"
}

@test "without --binary-attachments: base64 as always, although the server offers BINARYMIME" {
	start_fake - <<<"$BOTH"
	mkhostile "$T/a.bin" 5000
	send -s b64 -a "$T/a.bin" bob@example.com <<<"body"
	assert_success
	wait_transcript '^C: QUIT$'
	refute_transcript 'BODY='
	assert_transcript '^C: BDAT [0-9]+ LAST$'
	assert_equal "$(binpart 2 2)" base64
	assert_equal "$(binpart 2 4)" "$(sha "$T/a.bin")"
	assert_equal "$(part_field "$DATADIR/msg-1.eml" 2 9)" "$(sha "$T/a.bin")"
	assert_equal "$(mail_size)" "$(stored_size)"
}

# fallback CAPA ARGS...: --binary-attachments to a server that cannot take
# binary: delivered, base64, nothing binary declared; -v says why.
fallback() {
	local capa=$1
	shift
	start_fake - <<<"$capa"
	mkhostile "$T/a.bin" 5000
	send -v --binary-attachments "$@" -s fb -a "$T/a.bin" bob@example.com <<<"body"
	assert_success
	wait_transcript '^C: QUIT$'
	refute_transcript '^C: .*BINARYMIME'
	refute_transcript 'BODY='
	assert_equal "$(binpart 2 2)" base64
	assert_equal "$(binpart 2 4)" "$(sha "$T/a.bin")"
	assert_equal "$(part_field "$DATADIR/msg-1.eml" 2 9)" "$(sha "$T/a.bin")"
	! grep -q 'Content-Transfer-Encoding: binary' "$DATADIR/msg-1.eml"
	[[ $stderr == *"attachments in base64: $WHY"* ]] || fail "stderr: $stderr"
}

@test "--binary-attachments, server with CHUNKING but no BINARYMIME: BDAT, base64, delivered" {
	WHY='127.0.0.1 does not offer BINARYMIME (RFC 3030)'
	fallback 'CAPA PIPELINING 8BITMIME CHUNKING SIZE'
	assert_transcript '^C: BDAT [0-9]+ LAST$'
	assert_equal "$(mail_size)" "$(stored_size)"
}

@test "--binary-attachments, server with BINARYMIME but no CHUNKING: DATA, base64, delivered" {
	WHY='127.0.0.1 does not offer CHUNKING (RFC 3030)'
	fallback 'CAPA PIPELINING 8BITMIME BINARYMIME SIZE'
	assert_transcript '^C: DATA$'
	refute_transcript '^C: BDAT'
	assert_clean_transcript
}

@test "--binary-attachments --no-chunking: DATA, base64, delivered" {
	WHY='--no-chunking was given (BINARYMIME needs BDAT)'
	fallback "$BOTH" --no-chunking
	assert_transcript '^C: DATA$'
	refute_transcript '^C: BDAT'
	assert_clean_transcript
}

@test "BINARYMIME: a 5 MiB attachment goes in several chunks of at most 1 MiB, byte for byte, SIZE exact" {
	start_fake - <<<"$BOTH"
	mkhostile "$T/big.bin" $((5 * 1024 * 1024))
	TIMEOUT=60 send --binary-attachments -s big -a "$T/big.bin" bob@example.com <<<"big"
	assert_success
	wait_transcript '^C: QUIT$'
	local sizes n
	sizes=$(sed -n 's/^C: BDAT \([0-9]*\).*/\1/p' "$TRANSCRIPT")
	[ "$(wc -l <<<"$sizes")" -ge 6 ] || fail "chunks: $sizes"
	for n in $sizes; do
		[ "$n" -le 1048576 ] || fail "chunk of $n octets"
	done
	assert_equal "$(count_transcript '^C: BDAT [0-9]+ LAST$')" 1
	assert_equal "$(binpart 2 2)" binary
	assert_equal "$(binpart 2 4)" "$(sha "$T/big.bin")"
	assert_equal "$(mail_size)" "$(bdat_total)"
	assert_equal "$(mail_size)" "$(stored_size)"
}

@test "BINARYMIME without PIPELINING: each chunk waits for its reply, the part arrives byte for byte" {
	start_fake - <<'EOF'
CAPA 8BITMIME CHUNKING BINARYMIME
EOF
	mkhostile "$T/big.bin" $((1536 * 1024))
	TIMEOUT=30 send --binary-attachments -s big -a "$T/big.bin" bob@example.com <<<"big"
	assert_success
	wait_transcript '^C: QUIT$'
	assert_clean_transcript
	assert_transcript '^C: MAIL FROM:<jane@example.com> BODY=BINARYMIME$'
	assert_equal "$(count_transcript '^C: BDAT ')" 2
	assert_equal "$(binpart 2 4)" "$(sha "$T/big.bin")"
}

@test "BINARYMIME: a 64 MiB attachment streams in constant memory (peak RSS under 16 MiB)" {
	[ -x /usr/bin/time ] || skip "/usr/bin/time (Debian package time) not installed"
	start_fake - <<<"$BOTH"
	truncate -s $((64 * 1024 * 1024)) "$T/big.bin"
	run /usr/bin/time -v -o "$T/time" "$SMTPSEND" --host 127.0.0.1 --port "$PORT" \
		--timeout 120 --binary-attachments -f jane@example.com -s big \
		-a "$T/big.bin" bob@example.com </dev/null
	assert_success
	wait_transcript '^C: QUIT$'
	assert_transcript 'BODY=BINARYMIME$'
	assert_equal "$(mail_size)" "$(stored_size)"
	local rss
	rss=$(peak_rss_kib "$T/time")
	if ldd "$SMTPSEND" | grep -q libasan; then
		echo "# peak RSS ${rss} KiB (sanitizer build: not judged)" >&3
	else
		[ "$rss" -lt 16384 ] || fail "peak RSS ${rss} KiB"
	fi
}

@test "BINARYMIME: an attachment that shrinks while it is sent: exit 74, no BDAT LAST, nothing delivered" {
	start_fake - <<<"$BOTH"
	truncate -s $((512 * 1024 * 1024)) "$T/big.bin"
	sendto --timeout 60 --binary-attachments -f jane@example.com -a "$T/big.bin" \
		bob@example.com </dev/null 2>"$T/err" &
	local pid=$!
	wait_transcript '^B: [0-9]+ octets$' 10
	truncate -s 4096 "$T/big.bin"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 74
	grep -q 'shrank' "$T/err" || fail "stderr: $(cat "$T/err")"
	wait_transcript '^\* DISCONNECT' 5
	refute_transcript '^C: BDAT [0-9]+ LAST$'
	[ ! -e "$DATADIR/msg-1.eml" ] || fail "a message was stored"
}

@test "--binary-attachments as a config key and as SMTPSEND_BINARY_ATTACHMENTS; 'off' turns it off" {
	start_fake - <<<"$BOTH"
	mkhostile "$T/a.bin" 3000
	printf 'defaults\nbinary-attachments\n' >"$T/c"
	chmod 600 "$T/c"
	send -C "$T/c" -s c1 -a "$T/a.bin" bob@example.com <<<"x"
	assert_success
	printf 'defaults\nbinary-attachments off\n' >"$T/off"
	chmod 600 "$T/off"
	send -C "$T/off" -s c2 -a "$T/a.bin" bob@example.com <<<"x"
	assert_success
	SMTPSEND_BINARY_ATTACHMENTS=on send -C "$T/off" -s c3 -a "$T/a.bin" bob@example.com <<<"x"
	assert_success
	wait_transcript '^\* stored msg-3.eml'
	run grep -c '^C: MAIL FROM:.*BODY=BINARYMIME$' "$TRANSCRIPT"
	assert_output 2
	grep -q '^Content-Transfer-Encoding: binary' "$DATADIR/msg-1.eml"
	grep -q '^Content-Transfer-Encoding: base64' "$DATADIR/msg-2.eml"
	grep -q '^Content-Transfer-Encoding: binary' "$DATADIR/msg-3.eml"
}

@test "--binary-attachments: --print and --pickup-dir write base64 (7-bit safe, readable by --flush)" {
	mkhostile "$T/a.bin" 3000
	smtpsend --print -v --binary-attachments -f jane@example.com -s p \
		-a "$T/a.bin" bob@example.com <<<"x" >"$T/printed.eml" 2>"$T/err"
	grep -q 'attachments in base64: --print writes' "$T/err" || fail "stderr: $(cat "$T/err")"
	grep -q $'^Content-Transfer-Encoding: base64\r$' "$T/printed.eml"
	! grep -q 'Content-Transfer-Encoding: binary' "$T/printed.eml"
	assert_equal "$(part_field "$T/printed.eml" 2 9)" "$(sha "$T/a.bin")"
	run --separate-stderr smtpsend --pickup-dir "$T/pick" --binary-attachments \
		-f jane@example.com -s p -a "$T/a.bin" bob@example.com <<<"x"
	assert_success
	local f
	f=$T/pick/$(queued "$T/pick")
	grep -q $'^Content-Transfer-Encoding: base64\r$' "$f"
	! grep -q 'Content-Transfer-Encoding: binary' "$f"
}

@test "--binary-attachments with --queue-on-failure: the message is sent from its base64 queue file, and flushed as it is" {
	start_fake - <<EOF
$BOTH
REPLY MAIL@1 451 4.3.0 try later
EOF
	mkhostile "$T/a.bin" 70000
	send -v --binary-attachments -s q -a "$T/a.bin" --queue-on-failure "$T/q" \
		bob@example.com <<<"body"
	assert_success
	[[ $stderr == *'451 4.3.0 try later; queued as'* ]] || fail "stderr: $stderr"
	[[ $stderr == *'attachments in base64: --queue-on-failure writes the message as a file'* ]] ||
		fail "stderr: $stderr"
	grep -q $'^Content-Transfer-Encoding: base64\r$' "$T/q/$(queued "$T/q")"
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PORT" --timeout 10 \
		--binary-attachments --flush "$T/q"
	assert_success
	assert_equal "$(count_queued "$T/q")" 0
	wait_transcript '^\* stored msg-1.eml'
	assert_equal "$(count_transcript '^C: MAIL FROM:')" 2
	refute_transcript '^C: .*BINARYMIME'
	assert_equal "$(binpart 2 2)" base64
	assert_equal "$(binpart 2 4)" "$(sha "$T/a.bin")"
}

@test "--binary-attachments with --raw: the message goes as it is, without BODY=BINARYMIME" {
	start_fake - <<<"$BOTH"
	printf 'From: jane@example.com\nSubject: raw\n\nas it is\n' |
		sendto --binary-attachments --raw bob@example.com
	wait_transcript '^C: QUIT$'
	refute_transcript '^C: .*BINARYMIME'
	grep -q $'^as it is\r$' "$DATADIR/msg-1.eml"
}
