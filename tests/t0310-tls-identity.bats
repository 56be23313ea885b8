#!/usr/bin/env bats
# TLS identity: client certificates in every form, public key pins,
# --tls-servername, --tls-min, --tls-priority, --serverinfo and the TLS
# session cache.

load helpers/common

setup() {
	common_setup
	printf 'test\n' >"$T/certpw"
	chmod 600 "$T/certpw"
}

send() {
	run --separate-stderr sendto --cafile "$CERTS/ca.pem" -f jane@example.com "$@"
}

# A server that requires a client certificate from the test CA.
start_certserver() {
	start_aiosmtpd starttls --client-ca "$CERTS/ca.pem" "$@"
}

assert_client_cert() {
	[ -s "$OUT/msg-1.json" ] || fail "nothing delivered (status $status): $stderr"
	run msg_json "$OUT/msg-1.json" client_cert
	assert_output 'smtpsend test client'
}

refute_delivered() {
	[ ! -e "$OUT/msg-1.eml" ] || fail "a message was delivered"
}

# pin_of CERT: the sha256//BASE64 pin of a certificate's public key.
pin_of() {
	certtool --certificate-info --load-certificate "$1" 2>/dev/null |
		awk -F 'pin-sha256:' 'NF > 1 { print "sha256//" $2; exit }'
}

@test "client certificate: PEM certificate and key" {
	start_certserver
	send --cert "$CERTS/client.pem" --key "$CERTS/client-key.pem" bob@example.com <<<"x"
	assert_success
	assert_client_cert
}

@test "client certificate: DER certificate and key" {
	start_certserver
	send --cert "$CERTS/client.der" --key "$CERTS/client-key.der" bob@example.com <<<"x"
	assert_success
	assert_client_cert
}

@test "client certificate: encrypted PKCS#8 key with --cert-password-file" {
	start_certserver
	send --cert "$CERTS/client.pem" --key "$CERTS/client-key-enc.pem" \
		--cert-password-file "$T/certpw" bob@example.com <<<"x"
	assert_success
	assert_client_cert
}

@test "encrypted key without its password: exit 78 naming the file, before connecting" {
	start_certserver
	send -v --cert "$CERTS/client.pem" --key "$CERTS/client-key-enc.pem" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *client-key-enc.pem*--cert-password-file* ]] || fail "$stderr"
	[[ $stderr != *connecting* ]] || fail "connected first: $stderr"
}

@test "encrypted key with the wrong password: exit 78" {
	start_certserver
	printf 'nope\n' >"$T/badpw"
	send --cert "$CERTS/client.pem" --key "$CERTS/client-key-enc.pem" \
		--cert-password-file "$T/badpw" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *client-key-enc.pem* ]] || fail "$stderr"
}

@test "client certificate: PKCS#12 bundle with its password" {
	start_certserver
	send --cert "$CERTS/client.p12" --cert-password-file "$T/certpw" bob@example.com <<<"x"
	assert_success
	assert_client_cert
}

@test "PKCS#12 bundle with the wrong password: exit 78" {
	start_certserver
	printf 'nope\n' >"$T/badpw"
	send --cert "$CERTS/client.p12" --cert-password-file "$T/badpw" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *client.p12* ]] || fail "$stderr"
}

@test "missing certificate file: exit 66 naming it; garbage: exit 78" {
	PORT=9
	send --cert "$T/none.pem" --key "$CERTS/client-key.pem" bob@example.com <<<"x"
	assert_equal "$status" 66
	[[ $stderr == *none.pem* ]] || fail "$stderr"
	echo garbage >"$T/junk.pem"
	send --cert "$CERTS/client.pem" --key "$T/junk.pem" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *junk.pem* ]] || fail "$stderr"
}

@test "certificate and key that do not belong together: exit 78" {
	PORT=9
	send --cert "$CERTS/client.pem" --key "$CERTS/server-key.pem" bob@example.com <<<"x"
	assert_equal "$status" 78
}

@test "the server requires a certificate and none is given: exit 77, a clear error, nothing sent" {
	start_certserver
	send bob@example.com <<<"x"
	assert_equal "$status" 77
	[[ ${stderr,,} == *certificate* ]] || fail "$stderr"
	refute_delivered
}

@test "a client certificate from an untrusted CA is refused by the server: exit 77" {
	start_certserver
	send --cert "$CERTS/client-untrusted.pem" --key "$CERTS/client-untrusted-key.pem" bob@example.com <<<"x"
	assert_equal "$status" 77
	[[ ${stderr,,} == *certificate* ]] || fail "$stderr"
	refute_delivered
}

@test "a certificate is presented only when asked: servers that do not ask still work" {
	start_aiosmtpd starttls
	send --cert "$CERTS/client.pem" --key "$CERTS/client-key.pem" bob@example.com <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" client_cert
	assert_output null
}

@test "--tls-pin with the server's key: delivered; any other pin: exit 69" {
	local pin
	pin=$(pin_of "$CERTS/server.pem")
	start_aiosmtpd starttls
	send --tls-pin "$pin" bob@example.com <<<"x"
	assert_success
	send --tls-pin "$(pin_of "$CERTS/untrusted.pem")" bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *"--tls-pin"* ]] || fail "$stderr"
	# Several pins: one match is enough.
	send --tls-pin "$(pin_of "$CERTS/untrusted.pem")" --tls-pin "$pin" bob@example.com <<<"x"
	assert_success
}

