#!/usr/bin/env bats
# The test rig itself: certificates, both servers and the message checker.
# These tests do not need the smtpsend binary; when one of them fails, fix the
# rig before believing anything the other suites say.

RIG_ONLY=1
load helpers/common

# smtplib_send PORT MODE [CAFILE]: deliver a small message with Python's
# smtplib (MODE plain|starttls|implicit).
smtplib_send() {
	python - "$@" <<'EOF'
import smtplib, ssl, sys
port, mode = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=sys.argv[3]) if len(sys.argv) > 3 else None
if mode == "implicit":
    s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=10)
else:
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
if mode == "starttls":
    s.starttls(context=ctx)
s.sendmail("a@example.com", ["b@example.com"],
           b"Subject: rig\r\n\r\n.leading dot\r\nbody\r\n")
s.quit()
EOF
}

@test "mkcerts.sh: the server certificate chains to the test CA, the others do not" {
	run certtool --verify --load-ca-certificate "$CERTS/ca.pem" --infile "$CERTS/server.pem"
	assert_success
	assert_output --partial 'Verified'
	run certtool --verify --load-ca-certificate "$CERTS/ca.pem" --infile "$CERTS/untrusted.pem"
	assert_failure
	run certtool -i --infile "$CERTS/expired.pem"
	assert_output --partial 'Not After: Wed Jan 01 00:00:00 UTC 2020'
	run certtool -i --infile "$CERTS/wronghost.pem"
	assert_output --partial 'wrong.example'
	refute_output --partial 'localhost'
	[ -s "$CERTS/client.p12" ]
}

@test "aiosmtpd-server: plain, STARTTLS and implicit TLS each store what arrives" {
	local mode
	for mode in plain starttls implicit; do
		start_aiosmtpd "$mode"
		run smtplib_send "$PORT" "$mode" "$CERTS/ca.pem"
		assert_success
		wait_for_file "$OUT/msg-1.json"
		run msg_json "$OUT/msg-1.json" tls
		if [ "$mode" = plain ]; then assert_output false; else assert_output true; fi
		run msg_json "$OUT/msg-1.json" rcpt_tos
		assert_output '["b@example.com"]'
		run cat "$OUT/msg-1.eml"
		assert_output $'Subject: rig\r\n\r\n.leading dot\r\nbody\r'
		stop_servers
	done
}

@test "aiosmtpd-server: --no-8bitmime hides 8BITMIME, SMTPUTF8 stays" {
	start_aiosmtpd plain --no-8bitmime
	run python -c 'import smtplib,sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1])); s.ehlo("x")
print(sorted(s.esmtp_features)); s.quit()' "$PORT"
	assert_success
	refute_output --partial 8bitmime
	assert_output --partial smtputf8
}

@test "fakesmtpd: default session is polite, transcript exact, message stored" {
	start_fake - </dev/null
	run smtplib_send "$PORT" plain
	assert_success
	assert_transcript '^C: mail FROM:<a@example.com>'
	assert_transcript '^D: \.\.leading dot$'
	assert_transcript '^S: 250 2.0.0 Ok: queued as 1$'
	assert_transcript '^C: quit$'
	assert_clean_transcript
	run cat "$DATADIR/msg-1.eml"
	assert_output $'Subject: rig\r\n\r\n.leading dot\r\nbody\r'
}

@test "fakesmtpd: STARTTLS, then a second EHLO with the post-TLS capabilities" {
	start_fake --tls - <<'EOF'
CAPA_TLS 8BITMIME SIZE 1000
EOF
	run smtplib_send "$PORT" starttls "$CERTS/ca.pem"
	assert_success
	assert_transcript '^\* TLS up: TLSv1\.[23]'
	assert_transcript '^S: 250 SIZE 1000$'
	[ -s "$DATADIR/msg-1.eml" ]
	# smtplib closes without a TLS close_notify, and that is noticed.
	wait_transcript '^\* DISCONNECT 1$'
	assert_transcript '^!TLS_NO_CLOSE_NOTIFY '
	assert_transcript '^\* SNI \(none\)$'
}

@test "fakesmtpd: REPLY with #N, CLOSE DOT stores nothing, next connection is logged" {
	start_fake - <<'EOF'
# comments and blank lines are fine

REPLY RCPT#2 550 5.1.1 no such user
CLOSE DOT@1
EOF
	run python - "$PORT" <<'EOF'
import smtplib, sys
port = int(sys.argv[1])
s = smtplib.SMTP("127.0.0.1", port)
try:
    s.sendmail("a@x.example", ["b@x.example", "c@x.example"], b"hi\r\n")
except smtplib.SMTPServerDisconnected:
    print("dropped")
s = smtplib.SMTP("127.0.0.1", port)
r = s.sendmail("a@x.example", ["b@x.example", "c@x.example"], b"again\r\n")
print(r)
s.quit()
EOF
	assert_success
	assert_line 'dropped'
	assert_line --partial "no such user"
	assert_transcript '^\* server closes the connection \(CLOSE DOT\)'
	assert_equal "$(count_transcript '^\* CONNECT')" 2
	[ ! -e "$DATADIR/msg-2.eml" ]
	run cat "$DATADIR/msg-1.eml"
	assert_output $'again\r'
}

