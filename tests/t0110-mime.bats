#!/usr/bin/env bats
# MIME composition: attachments, HTML alternative, inline images, file
# names, media types, boundaries.  Every message is judged by independent
# parsers: Python's email package (checkmsg.py, mimeparts.py) and, for
# the attachments' bytes, munpack (Debian's mpack).

load helpers/common
load helpers/mime

FROM='Jane Ø Clayton <jane@example.com>'

@test "a plain body alone: no multipart wrapper" {
	print_msg "$T/m.eml" -f "$FROM" -s hi bob@example.com <<<"just text"
	assert_tree "$T/m.eml" text/plain
	run grep -ci 'multipart\|boundary' "$T/m.eml"
	assert_output 0
}

@test "-a: multipart/mixed, body first, each attachment base64 and byte-exact (sent to aiosmtpd)" {
	start_aiosmtpd plain
	mkbin "$T/data.bin" 100000
	printf 'id,name\n1,Zoë\n' >"$T/table.csv"
	printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n' >"$T/report.pdf"
	deliver -f "$FROM" -s 'Anhänge 📎 添付ファイル' -a "$T/data.bin" -a "$T/table.csv" \
		--attach "$T/report.pdf" bob@example.com <<<"see attached"
	run check_msg "$MSG" --fold-limit 78 --expect-body $'see attached\n' \
		--expect-header 'Subject=Anhänge 📎 添付ファイル'
	assert_success
	assert_tree "$MSG" 'multipart/mixed(text/plain,application/octet-stream,text/csv,application/pdf)'
	local n f
	n=2
	for f in data.bin table.csv report.pdf; do
		assert_equal "$(part_field "$MSG" $n 3)" base64
		assert_equal "$(part_field "$MSG" $n 4)" attachment
		assert_equal "$(part_field "$MSG" $n 5)" "$f"
		assert_equal "$(part_field "$MSG" $n 6)" "$f"
		assert_equal "$(part_field "$MSG" $n 9)" "$(sha "$T/$f")"
		n=$((n + 1))
	done
	# The attachments are 7-bit on the wire: no BODY=8BITMIME needed.
	run msg_json "$OUT/msg-1.json" mail_options
	refute_output --partial 8BITMIME
}

@test "munpack (a second, independent MIME decoder) extracts the same bytes" {
	command -v munpack >/dev/null || skip "munpack (Debian package mpack) not installed"
	mkbin "$T/a.bin" 54321
	mkbin "$T/b.bin" 57
	: >"$T/empty.dat"
	printf '<p>hi <img src="cid:logo.png"></p>\n' >"$T/page.html"
	mkbin "$T/logo.png" 3000
	print_msg "$T/m.eml" -f "$FROM" -s x --html "$T/page.html" --inline "$T/logo.png" \
		-a "$T/a.bin" -a "$T/b.bin" -a "$T/empty.dat" bob@example.com <<<"body"
	mkdir "$T/out"
	(cd "$T/out" && munpack -f -q "$T/m.eml") >/dev/null
	local f
	for f in a.bin b.bin logo.png; do
		[ -f "$T/out/$f" ] || fail "munpack did not extract $f: $(ls "$T/out")"
		assert_equal "$(sha "$T/out/$f")" "$(sha "$T/$f")"
	done
}

@test "--html: multipart/alternative with text/plain first and text/html last" {
	start_aiosmtpd plain
	printf '<html><body><p>Grüße</p></body></html>\n' >"$T/page.html"
	deliver -f "$FROM" -s html --html "$T/page.html" bob@example.com <<<"Grüße"
	run check_msg "$MSG" --fold-limit 78
	assert_success
	assert_tree "$MSG" 'multipart/alternative(text/plain,text/html)'
	assert_equal "$(part_field "$MSG" 2 9)" "$(sha "$T/page.html")"
	assert_equal "$(part_field "$MSG" 1 2)" utf-8
	assert_equal "$(part_field "$MSG" 2 2)" utf-8
}

