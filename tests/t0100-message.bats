#!/usr/bin/env bats
# The message: headers, encodings, body transparency.  Checked on what
# `--print` writes and on the bytes a real server (aiosmtpd) receives.

load helpers/common

FROM='Jane Ø Clayton <jane@example.com>'

# print_msg OUT ARGS... (stdin: the body): the finished message via --print,
# with line ends made CRLF if --print wrote Unix ones.
print_msg() {
	local out=$1
	shift
	smtpsend --print "$@" >"$out"
	to_crlf "$out"
}

# deliver ARGS... (stdin: the body): send to the running aiosmtpd; the
# message must arrive as $OUT/msg-1.eml.
deliver() {
	run --separate-stderr sendto "$@"
	[ "$status" -eq 0 ] || fail "smtpsend exited $status: $stderr"
	[ -s "$OUT/msg-1.eml" ] || fail "no message delivered"
	MSG=$OUT/msg-1.eml
}

# raw_header FILE NAME: the header's raw value, unfolded.
raw_header() {
	python - "$1" "$2" <<'EOF'
import re, sys
raw = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[0]
raw = re.sub(rb"\r\n[ \t]", b" ", raw)
for line in raw.split(b"\r\n"):
    name, _, value = line.partition(b":")
    if name.decode().lower() == sys.argv[2].lower():
        print(value.strip().decode("ascii", "backslashreplace"))
EOF
}

# french: a French locale when one can be built (localedef) — it must not
# leak into Date.  Sets LOCALE_ENV for `env`.
french() {
	local dir=${BATS_RUN_TMPDIR:-$BATS_FILE_TMPDIR}/locale
	LOCALE_ENV=(LC_ALL=fr_FR.UTF-8 LANG=fr_FR.UTF-8)
	if [ ! -d "$dir/fr_FR.UTF-8" ] && command -v localedef >/dev/null; then
		mkdir -p "$dir"
		flock "$dir/.lock" localedef -i fr_FR -f UTF-8 "$dir/fr_FR.UTF-8" \
			>/dev/null 2>&1 || true
	fi
	if [ -d "$dir/fr_FR.UTF-8" ]; then
		LOCALE_ENV+=(LOCPATH="$dir")
	fi
}

@test "--print: From, To, Cc present; Bcc absent and the Bcc address appears nowhere" {
	print_msg "$T/m.eml" -f "$FROM" --to bob@example.com -c carol@example.com \
		-b secret-dave@example.com -s hi erin@example.com <<<"hello"
	run check_msg "$T/m.eml" --no-header Bcc \
		--expect-header "From=$FROM" \
		--expect-header-re 'To=.*bob@example\.com.*' \
		--expect-header-re 'To=.*erin@example\.com.*' \
		--expect-header 'Cc=carol@example.com' \
		--expect-header 'Subject=hi' \
		--expect-body $'hello\n'
	assert_success
	run grep -c secret-dave "$T/m.eml"
	assert_output 0
}

@test "--print makes no connection (fake server sees nobody)" {
	start_fake - </dev/null
	run --separate-stderr sendto --print -f jane@example.com -s hi bob@example.com <<<"hello"
	assert_success
	refute_transcript '^\* CONNECT'
	assert_output --partial 'Subject: hi'
}

@test "--print: the output starts with headers, no envelope lines" {
	print_msg "$T/m.eml" -f jane@example.com -b hidden@example.com bob@example.com <<<"x"
	run head -n 1 "$T/m.eml"
	assert_output --regexp '^[A-Za-z-]+: '
	refute_output --regexp '^(X-Sender|X-Receiver|MAIL|RCPT)'
}

@test "non-ASCII subject is RFC 2047 encoded and decodes back to 'nightly ✓'" {
	print_msg "$T/m.eml" -f jane@example.com -s 'nightly ✓' bob@example.com <<<"x"
	run raw_header "$T/m.eml" Subject
	assert_output --regexp '=\?[Uu][Tt][Ff]-8\?[BbQq]\?'
	run check_msg "$T/m.eml" --expect-header 'Subject=nightly ✓'
	assert_success
}

