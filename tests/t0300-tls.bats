#!/usr/bin/env bats
# TLS: STARTTLS and implicit TLS against a real server, certificate
# verification failures, STARTTLS downgrade and injection.

load helpers/common

send() {
	run --separate-stderr sendto -f jane@example.com "$@"
}

assert_tls_delivered() {
	[ -s "$OUT/msg-1.json" ] || fail "nothing delivered; stderr: $stderr"
	run msg_json "$OUT/msg-1.json" tls
	assert_output true
}

refute_delivered() {
	[ ! -e "$OUT/msg-1.eml" ] || fail "a message was delivered"
}

assert_cert_error() {
	assert_equal "$status" 69
	[[ ${stderr,,} == *certificate* ]] || fail "stderr does not mention the certificate: $stderr"
}

@test "STARTTLS to aiosmtpd with --cafile: delivered over TLS (--tls auto)" {
	start_aiosmtpd starttls
	send --cafile "$CERTS/ca.pem" -s 'over TLS' bob@example.com <<<"secret"
	assert_success
	assert_tls_delivered
	run check_msg "$OUT/msg-1.eml" --expect-header 'Subject=over TLS' --expect-body $'secret\n'
	assert_success
}

@test "--tls starttls to aiosmtpd requiring STARTTLS: delivered" {
	start_aiosmtpd starttls --require-starttls
	send --tls starttls --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_success
	assert_tls_delivered
}

@test "--tls implicit to aiosmtpd's TLS port: delivered" {
	start_aiosmtpd implicit
	send --tls implicit --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_success
	assert_tls_delivered
}

@test "--host localhost: the name is checked against the certificate and matches" {
	start_aiosmtpd starttls
	run --separate-stderr smtpsend --host localhost --port "$PORT" --timeout 10 \
		--tls starttls --cafile "$CERTS/ca.pem" -f jane@example.com bob@example.com <<<"x"
	assert_success
	assert_tls_delivered
}

@test "SNI carries the host name, never an IP address" {
	start_fake --tls - </dev/null
	run --separate-stderr smtpsend --host localhost --port "$PORT" --timeout 10 \
		--cafile "$CERTS/ca.pem" -f jane@example.com bob@example.com <<<"x"
	assert_success
	assert_transcript '^\* SNI localhost$'
	stop_servers
	start_fake --tls - </dev/null
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_success
	assert_transcript '^\* SNI \(none\)$'
}

@test "an IDN server name: SNI and the certificate check use its A-label" {
	# bücher.example is xn--bcher-kva.example (IDNA2008), the only name
	# the certificate carries; connecting by address, --tls-servername
	# names it in Unicode.
	CERTNAME=idn start_fake --tls - </dev/null
	send --cafile "$CERTS/ca.pem" --tls-servername 'bücher.example' \
		bob@example.com <<<"x"
	assert_success
	assert_transcript '^\* SNI xn--bcher-kva\.example$'
	assert_transcript '^\* TLS up'
	# The same name given as its A-label is the same name.
	send --cafile "$CERTS/ca.pem" --tls-servername xn--bcher-kva.example \
		bob@example.com <<<"x"
	assert_success
	# A look-alike without the umlaut is another name: refused.
	send --cafile "$CERTS/ca.pem" --tls-servername 'bucher.example' \
		bob@example.com <<<"x"
	assert_cert_error
	# A name IDNA2008 does not allow is refused before the handshake.
	stop_servers
	CERTNAME=idn start_fake --tls - </dev/null
	send --cafile "$CERTS/ca.pem" --tls-servername 'a☃b..example' \
		bob@example.com <<<"x"
	assert_equal "$status" 65
	[[ $stderr == *'--tls-servername'* ]] || fail "stderr: $stderr"
	refute_transcript '^\* TLS up'
	refute_transcript '^C: MAIL'
}

@test "--tls starttls but the server does not offer it: exit 69, no MAIL sent" {
	start_fake - </dev/null
	send --tls starttls --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *STARTTLS* ]] || fail "stderr: $stderr"
	refute_transcript '^C: MAIL'
	refute_transcript '^C: RCPT'
}

@test "bytes injected after the STARTTLS reply: exit 76, nothing sent after" {
	start_fake --tls "$SCRIPTS/starttls-injection.fake"
	send --tls starttls --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_equal "$status" 76
	refute_transcript '^C: MAIL'
	[ -z "$(ls -A "$DATADIR")" ]
}