@test "--html --inline -a: mixed > alternative > (plain, related > (html, inline)), then attachments" {
	start_aiosmtpd plain
	printf '<p><img src="cid:logo.png"><img src="cid:chart.gif"></p>\n' >"$T/page.html"
	mkbin "$T/logo.png" 2048
	printf 'GIF89a\x01\x00\x01\x00\x00\x00\x00;' >"$T/chart.gif"
	mkbin "$T/report.pdf" 4096
	deliver -f "$FROM" -s report --html "$T/page.html" --inline "$T/logo.png" \
		-a "$T/report.pdf" --inline "$T/chart.gif" bob@example.com <<<"plain version"
	run check_msg "$MSG" --fold-limit 78
	assert_success
	assert_tree "$MSG" 'multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png,image/gif)),application/pdf)'
	# Inline parts: Content-ID <NAME>, disposition inline.
	assert_equal "$(part_field "$MSG" 3 4)" inline
	assert_equal "$(part_field "$MSG" 3 7)" '<logo.png>'
	assert_equal "$(part_field "$MSG" 3 9)" "$(sha "$T/logo.png")"
	assert_equal "$(part_field "$MSG" 4 7)" '<chart.gif>'
	assert_equal "$(part_field "$MSG" 5 4)" attachment
	assert_equal "$(part_field "$MSG" 5 7)" -
	# RFC 2387: multipart/related names its root's type.
	run python - "$MSG" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
rel = [p for p in m.walk() if p.get_content_type() == "multipart/related"][0]
print(rel.get_param("type"))
EOF
	assert_output text/html
}

@test "an empty body with --html: no empty text/plain part; with -a only: just the attachment" {
	printf '<p>only html</p>\n' >"$T/page.html"
	print_msg "$T/a.eml" -f "$FROM" --html "$T/page.html" bob@example.com </dev/null
	assert_tree "$T/a.eml" text/html
	mkbin "$T/x.bin" 10
	print_msg "$T/b.eml" -f "$FROM" -a "$T/x.bin" bob@example.com </dev/null
	assert_tree "$T/b.eml" 'multipart/mixed(application/octet-stream)'
	run check_msg "$T/b.eml"
	assert_success
}

@test "file names: only the base name; emoji, CJK, quotes, commas and semicolons decode back" {
	local dir=$T/some/where name1 name2 name3
	mkdir -p "$dir"
	name1='Quartalsbericht Q3 ✓ 📈.pdf'
	name2='東京の報告書.txt'
	name3='Smith, "Jr"; notes.txt'
	mkbin "$dir/$name1" 1000
	printf 'テキスト\n' >"$dir/$name2"
	printf 'plain\n' >"$dir/$name3"
	print_msg "$T/m.eml" -f "$FROM" -s names -a "$dir/$name1" -a "$dir/$name2" \
		-a "$dir/$name3" bob@example.com <<<"x"
	run check_msg "$T/m.eml" --fold-limit 78 --allow-2047-name
	assert_success
	run grep -c "some/where" "$T/m.eml"
	assert_output 0
	local n=2 name
	for name in "$name1" "$name2" "$name3"; do
		assert_equal "$(part_field "$T/m.eml" $n 5)" "$name"
		assert_equal "$(part_field "$T/m.eml" $n 6)" "$name"
		assert_equal "$(part_field "$T/m.eml" $n 9)" "$(sha "$dir/$name")"
		n=$((n + 1))
	done
	# Non-ASCII: RFC 2231 filename* and an RFC 2047 name= (for Outlook).
	run grep -c "filename\*[0-9]*\*\?=utf-8''" "$T/m.eml"
	assert_output 2
	run grep -ci 'name="=?utf-8?' "$T/m.eml"
	assert_output 2
}

@test "a very long non-ASCII file name is split into RFC 2231 continuations within 78 columns" {
	local name
	name="$(printf 'Ünïcödé-%.0s' {1..18})Ende.txt"
	printf 'x\n' >"$T/$name" || skip "file system refuses the name"
	print_msg "$T/m.eml" -f "$FROM" -a "$T/$name" bob@example.com <<<"x"
	run check_msg "$T/m.eml" --fold-limit 78 --allow-2047-name
	assert_success
	assert_equal "$(part_field "$T/m.eml" 2 5)" "$name"
	assert_equal "$(part_field "$T/m.eml" 2 6)" "$name"
	run grep -c "filename\*1\*=" "$T/m.eml"
	assert_output 1
}