@test "display names: unquoted and quoted UTF-8 forms decode back; specials stay quoted" {
	print_msg "$T/a.eml" -f 'Jane Ø Clayton <jane@example.com>' \
		--to 'Bob Ünal <bob@example.com>' -s x bob2@example.com <<<"x"
	run check_msg "$T/a.eml" --expect-header 'From=Jane Ø Clayton <jane@example.com>' \
		--expect-header-re 'To=.*Bob Ünal <bob@example\.com>.*'
	assert_success
	print_msg "$T/b.eml" -f '"Jane Ø Clayton" <jane@example.com>' -s x bob@example.com <<<"x"
	run check_msg "$T/b.eml" --expect-header 'From=Jane Ø Clayton <jane@example.com>'
	assert_success
	print_msg "$T/c.eml" -f '"Clayton, Jane" <jane@example.com>' -s x bob@example.com <<<"x"
	run check_msg "$T/c.eml" --expect-header 'From="Clayton, Jane" <jane@example.com>'
	assert_success
}

@test "long subjects are folded to 78 columns and decode back exactly" {
	local s1 s2
	s1='Ünïcödé status report for the nightly backup of db-01.example.com: ✓ all 42 volumes verified, 0 errors, 3 warnings — see the attached log for details'
	s2='A plain ASCII subject that is long enough to need folding because it goes on and on well past the seventy-eight column mark'
	print_msg "$T/a.eml" -f jane@example.com -s "$s1" bob@example.com <<<"x"
	run check_msg "$T/a.eml" --fold-limit 78 --expect-header "Subject=$s1"
	assert_success
	print_msg "$T/b.eml" -f jane@example.com -s "$s2" bob@example.com <<<"x"
	run check_msg "$T/b.eml" --fold-limit 78 --expect-header "Subject=$s2"
	assert_success
}

@test "subjects that cannot be folded at spaces, or look like encoded words, survive" {
	local s1 s2 s3
	s1="https://ci.example.com/$(printf 'x%.0s' {1..150})/report"
	s2=$(printf 'y%.0s' {1..1500})
	s3='=?utf-8?q?not_an_encoded_word?= really'
	print_msg "$T/a.eml" -f jane@example.com -s "$s1" bob@example.com <<<"x"
	run check_msg "$T/a.eml" --expect-header "Subject=$s1"
	assert_success
	print_msg "$T/b.eml" -f jane@example.com -s "$s2" bob@example.com <<<"x"
	run check_msg "$T/b.eml" --expect-header "Subject=$s2"
	assert_success
	print_msg "$T/c.eml" -f jane@example.com -s "$s3" bob@example.com <<<"x"
	run check_msg "$T/c.eml" --expect-header "Subject=$s3"
	assert_success
}

@test "a To list longer than a line is folded and every address survives" {
	local args=() want=() i
	for i in $(seq 1 60); do
		args+=("--to" "recipient-number-$i@example.com")
	done
	print_msg "$T/m.eml" -f jane@example.com -s x "${args[@]}" <<<"x"
	run check_msg "$T/m.eml" --fold-limit 998
	assert_success
	run python -c 'import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(len(m["To"].addresses), m["To"].addresses[59].addr_spec)' "$T/m.eml"
	assert_output '60 recipient-number-60@example.com'
}

@test "Date is RFC 5322 with English names and the right offset, whatever the locale and zone" {
	french
	env "${LOCALE_ENV[@]}" TZ=Asia/Kolkata "$SMTPSEND" --print -f jane@example.com \
		-s x bob@example.com <<<"x" >"$T/m.eml"
	to_crlf "$T/m.eml"
	run check_msg "$T/m.eml" --check-date
	assert_success
	env "${LOCALE_ENV[@]}" TZ=America/St_Johns "$SMTPSEND" --print -f jane@example.com \
		-s x bob@example.com <<<"x" >"$T/n.eml"
	to_crlf "$T/n.eml"
	run check_msg "$T/n.eml" --check-date
	assert_success
}