@test "fakesmtpd: bare LF, bare CR and unrequested pipelining are flagged" {
	start_fake - <<'EOF'
CAPA 8BITMIME
EOF
	run python - "$PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO x\r\n")
while not f.readline().startswith(b"250 "): pass
s.sendall(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n")
f.readline(); f.readline()
s.sendall(b"DATA\r\n"); f.readline()
s.sendall(b"one\ntwo\rthree\r\n.\r\n"); f.readline()
s.sendall(b"QUIT\r\n"); f.readline()
EOF
	assert_success
	assert_transcript '^!PIPELINED '
	assert_transcript '^!BARE_LF '
	assert_transcript '^!BARE_CR '
}

@test "fakesmtpd: SILENT, GARBAGE, LONGLINE, INJECT_AFTER_STARTTLS" {
	start_fake --tls - <<'EOF'
GARBAGE MAIL@1
LONGLINE MAIL@2 5000
SILENT GREETING@3
INJECT_AFTER_STARTTLS 250 injected\r\n
EOF
	run python - "$PORT" <<'EOF'
import socket, sys
port = int(sys.argv[1])
def talk(lines):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(1)
    f = s.makefile("rb")
    out = [f.readline()]
    for l in lines:
        s.sendall(l)
        out.append(f.readline())
    return out
print(talk([b"HELO x\r\n", b"MAIL FROM:<a@x>\r\n"])[2])
print(len(talk([b"HELO x\r\n", b"MAIL FROM:<a@x>\r\n"])[2]))
try:
    talk([])
except socket.timeout:
    print("silent")
print(talk([b"HELO x\r\n", b"STARTTLS\r\n", b""])[2:])
EOF
	assert_success
	assert_line --index 0 --partial 'hello there'
	assert_line --index 1 5002
	assert_line --index 2 silent
	assert_line --index 3 "[b'220 2.0.0 Ready to start TLS\\r\\n', b'250 injected\\r\\n']"
}

@test "fakesmtpd: a client talking before the greeting is flagged" {
	start_fake - <<'EOF'
DELAY GREETING 0.3
EOF
	run python -c 'import socket,sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"EHLO early\r\n")
f = s.makefile("rb"); print(f.readline()); s.sendall(b"QUIT\r\n"); f.read()' "$PORT"
	assert_success
	assert_transcript '^!EARLY_TALKER '
}

@test "fakesmtpd: DRIP sends replies one octet at a time" {
	start_fake - <<'EOF'
DRIP 50
EOF
	local start
	start=$(now)
	run python -c 'import socket,sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
first = s.recv(100)
print(len(first) < 10); print(s.makefile("rb").readline())' "$PORT"
	# Under load a few octets may already wait at the first read; the
	# point is that the line does not arrive whole.
	assert_success
	assert_line --index 0 True
	assert_line --index 1 "b'20 fake.test ESMTP fakesmtpd\\r\\n'"
	assert_elapsed_below "$start" 5
}

@test "checkmsg.py: accepts a good message and decodes its headers" {
	printf 'From: =?utf-8?q?Jane_=C3=98_Clayton?= <jane@example.com>\r\nSubject: =?utf-8?b?bmlnaHRseSDinJM=?=\r\nMIME-Version: 1.0\r\n\r\n.hi\r\n' >"$T/good.eml"
	run check_msg "$T/good.eml" --expect-header 'Subject=nightly ✓' \
		--expect-header 'From=Jane Ø Clayton <jane@example.com>' \
		--no-header Bcc --expect-body $'.hi\n' --fold-limit 78
	assert_success
	assert_line 'Subject: nightly ✓'
}

@test "checkmsg.py: refuses bare LF, long lines, raw 8-bit headers, defects, mismatches" {
	printf 'Subject: a\r\n\r\nx\ny\r\n' >"$T/m1"
	run check_msg "$T/m1"
	assert_failure
	assert_output --partial 'bare LF'
	{ printf 'Subject: a\r\n\r\n'; head -c 999 /dev/zero | tr '\0' a; printf '\r\n'; } >"$T/m2"
	run check_msg "$T/m2"
	assert_failure
	assert_output --partial '999 octets'
	printf 'Subject: caf\xc3\xa9\r\n\r\nx\r\n' >"$T/m3"
	run check_msg "$T/m3"
	assert_failure
	assert_output --partial '8-bit'
	printf 'From: <<broken\r\n\r\nx\r\n' >"$T/m4"
	run check_msg "$T/m4"
	assert_failure
	assert_output --partial 'defect'
	printf 'Subject: a\r\nBcc: x@example.com\r\n\r\nx\r\n' >"$T/m5"
	run check_msg "$T/m5" --no-header Bcc
	assert_failure
	run check_msg "$T/m5" --expect-header 'Subject=b'
	assert_failure
	run check_msg "$T/m5" --expect-body y
	assert_failure
	printf 'Subject: a\r\n\r\nx\ry\r\n' >"$T/m6"
	run check_msg "$T/m6"
	assert_failure
	assert_output --partial 'bare CR'
}