@test "--tls-pin still applies with --insecure" {
	CERTNAME=untrusted start_aiosmtpd starttls
	send --insecure --tls-pin "$(pin_of "$CERTS/server.pem")" bob@example.com <<<"x"
	assert_equal "$status" 69
	send --insecure --tls-pin "$(pin_of "$CERTS/untrusted.pem")" bob@example.com <<<"x"
	assert_success
}

@test "--tls-pin that is not sha256//BASE64: exit 64" {
	run --separate-stderr smtpsend --tls-pin md5//abc bob@example.com <<<"x"
	assert_equal "$status" 64
}

@test "--tls-servername: SNI and the certificate check use it when connecting by address" {
	start_fake --tls - </dev/null
	send --tls-servername localhost bob@example.com <<<"x"
	assert_success
	assert_transcript '^\* SNI localhost$'
	send --tls-servername wrong.example bob@example.com <<<"x"
	assert_equal "$status" 69
}

@test "--tls-min 1.3 against a TLS 1.2 server fails; 1.2 works" {
	start_aiosmtpd starttls --client-ca "$CERTS/ca.pem" --client-cert-optional --tls-max 1.2
	send --tls-min 1.3 bob@example.com <<<"x"
	assert_failure
	refute_delivered
	send --tls-min 1.2 bob@example.com <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" tls_version
	assert_output TLSv1.2
}

@test "--tls-priority is passed to GnuTLS; a bad one is exit 78 before connecting" {
	start_aiosmtpd starttls
	send --tls-priority 'NORMAL:-VERS-TLS1.3' bob@example.com <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" tls_version
	assert_output TLSv1.2
	send --tls-priority 'NORMAL:+NO-SUCH-THING' bob@example.com <<<"x"
	assert_equal "$status" 78
}

@test "--serverinfo: capabilities before and after TLS, chain with pins, AUTH; no mail" {
	start_aiosmtpd starttls
	run --separate-stderr sendto --serverinfo
	assert_success
	assert_output --partial 'Capabilities before TLS:'
	assert_output --partial '  STARTTLS'
	assert_output --partial 'Capabilities after STARTTLS:'
	assert_output --partial 'TLS: (TLS1.3)'
	assert_output --partial 'NOT trusted'
	assert_output --partial 'subject:    CN=localhost'
	assert_output --partial "--tls-pin $(pin_of "$CERTS/server.pem")"
	assert_output --partial 'AUTH mechanisms: LOGIN PLAIN'
	[ ! -e "$OUT/msg-1.eml" ]
	run --separate-stderr sendto --serverinfo --cafile "$CERTS/ca.pem"
	assert_success
	assert_output --partial 'verification: trusted for 127.0.0.1'
}

@test "--serverinfo over implicit TLS needs no recipients and reads no input" {
	start_aiosmtpd implicit
	run --separate-stderr sendto --tls implicit --serverinfo --cafile "$CERTS/ca.pem" </dev/zero
	assert_success
	assert_output --partial 'Capabilities (over TLS):'
}

@test "--tls-session-cache: the second run resumes the session; entries are private" {
	start_aiosmtpd starttls
	send -v --tls-session-cache "$T/cache" bob@example.com <<<"x"
	assert_success
	[[ $stderr == *"not resumed"* ]] || fail "$stderr"
	run stat -c '%a' "$T/cache"
	assert_output 700
	run sh -c "stat -c '%a' '$T'/cache/*.tls"
	assert_output 600
	send -v --tls-session-cache "$T/cache" bob@example.com <<<"x"
	assert_success
	[[ $stderr == *"resumed from the cache"* ]] || fail "$stderr"
	run msg_json "$OUT/msg-2.json" tls_resumed
	assert_output true
}

@test "--tls-session-cache: a session is not offered to another server name" {
	start_aiosmtpd starttls
	send -v --tls-session-cache "$T/cache" bob@example.com <<<"x"
	assert_success
	run --separate-stderr smtpsend --host localhost --port "$PORT" --timeout 10 \
		--cafile "$CERTS/ca.pem" -f jane@example.com -v \
		--tls-session-cache "$T/cache" bob@example.com <<<"x"
	assert_success
	[[ $stderr == *"not resumed"* ]] || fail "$stderr"
}

@test "--tls-session-cache: a session saved under one pin is not resumed under another; the wrong pin still fails (69)" {
	start_aiosmtpd starttls
	local pin
	pin=$(pin_of "$CERTS/server.pem")
	send -v --tls-pin "$pin" --tls-session-cache "$T/cache" bob@example.com <<<"x"
	assert_success
	send -v --tls-pin "$(pin_of "$CERTS/untrusted.pem")" \
		--tls-session-cache "$T/cache" bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr != *"resumed from the cache"* ]] || fail "$stderr"
	[[ $stderr == *"--tls-pin"* ]] || fail "$stderr"
	send -v --tls-pin "$pin" --tls-session-cache "$T/cache" bob@example.com <<<"x"
	assert_success
	[[ $stderr == *"resumed from the cache"* ]] || fail "$stderr"
}

@test "--tls-session-cache with a client certificate: resumed and still authenticated" {
	start_certserver
	local args=(--cert "$CERTS/client.pem" --key "$CERTS/client-key.pem" --tls-session-cache "$T/cache")
	send -v "${args[@]}" bob@example.com <<<"x"
	assert_success
	send -v "${args[@]}" bob@example.com <<<"x"
	assert_success
	[[ $stderr == *"resumed from the cache"* ]] || fail "$stderr"
}