@test "Message-ID is present, well formed, uses the sender's or helo domain, and is unique" {
	print_msg "$T/a.eml" --helo client.test -f jane@example.com -s x bob@example.com <<<"x"
	print_msg "$T/b.eml" --helo client.test -f jane@example.com -s x bob@example.com <<<"x"
	run check_msg "$T/a.eml" \
		--expect-header-re 'Message-ID=<[^<>@ ]+@(example\.com|client\.test)>'
	assert_success
	local a b
	a=$(raw_header "$T/a.eml" Message-ID)
	b=$(raw_header "$T/b.eml" Message-ID)
	[ -n "$a" ] && [ "$a" != "$b" ] || fail "Message-IDs not unique: $a / $b"
}

@test "MIME-Version 1.0, text/plain; charset=utf-8, 7bit for an ASCII body" {
	print_msg "$T/m.eml" -f jane@example.com -s x bob@example.com <<<"just ascii"
	run check_msg "$T/m.eml" --ascii-only \
		--expect-header 'MIME-Version=1.0' \
		--expect-header-re 'Content-Type=(?i)text/plain; *charset="?utf-8"?' \
		--expect-header-re 'Content-Transfer-Encoding=(?i)7bit' \
		--expect-body $'just ascii\n'
	assert_success
}

@test "UTF-8 body to a server with 8BITMIME: 8bit, and MAIL FROM carries BODY=8BITMIME" {
	start_aiosmtpd plain
	deliver -f jane@example.com -s x bob@example.com <<<"Grüße, 東京 ✓"
	run check_msg "$MSG" --expect-header-re 'Content-Transfer-Encoding=(?i)8bit' \
		--expect-body $'Grüße, 東京 ✓\n'
	assert_success
	run msg_json "$OUT/msg-1.json" mail_options
	assert_output --partial '"BODY=8BITMIME"'
}

@test "UTF-8 body to a server without 8BITMIME: quoted-printable, 7-bit clean, decodes back" {
	start_aiosmtpd plain --no-8bitmime
	deliver -f jane@example.com -s x bob@example.com <<<"Grüße, 東京 ✓"
	run check_msg "$MSG" --ascii-only \
		--expect-header-re 'Content-Transfer-Encoding=(?i)quoted-printable' \
		--expect-body $'Grüße, 東京 ✓\n'
	assert_success
	run msg_json "$OUT/msg-1.json" mail_options
	refute_output --partial 'BODY=8BITMIME'
}

@test "an input line over 998 octets: quoted-printable, no delivered line over 998, body intact" {
	start_aiosmtpd plain
	python -c 'import sys; sys.stdout.write("short line\n" + "x" * 2500 + "\nend\n")' >"$T/body"
	deliver -f jane@example.com -s x bob@example.com <"$T/body"
	run check_msg "$MSG" --expect-header-re 'Content-Transfer-Encoding=(?i)quoted-printable' \
		--expect-body-file "$T/body"
	assert_success
}

@test "body lines starting with '.' (and a lone '.') round-trip exactly" {
	start_aiosmtpd plain
	printf '.\n..\n.hidden\nmiddle\n.\n. spaced\nend\n' >"$T/body"
	deliver -f jane@example.com -s x bob@example.com <"$T/body"
	run check_msg "$MSG" --expect-body-file "$T/body"
	assert_success
}

@test "dot-stuffing on the wire is exact (fake server transcript)" {
	start_fake - </dev/null
	printf '.\n..\nend\n' >"$T/body"
	run --separate-stderr sendto -f jane@example.com -s x bob@example.com <"$T/body"
	assert_success
	assert_transcript '^D: \.\.$'
	assert_transcript '^D: \.\.\.$'
	assert_clean_transcript
	run check_msg "$DATADIR/msg-1.eml" --expect-body-file "$T/body"
	assert_success
}