@test "--attach-name and --attach-type override the part that precedes them" {
	mkbin "$T/blob" 500
	printf 'a;b\n1;2\n' >"$T/export"
	print_msg "$T/m.eml" -f "$FROM" -a "$T/blob" --attach-name 'Bericht März.pdf' \
		--attach-type application/pdf -a "$T/export" \
		--attach-type 'text/csv; charset=iso-8859-1; header=present' bob@example.com <<<"x"
	run check_msg "$T/m.eml" --allow-2047-name
	assert_success
	run part_line "$T/m.eml" 2
	assert_output --regexp $'^part\t2\tapplication/pdf\t-\tbase64\tattachment\tBericht März\\.pdf\t'
	assert_equal "$(part_field "$T/m.eml" 2 9)" "$(sha "$T/blob")"
	assert_equal "$(part_field "$T/m.eml" 3 1)" text/csv
	assert_equal "$(part_field "$T/m.eml" 3 2)" iso-8859-1
	assert_equal "$(part_field "$T/m.eml" 3 5)" export
}

@test "media types: mime.types by extension, libmagic when it is unknown, octet-stream last" {
	grep -q '^application/pdf' /etc/mime.types || skip "no /etc/mime.types (Debian package media-types)"
	mkbin "$T/doc.pdf" 100
	python -c 'import sys, zlib, struct
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b""))' >"$T/picture.unknownext"
	printf 'Dec 12 backup: done ✓\n' >"$T/cron.log"
	mkbin "$T/noise.xyz123" 4000
	print_msg "$T/m.eml" -f "$FROM" -a "$T/doc.pdf" -a "$T/picture.unknownext" \
		-a "$T/cron.log" -a "$T/noise.xyz123" bob@example.com <<<"x"
	assert_tree "$T/m.eml" 'multipart/mixed(text/plain,application/pdf,image/png,text/plain,application/octet-stream)'
	# A text attachment says its charset (RFC 2046: else US-ASCII).
	assert_equal "$(part_field "$T/m.eml" 4 2)" utf-8
}

@test "attachment errors stop the run before connecting: missing, directory, unreadable (66)" {
	start_fake - </dev/null
	run --separate-stderr sendto -f jane@example.com -a "$T/nope.pdf" bob@example.com <<<"x"
	assert_equal "$status" 66
	[[ $stderr == *nope.pdf* ]] || fail "stderr does not name the file: $stderr"
	run --separate-stderr sendto -f jane@example.com -a "$T" bob@example.com <<<"x"
	assert_equal "$status" 66
	[[ $stderr == *directory* ]] || fail "stderr: $stderr"
	# /proc/self/mem opens but cannot be read at offset 0 (EIO), even as root.
	run --separate-stderr sendto -f jane@example.com -a /proc/self/mem bob@example.com <<<"x"
	assert_equal "$status" 66
	if [ "$(id -u)" != 0 ]; then
		printf 'secret\n' >"$T/locked"
		chmod 000 "$T/locked"
		run --separate-stderr sendto -f jane@example.com -a "$T/locked" bob@example.com <<<"x"
		assert_equal "$status" 66
	fi
	run --separate-stderr sendto -f jane@example.com --html "$T/missing.html" bob@example.com <<<"x"
	assert_equal "$status" 66
	refute_connected
}

@test "an attachment from a pipe (process substitution) is captured and sent" {
	print_msg "$T/m.eml" -f "$FROM" -a <(printf 'from a pipe\n') --attach-name pipe.txt \
		bob@example.com <<<"x"
	run check_msg "$T/m.eml"
	assert_success
	assert_equal "$(part_field "$T/m.eml" 2 5)" pipe.txt
	assert_equal "$(part_field "$T/m.eml" 2 9)" "$(printf 'from a pipe\n' | sha256sum | cut -d' ' -f1)"
}

@test "--inline needs --html; an inline name must be usable as a Content-ID (64)" {
	mkbin "$T/logo.png" 10
	run --separate-stderr smtpsend --print -f jane@example.com --inline "$T/logo.png" bob@example.com <<<"x"
	assert_equal "$status" 64
	printf '<p>x</p>\n' >"$T/p.html"
	cp "$T/logo.png" "$T/my logo.png"
	run --separate-stderr smtpsend --print -f jane@example.com --html "$T/p.html" \
		--inline "$T/my logo.png" bob@example.com <<<"x"
	assert_equal "$status" 64
	[[ $stderr == *attach-name* ]] || fail "no hint in: $stderr"
	run --separate-stderr smtpsend --print -f jane@example.com --html "$T/p.html" \
		--inline "$T/my logo.png" --attach-name my-logo.png bob@example.com <<<"x"
	assert_success
	[[ $output == *'Content-ID: <my-logo.png>'* ]] || fail "no Content-ID: $output"
}

