#!/usr/bin/env bats
# Interop suite, SMTP AUTH: smtpsend against a real Postfix whose SASL is
# served by a real Dovecot (tests/interop/postfix.sh with PF_SASL=1).  Each
# mechanism Dovecot implements must deliver, a wrong password must give 77,
# and no trace may contain the password in any encoding.
#
# Skipped (with the reason) where Postfix or Dovecot is missing or we are
# not root, unless SMTPSEND_INTEROP_REQUIRED=1, as in t-postfix.bats.

load interop
PF_PW='Interop-Pässword-7!'

setup_file() {
	local why
	why=$(interop_unavailable postfix dovecot)
	if [ -n "$why" ]; then
		interop_skip "$why: skipping SASL interop tests"
		return
	fi
	pf_start pfauth PF_SASL=1 PF_SASL_PASSWORD="$PF_PW"
}

teardown_file() {
	pf_stop
}

setup() {
	[ -z "${PF_SKIP:-}" ] || skip "$PF_SKIP"
	common_setup
	printf '%s\n' "$PF_PW" >"$T/pw"
	chmod 600 "$T/pw"
}

teardown() {
	common_teardown
}

# pf_auth ARGS...: STARTTLS to Postfix as alice, -v trace kept in $T/trace.
pf_auth() {
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PF_SMTP_PORT" \
		--timeout 20 --cafile "$PF_CAFILE" -f sender@example.com -u alice -v "$@"
	printf '%s\n' "$stderr" >"$T/trace"
}

delivered() {
	"$PFSH" wait "$PF_DIR" "$1" 10
}

@test "postfix+dovecot: every mechanism Dovecot offers delivers; no trace shows the password" {
	local m rcpt f
	for m in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
		rcpt=$(echo "auth-$m" | tr 'A-Z' 'a-z')@example.com
		pf_auth --auth "$m" --password-file "$T/pw" -s "via $m" "$rcpt" <<<"authenticated with $m"
		assert_success
		[[ $stderr == *"authenticated as alice with $m"* ]] || fail "$stderr"
		refute_secret "$T/trace" "$PF_PW"
		f=$(delivered "$rcpt") || fail "not delivered: $rcpt"
		grep -q "authenticated with $m" "$f"
	done
	# Postfix logged each login with its mechanism.
	for m in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
		grep -q "sasl_method=$m, sasl_username=alice" "$PF_LOG" ||
			fail "Postfix did not log a $m login"
	done
}

@test "postfix+dovecot: without --auth the strongest mechanism (SCRAM-SHA-256) is chosen" {
	pf_auth --password-file "$T/pw" default@example.com <<<"x"
	assert_success
	[[ $stderr == *"with SCRAM-SHA-256"* ]] || fail "$stderr"
	delivered default@example.com >/dev/null
}

@test "postfix+dovecot: AUTH is not offered before TLS, so --tls none cannot authenticate (69)" {
	pf_auth --tls none --password-file "$T/pw" clear@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *"does not offer authentication"* ]] || fail "$stderr"
}

@test "postfix+dovecot: implicit TLS port, password from --password-cmd" {
	pf_auth --port "$PF_SMTPS_PORT" --tls implicit --password-cmd "cat '$T/pw'" implicit-auth@example.com <<<"x"
	[ "$status" = 0 ] || fail "status $status: $stderr"
	delivered implicit-auth@example.com >/dev/null
}

@test "postfix+dovecot: --serverinfo lists Dovecot's mechanisms after STARTTLS only" {
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PF_SMTP_PORT" --timeout 20 \
		--cafile "$PF_CAFILE" --serverinfo
	assert_success
	assert_output --partial 'AUTH mechanisms: '
	assert_output --partial 'SCRAM-SHA-256'
	assert_output --partial 'verification: trusted'
}

# Last: Dovecot slows down a client after failed logins (its auth penalty).
@test "postfix+dovecot: wrong password is exit 77 with Postfix's 535" {
	printf 'not-the-password\n' >"$T/bad"
	chmod 600 "$T/bad"
	local m
	for m in PLAIN SCRAM-SHA-256 CRAM-MD5; do
		pf_auth --auth "$m" --password-file "$T/bad" wrongpw@example.com <<<"x"
		assert_equal "$status" 77
		[[ $stderr == *535* ]] || fail "$stderr"
		refute_secret "$T/trace" not-the-password
	done
	run "$PFSH" wait "$PF_DIR" wrongpw@example.com 1
	assert_failure
}