@test "LF-only input arrives with CRLF line ends; CRLF input is not doubled" {
	start_aiosmtpd plain
	printf 'one\ntwo\n\nfour\n' >"$T/lf"
	deliver -f jane@example.com -s x bob@example.com <"$T/lf"
	run check_msg "$MSG" --expect-body-file "$T/lf"
	assert_success
	stop_servers
	start_aiosmtpd plain
	printf 'one\r\ntwo\r\n' >"$T/crlf"
	deliver -f jane@example.com -s x bob@example.com <"$T/crlf"
	run check_msg "$MSG" --expect-body $'one\ntwo\n'
	assert_success
}

@test "a bare CR in the input never reaches the wire bare" {
	start_fake - </dev/null
	printf 'carriage\rreturn\nand\r\nSMTP\r\n.\r\nsmuggling\n' >"$T/body"
	run --separate-stderr sendto -f jane@example.com -s x bob@example.com <"$T/body"
	assert_success
	assert_clean_transcript
	assert_equal "$(count_transcript '^C: \.$')" 1
	run check_msg "$DATADIR/msg-1.eml"
	assert_success
}

@test "input without a final newline is delivered ending in CRLF" {
	start_aiosmtpd plain
	printf 'no newline at the end' >"$T/body"
	deliver -f jane@example.com -s x bob@example.com <"$T/body"
	run check_msg "$MSG" --dump-body "$T/got"
	assert_success
	run cat "$T/got"
	assert_output --regexp '^no newline at the end'
}

@test "empty body: a message with headers only is delivered" {
	start_aiosmtpd plain
	deliver -f jane@example.com -s 'empty' bob@example.com </dev/null
	run check_msg "$MSG" --expect-header 'Subject=empty'
	assert_success
}

@test "a 3 MiB body (spilled to a temporary file) arrives intact" {
	start_aiosmtpd plain
	python - >"$T/big" <<'EOF'
import hashlib, sys
out = sys.stdout
i = 0
size = 0
while size < 3 * 1024 * 1024 + 123:
    line = "%08d %s\n" % (i, hashlib.sha256(str(i).encode()).hexdigest())
    out.write(line)
    size += len(line)
    i += 1
EOF
	TIMEOUT=30 deliver -f jane@example.com -s big bob@example.com <"$T/big"
	run check_msg "$MSG" --quiet --dump-body "$T/got"
	assert_success
	local want got
	want=$(sha256sum <"$T/big" | cut -d' ' -f1)
	got=$(tr -d '\r' <"$T/got" | sha256sum | cut -d' ' -f1)
	assert_equal "$got" "$want"
}

@test "--body-file gives the body (stdin ignored)" {
	start_aiosmtpd plain
	printf 'from the file\n' >"$T/body"
	deliver -f jane@example.com -s x --body-file "$T/body" bob@example.com <<<"from stdin"
	run check_msg "$MSG" --expect-body $'from the file\n'
	assert_success
}

@test "a NUL byte in the body: quoted-printable, decodes to the same bytes" {
	start_aiosmtpd plain
	printf 'before\0after\nline two\n' >"$T/body"
	deliver -f jane@example.com -s x bob@example.com <"$T/body"
	run check_msg "$MSG" --expect-header-re 'Content-Transfer-Encoding=(?i)quoted-printable' \
		--expect-body-file "$T/body"
	assert_success
}

@test "invalid UTF-8 in the body is not sent as 8bit" {
	start_aiosmtpd plain
	printf 'latin-1 caf\xe9\n' >"$T/body"
	deliver -f jane@example.com -s x bob@example.com <"$T/body"
	run check_msg "$MSG" --ascii-only --expect-body-file "$T/body"
	assert_success
}