@test "--attach-type/--attach-name misuse: before any -a, twice, or not a media type (64)" {
	mkbin "$T/x.bin" 10
	local args
	for args in "--attach-type text/plain -a $T/x.bin" \
		"-a $T/x.bin --attach-name a --attach-name b" \
		"-a $T/x.bin --attach-type notatype" \
		"-a $T/x.bin --attach-type text/plain;" \
		"-a $T/x.bin --attach-type a/b;c"; do
		# shellcheck disable=SC2086 # word splitting wanted
		run --separate-stderr smtpsend --print -f jane@example.com $args bob@example.com </dev/null
		[ "$status" -eq 64 ] || fail "$args: status $status, want 64: $stderr"
	done
}

@test "boundaries are random, differ per part and per message, and occur nowhere in the content" {
	printf -- '--=_not-our-boundary\nContent-Type: text/html\n\n--=_\n' >"$T/body"
	printf '<p>x</p>\n' >"$T/p.html"
	mkbin "$T/x.bin" 10
	print_msg "$T/a.eml" -f "$FROM" --html "$T/p.html" -a "$T/x.bin" bob@example.com <"$T/body"
	print_msg "$T/b.eml" -f "$FROM" --html "$T/p.html" -a "$T/x.bin" bob@example.com <"$T/body"
	run check_msg "$T/a.eml" --expect-body-file "$T/body"
	assert_success
	assert_tree "$T/a.eml" 'multipart/mixed(multipart/alternative(text/plain,text/html),application/octet-stream)'
	local ba bb b
	ba=$(grep -o 'boundary="[^"]*"' "$T/a.eml" | sort -u)
	bb=$(grep -o 'boundary="[^"]*"' "$T/b.eml" | sort -u)
	assert_equal "$(wc -l <<<"$ba")" 2
	[ "$ba" != "$bb" ] || fail "same boundaries in two messages: $ba"
	for b in $(sed 's/boundary="\(.*\)"/\1/' <<<"$ba"); do
		[ ${#b} -ge 20 ] || fail "short boundary $b"
		run grep -c -- "$b" "$T/body"
		assert_output 0
	done
}

@test "every line of a composed message stays within 998 octets, headers within 78" {
	python -c 'print("x" * 5000)' >"$T/long.html"
	mkbin "$T/x.bin" 100000
	print_msg "$T/m.eml" -f "$FROM" -s "$(printf 'Ünïcödé %.0s' {1..30})" \
		--html "$T/long.html" -a "$T/x.bin" bob@example.com <<<"$(python -c 'print("y" * 3000)')"
	run check_msg "$T/m.eml" --fold-limit 78
	assert_success
	run awk 'length > 998' "$T/m.eml"
	assert_output ''
}

@test "--print writes CRLF line ends only, and the message it prints is what is delivered" {
	start_fake - </dev/null
	printf '<p>x</p>\n' >"$T/p.html"
	mkbin "$T/x.bin" 3000
	printf 'one\n.two\nthree' >"$T/body"
	print_msg "$T/p.eml" -f "$FROM" -s same --html "$T/p.html" -a "$T/x.bin" \
		-H 'Message-ID: <fixed@example.com>' -H 'Date: Mon, 1 Jan 2024 00:00:00 +0000' \
		bob@example.com <"$T/body"
	run python -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.count(b"\n") - d.count(b"\r\n"), d.count(b"\r") - d.count(b"\r\n"))' "$T/p.eml"
	assert_output '0 0'
	run --separate-stderr sendto -f "$FROM" -s same --html "$T/p.html" -a "$T/x.bin" \
		-H 'Message-ID: <fixed@example.com>' -H 'Date: Mon, 1 Jan 2024 00:00:00 +0000' \
		bob@example.com <"$T/body"
	assert_success
	# Same structure and content; only the random boundaries differ.
	python - "$T/p.eml" "$DATADIR/msg-1.eml" <<'EOF'
import re, sys
a, b = (open(f, "rb").read() for f in sys.argv[1:3])
norm = lambda d: re.sub(rb"=_[0-9a-v]{24}", b"=_B", d)
sys.exit(0 if norm(a) == norm(b) else 1)
EOF
}
