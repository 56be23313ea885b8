#!/usr/bin/env bats
# Header fields: -H and the fields smtpsend owns, --reply-to, --priority,
# display names, header injection, and the body's character set.

load helpers/common
load helpers/mime

# raw_header FILE NAME: every raw value of field NAME, unfolded, one a line.
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

@test "-H adds fields; a UTF-8 value is RFC 2047 encoded and decodes back; ASCII stays as typed" {
	start_aiosmtpd plain
	deliver -f jane@example.com -s x -H 'X-Report: nächtlicher Lauf ✓ fertig' \
		-H 'In-Reply-To: <abc.123@example.com>' \
		-H 'References: <a@example.com> <b@example.com>' \
		-H 'X-Tag: one' -H 'X-Tag: two' bob@example.com <<<"x"
	run check_msg "$MSG" --fold-limit 78 \
		--expect-header 'X-Report=nächtlicher Lauf ✓ fertig' \
		--expect-header 'In-Reply-To=<abc.123@example.com>' \
		--expect-header 'References=<a@example.com> <b@example.com>'
	assert_success
	run raw_header "$MSG" X-Report
	assert_output --regexp '=\?utf-8\?[bq]\?'
	run raw_header "$MSG" X-Tag
	assert_output $'one\ntwo'
}

@test "-H with CR, LF or a bad field name is refused before connecting" {
	start_fake - </dev/null
	run --separate-stderr sendto -f jane@example.com -H $'X-A: b\r\nBcc: evil@example.com' bob@example.com </dev/null
	assert_equal "$status" 65
	run --separate-stderr sendto -f jane@example.com -H $'X-A: b\nX-B: c' bob@example.com </dev/null
	assert_equal "$status" 65
	local h
	for h in 'No colon here' 'Bad Name: x' ': empty name' 'Ümlaut: x'; do
		run --separate-stderr sendto -f jane@example.com -H "$h" bob@example.com </dev/null
		[ "$status" -eq 64 ] || fail "-H '$h': status $status, want 64: $stderr"
	done
	refute_connected
}

@test "fields smtpsend owns: From/To/Cc/Bcc/MIME-Version/Content-* refused (64), with the option to use" {
	start_fake - </dev/null
	local h
	for h in 'From: x@example.com' 'to: x@example.com' 'Cc: x@example.com' \
		'Bcc: x@example.com' 'MIME-Version: 1.0' 'Content-Type: text/html' \
		'content-transfer-encoding: 8bit'; do
		run --separate-stderr sendto -f jane@example.com -H "$h" bob@example.com </dev/null
		[ "$status" -eq 64 ] || fail "-H '$h': status $status, want 64: $stderr"
		[[ $stderr == *--* ]] || fail "-H '$h': no option named in: $stderr"
	done
	refute_connected
}

@test "-H Date and Message-ID replace smtpsend's own; Subject and Reply-To are -s and --reply-to" {
	print_msg "$T/m.eml" -f jane@example.com -H 'Date: Mon, 1 Jan 2024 10:00:00 +0100' \
		-H 'Message-ID: <mine.1@example.org>' -H 'Subject: from -H ✓' \
		-H 'Reply-To: Desk <desk@example.com>' bob@example.com <<<"x"
	run check_msg "$T/m.eml" --expect-header 'Date=Mon, 01 Jan 2024 10:00:00 +0100' \
		--expect-header 'Message-ID=<mine.1@example.org>' \
		--expect-header 'Subject=from -H ✓' --expect-header 'Reply-To=Desk <desk@example.com>'
	assert_success
}

@test "owned fields cannot be duplicated by accident: twice via -H, or -H plus its option (64)" {
	local args
	for args in "-s a|-H|Subject: b" "--reply-to|a@example.com|-H|Reply-To: b@example.com" \
		"-H|Date: Mon, 1 Jan 2024 10:00:00 +0100|-H|date: Tue, 2 Jan 2024 10:00:00 +0100" \
		"-H|Message-ID: <a@b.c>|-H|Message-Id: <d@e.f>" \
		"-H|References: <a@b.c>|-H|References: <d@e.f>"; do
		IFS='|' read -r -a argv <<<"$args"
		run --separate-stderr smtpsend --print -f jane@example.com "${argv[@]}" bob@example.com </dev/null
		[ "$status" -eq 64 ] || fail "$args: status $status, want 64: $stderr"
	done
	run --separate-stderr smtpsend --print -f jane@example.com -H 'Message-ID: no-brackets' bob@example.com </dev/null
	assert_equal "$status" 65
}

