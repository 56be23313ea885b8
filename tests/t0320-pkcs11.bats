#!/usr/bin/env bats
# Client certificates on a PKCS#11 token (--cert 'pkcs11:...').
#
# setup_file makes a SoftHSM token in a private directory (SOFTHSM2_CONF
# points there, so the machine's tokens are neither used nor touched) and
# stores the test client's certificate and private key on it with p11tool;
# GnuTLS finds SoftHSM through p11-kit.  The key is marked sensitive: it
# signs on the token and never leaves it.  The server is aiosmtpd
# requiring a client certificate from the test CA, as in t0310.
#
# Needs softhsm2 and p11tool (gnutls-bin): skipped without them, except
# under CI (CI=true, set by .ci/run), where their absence is a failure.

load helpers/common

TOKEN=smtpsend-test
USER_PIN=20250611
URI="pkcs11:token=$TOKEN;object=client"

missing_tool() {
	command -v softhsm2-util >/dev/null || { echo "softhsm2-util (softhsm2)"; return; }
	command -v p11tool >/dev/null || echo "p11tool (gnutls-bin)"
}

setup_file() {
	local why dir certs
	why=$(missing_tool)
	if [ -n "$why" ]; then
		[ "${CI:-}" != true ] || { echo "$why not installed, under CI" >&2; return 1; }
		export HSM_SKIP="$why not installed"
		return 0
	fi
	dir=$BATS_FILE_TMPDIR/softhsm
	certs=${BATS_RUN_TMPDIR:-$BATS_FILE_TMPDIR}/certs
	"$BATS_TEST_DIRNAME/helpers/mkcerts.sh" "$certs"
	mkdir -p "$dir/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$dir/tokens" >"$dir/softhsm2.conf"
	export SOFTHSM2_CONF=$dir/softhsm2.conf
	{
		softhsm2-util --init-token --free --label "$TOKEN" \
			--pin "$USER_PIN" --so-pin 87654321 &&
		GNUTLS_PIN=$USER_PIN p11tool --login --write --label client --id 01 \
			--load-privkey "$certs/client-key.pem" "pkcs11:token=$TOKEN" &&
		GNUTLS_PIN=$USER_PIN p11tool --login --write --label client --id 01 \
			--load-certificate "$certs/client.pem" "pkcs11:token=$TOKEN"
	} >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; return 1; }
}

setup() {
	[ -z "${HSM_SKIP:-}" ] || skip "$HSM_SKIP"
	common_setup
	printf '%s\n' "$USER_PIN" >"$T/pin"
	printf '11111111\n' >"$T/badpin"
	chmod 600 "$T/pin" "$T/badpin"
}

send() {
	run --separate-stderr sendto --cafile "$CERTS/ca.pem" -f jane@example.com "$@"
}

start_certserver() {
	start_aiosmtpd starttls --client-ca "$CERTS/ca.pem"
}

assert_client_cert() {
	[ -s "$OUT/msg-1.json" ] || fail "nothing delivered (status $status): $stderr"
	run msg_json "$OUT/msg-1.json" client_cert
	assert_output 'smtpsend test client'
}

refute_connected() {
	[[ $stderr != *connecting* ]] || fail "connected first: $stderr"
	[ ! -e "$OUT/msg-1.eml" ] || fail "a message was delivered"
}

@test "pkcs11: the token's key signs for the server that asks; delivered with the PIN from --cert-password-file" {
	start_certserver
	send --cert "$URI;type=cert" --cert-password-file "$T/pin" bob@example.com <<<"signed on the token"
	assert_success
	assert_client_cert
	grep -q '^signed on the token' "$OUT/msg-1.eml"
	# The key really is on the token and cannot be read out.
	GNUTLS_PIN=$USER_PIN run p11tool --login --list-privkeys "pkcs11:token=$TOKEN"
	assert_output --partial 'CKA_SENSITIVE'
}

@test "pkcs11: a URI without type= and a certificate file with the key on the token both work" {
	start_certserver
	send --cert "$URI" --cert-password-file "$T/pin" bob@example.com <<<"x"
	assert_success
	assert_client_cert
	send --cert "$CERTS/client.pem" --key "$URI;type=private" \
		--cert-password-file "$T/pin" bob@example.com <<<"x"
	assert_success
	run msg_json "$OUT/msg-2.json" client_cert
	assert_output 'smtpsend test client'
}

@test "pkcs11: wrong PIN: exit 78, the token refused it, before connecting; the PIN is not shown" {
	start_certserver
	send -v --cert "$URI;type=cert" --cert-password-file "$T/badpin" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *"--cert pkcs11:token=$TOKEN"*"the token refused the PIN from --cert-password-file"* ]] ||
		fail "$stderr"
	[[ $stderr != *11111111* ]] || fail "the PIN was printed: $stderr"
	refute_connected
}

@test "pkcs11: no PIN given for a token that needs one: exit 78 asking for --cert-password-file" {
	start_certserver
	send -v --cert "$URI;type=cert" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *"the token asks for its PIN; give it with --cert-password-file"* ]] || fail "$stderr"
	refute_connected
}

@test "pkcs11: a URI that matches no object: exit 78 naming the option and the URI" {
	start_certserver
	send -v --cert "pkcs11:token=$TOKEN;object=no-such-label;type=cert" \
		--cert-password-file "$T/pin" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *"--cert pkcs11:token=$TOKEN;object=no-such-label;type=cert: no token holds an object matching this URI"* ]] ||
		fail "$stderr"
	refute_connected
	send --cert "pkcs11:token=no-such-token;object=client;type=cert" \
		--cert-password-file "$T/pin" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *"token=no-such-token"*"no token holds an object"* ]] || fail "$stderr"
}

@test "pkcs11: the certificate is there but --key names a missing object: exit 78 naming --key" {
	start_certserver
	send --cert "$URI;type=cert" --key "pkcs11:token=$TOKEN;object=gone;type=private" \
		--cert-password-file "$T/pin" bob@example.com <<<"x"
	assert_equal "$status" 78
	[[ $stderr == *"--key pkcs11:token=$TOKEN;object=gone;type=private: no token holds"* ]] || fail "$stderr"
	refute_connected
}