@test "after STARTTLS the client says EHLO again" {
	start_fake --tls - </dev/null
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_success
	assert_equal "$(count_transcript '^C: EHLO ')" 2
	# The second EHLO, and MAIL, come after TLS is up.
	run awk '/^\* TLS up/ { tls = 1 } /^C: EHLO / { if (tls) after++ }
		/^C: MAIL / { if (!tls) bad = 1 } END { print after + 0, bad + 0 }' "$TRANSCRIPT"
	assert_output '1 0'
	assert_clean_transcript
}

@test "after QUIT the TLS session is closed cleanly (close_notify)" {
	start_fake --tls - </dev/null
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_success
	wait_transcript '^\* DISCONNECT 1$'
	assert_transcript '^\* TLS close_notify from client$'
	assert_clean_transcript
}

@test "an error under TLS still ends with QUIT and a clean TLS close" {
	start_fake --tls - <<'EOF'
REPLY RCPT 550 5.1.1 no such user
EOF
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_equal "$status" 67
	wait_transcript '^\* DISCONNECT 1$'
	assert_transcript '^C: QUIT$'
	assert_transcript '^\* TLS close_notify from client$'
	assert_clean_transcript
}

@test "capabilities from before STARTTLS are forgotten (8BITMIME only before TLS)" {
	start_fake --tls - <<'EOF'
CAPA PIPELINING 8BITMIME STARTTLS
CAPA_TLS PIPELINING
EOF
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"Grüße"
	assert_success
	refute_transcript '^C: MAIL .*BODY=8BITMIME'
	run check_msg "$DATADIR/msg-1.eml" --ascii-only --expect-body $'Grüße\n'
	assert_success
}

@test "capabilities offered only after STARTTLS are used (8BITMIME only after TLS)" {
	start_fake --tls - <<'EOF'
CAPA STARTTLS
CAPA_TLS PIPELINING 8BITMIME
EOF
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"Grüße"
	assert_success
	assert_transcript '^C: MAIL FROM:<jane@example\.com> .*BODY=8BITMIME'
	run check_msg "$DATADIR/msg-1.eml" --expect-body $'Grüße\n'
	assert_success
}

@test "certificate from an untrusted CA: exit 69, mentions the certificate, nothing sent" {
	CERTNAME=untrusted start_aiosmtpd starttls
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_cert_error
	refute_delivered
}

@test "no --cafile: the system store does not trust the test CA, exit 69" {
	start_aiosmtpd starttls
	send bob@example.com <<<"x"
	assert_cert_error
	refute_delivered
}

@test "certificate for another host name: exit 69" {
	CERTNAME=wronghost start_aiosmtpd starttls
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_cert_error
	refute_delivered
}

@test "expired certificate: exit 69" {
	CERTNAME=expired start_aiosmtpd starttls
	send --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_cert_error
	refute_delivered
}

@test "implicit TLS with an untrusted certificate: exit 69" {
	CERTNAME=untrusted start_aiosmtpd implicit
	send --tls implicit --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_cert_error
	refute_delivered
}

@test "--insecure with an untrusted certificate: delivered, with a loud warning" {
	CERTNAME=untrusted start_aiosmtpd starttls
	send --insecure bob@example.com <<<"x"
	assert_success
	assert_tls_delivered
	[[ ${stderr,,} == *insecure* || ${stderr,,} == *verif* ]] ||
		fail "no warning about skipped verification: $stderr"
}

@test "--tls implicit to a server speaking plain SMTP: fails with 76, quickly" {
	start_fake - </dev/null
	local start
	start=$(now)
	TIMEOUT=5 send --tls implicit bob@example.com <<<"x"
	assert_equal "$status" 76
	assert_elapsed_below "$start" "$(budget 6.5)"
}

@test "IPv6: STARTTLS to a server on ::1" {
	python -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
		skip "::1 is not available here"
	start_aiosmtpd starttls --host ::1
	run --separate-stderr smtpsend --host ::1 --port "$PORT" --timeout 10 \
		--cafile "$CERTS/ca.pem" -f jane@example.com bob@example.com <<<"x"
	assert_success
	assert_tls_delivered
	run msg_json "$OUT/msg-1.json" peer
	assert_output --partial '"::1"'
}

@test "-4 with --host ::1: nothing goes over IPv6" {
	python -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
		skip "::1 is not available here"
	start_aiosmtpd plain --host ::1
	run --separate-stderr smtpsend -4 --host ::1 --port "$PORT" --timeout 5 \
		-f jane@example.com bob@example.com <<<"x"
	[ "$status" -ne 0 ] || fail "delivered over IPv6 despite -4"
	refute_delivered
}