@test "address fields given with -H are parsed and their display names encoded" {
	print_msg "$T/m.eml" -f jane@example.com -H 'Sender: Zoë Ångström <zoe@example.com>' \
		-H 'Mail-Followup-To: "List, The" <list@example.com>' bob@example.com <<<"x"
	run check_msg "$T/m.eml" --expect-header 'Sender=Zoë Ångström <zoe@example.com>' \
		--expect-header 'Mail-Followup-To="List, The" <list@example.com>'
	assert_success
	run --separate-stderr smtpsend --print -f jane@example.com -H 'Sender: not an address' bob@example.com </dev/null
	assert_equal "$status" 65
}

@test "--reply-to: one or more addresses, display names with specials and UTF-8" {
	start_aiosmtpd plain
	deliver -f jane@example.com -s x --reply-to '"Desk, Help; \"Tier 1\"" <desk@example.com>' \
		--reply-to '客服 <cs@example.com>' bob@example.com <<<"x"
	run python - "$MSG" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for a in m["Reply-To"].addresses:
    print(a.display_name + "|" + a.addr_spec)
EOF
	assert_output $'Desk, Help; "Tier 1"|desk@example.com\n客服|cs@example.com'
	run check_msg "$MSG" --fold-limit 78
	assert_success
}

@test "--priority high|normal|low: X-Priority and Importance as mail readers expect" {
	local p x i
	for p in high:1:high normal:3:normal low:5:low; do
		IFS=: read -r p x i <<<"$p"
		print_msg "$T/$p.eml" -f jane@example.com --priority "$p" bob@example.com <<<"x"
		run check_msg "$T/$p.eml" --expect-header-re "X-Priority=$x( \\(.*\\))?" \
			--expect-header "Importance=$i"
		assert_success
	done
	print_msg "$T/none.eml" -f jane@example.com bob@example.com <<<"x"
	run check_msg "$T/none.eml" --no-header X-Priority --no-header Importance
	assert_success
	run --separate-stderr smtpsend --print -f jane@example.com --priority urgent bob@example.com </dev/null
	assert_equal "$status" 64
}

@test "display names with quotes, commas, semicolons, emoji and CJK decode back; long ones fold" {
	local long cjk
	long="$(printf 'Ein sehr langer Anzeigename mit Ümläuten %.0s' 1 2 3)"
	long=${long% }
	cjk="$(printf '山田太郎%.0s' {1..12})"
	print_msg "$T/m.eml" -f '"O'\''Brien, \"Pat\"; Esq." <pat@example.com>' \
		--to '"Zoë 🎉 山田" <zoe@example.com>' --cc "\"$long\" <long@example.com>" \
		--reply-to "$cjk <cjk@example.com>" bob@example.com <<<"x"
	run check_msg "$T/m.eml" --fold-limit 78
	assert_success
	run python - "$T/m.eml" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for f in ("From", "To", "Cc"):
    for a in m[f].addresses:
        print(a.display_name + "|" + a.addr_spec)
EOF
	assert_line "O'Brien, \"Pat\"; Esq.|pat@example.com"
	assert_line 'Zoë 🎉 山田|zoe@example.com'
	assert_line "$long|long@example.com"
	# A name too long for one encoded word: RFC 2047 section 6.2 says the
	# space between encoded words is not part of the text, which Python's
	# address parser gets wrong, so judge it with the RFC 2047 decoder.
	run python - "$T/m.eml" <<'EOF'
import email, email.header, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
raw = m["Reply-To"]
print(str(email.header.make_header(email.header.decode_header(raw))))
EOF
	assert_output "$cjk <cjk@example.com>"
}

# inject ARGS...: a send that must be refused with 65 (fake server running).
inject() {
	run --separate-stderr sendto -f jane@example.com "$@" bob@example.com </dev/null
	[ "$status" -eq 65 ] || fail "$(printf '%q ' "$@"): status $status, want 65: $stderr"
}

@test "header injection through any user-supplied field is refused with 65 before connecting" {
	start_fake - </dev/null
	local nl=$'\n' cr=$'\r'
	mkbin "$T/x.bin" 10
	inject -s "hi${nl}Bcc: evil@example.com"
	inject -s "hi${cr}Bcc: evil@example.com"
	inject -f "Jane${cr}${nl}Bcc: evil@example.com <jane@example.com>"
	inject --to "Bob${nl}X: y <bob@example.com>"
	inject -c "Carol${nl}X: y <carol@example.com>"
	inject -b "d${nl}@example.com"
	inject --reply-to "R${nl}X: y <r@example.com>"
	inject -H "X-Ok: fine${nl}Bcc: evil@example.com"
	inject -H "X-Ok${nl}Bcc: evil@example.com"
	inject -a "$T/x.bin" --attach-name "x${nl}Bcc: evil@example.com"
	inject -a "$T/x.bin" --attach-type "text/plain${nl}Bcc: evil@example.com"
	inject --charset "latin1${nl}X: y"
	inject --priority "high${nl}X: y"
	# A file whose own name carries a line break.
	printf 'x' >"$T/evil${nl}Bcc: evil@example.com"
	inject -a "$T/evil${nl}Bcc: evil@example.com"
	[[ $stderr == *attach-name* ]] || fail "no hint: $stderr"
	refute_connected
}

@test "invalid UTF-8 from stdin arrives, labelled unknown-8bit, 7-bit clean, with a warning" {
	start_aiosmtpd plain
	printf 'cron: caf\xe9 \xff\xfe done\n' >"$T/body"
	deliver -f jane@example.com -s cron bob@example.com <"$T/body"
	[[ $stderr == *"not valid UTF-8"* ]] || fail "no warning: $stderr"
	run check_msg "$MSG" --ascii-only --expect-body-file "$T/body" \
		--expect-header-re 'Content-Type=text/plain; charset="?unknown-8bit"?' \
		--expect-header-re 'Content-Transfer-Encoding=quoted-printable'
	assert_success
}

@test "--charset: Latin-1 and Shift_JIS input is converted and arrives as UTF-8" {
	start_aiosmtpd plain
	printf 'Gr\xfc\xdfe aus K\xf6ln\n' >"$T/latin1"
	deliver -f jane@example.com -s x --charset iso-8859-1 bob@example.com <"$T/latin1"
	run check_msg "$MSG" --expect-body $'Grüße aus Köln\n' \
		--expect-header-re 'Content-Type=text/plain; charset="?utf-8"?'
	assert_success
	stop_servers
	start_aiosmtpd plain
	printf '\x93\xfa\x96\x7b\x8c\xea\n' >"$T/sjis"
	printf '<p>\x93\xfa\x96\x7b</p>\n' >"$T/p.html"
	deliver -f jane@example.com -s x --charset Shift_JIS --html "$T/p.html" bob@example.com <"$T/sjis"
	run check_msg "$MSG" --expect-body $'日本語\n'
	assert_success
	assert_equal "$(part_field "$MSG" 2 2)" utf-8
	run python -c 'import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print([p for p in m.walk() if p.get_content_type() == "text/html"][0].get_content().strip())' "$MSG"
	assert_output '<p>日本</p>'
}

@test "--charset that iconv does not know, or text not valid in it: sent as is, labelled as told" {
	printf 'abc \xe9\n' >"$T/body"
	smtpsend --print -f jane@example.com --charset x-frobnitz bob@example.com \
		<"$T/body" >"$T/m.eml" 2>"$T/err"
	grep -q x-frobnitz "$T/err" || fail "no warning: $(cat "$T/err")"
	run check_msg "$T/m.eml" --ascii-only \
		--expect-header-re 'Content-Type=text/plain; charset="?x-frobnitz"?'
	assert_success
	run --separate-stderr smtpsend --print -f jane@example.com --charset 'not a name' bob@example.com <"$T/body"
	assert_equal "$status" 64
}
