#!/usr/bin/env bats
# SMTP AUTH (RFC 4954): every mechanism against aiosmtpd's AUTH handler,
# mechanism choice, failures and their exit statuses, password sources,
# and traces that never show a secret in any encoding.

load helpers/common

setup() {
	common_setup
	printf '%s\n' "$AUTH_PW" >"$T/pw"
	chmod 600 "$T/pw"
}

# asend ARGS...: STARTTLS to the auth server as alice, trace kept in $stderr.
asend() {
	run --separate-stderr sendto --cafile "$CERTS/ca.pem" -f jane@example.com -v "$@"
	printf '%s\n' "$stderr" >"$T/trace"
}

# assert_auth MECH [LOGIN]: the newest message came in after AUTH MECH.
assert_auth() {
	local j
	j=$(ls -t "$OUT"/msg-*.json 2>/dev/null | head -n 1)
	[ -n "$j" ] || fail "nothing delivered (status $status): $stderr"
	run msg_json "$j" auth_mech
	assert_output "$1"
	run msg_json "$j" auth_login
	assert_output "${2:-alice}"
}

refute_delivered() {
	[ ! -e "$OUT/msg-1.eml" ] || fail "a message was delivered"
}

@test "each password mechanism delivers, and no trace shows the password" {
	local m
	start_auth_server starttls
	for m in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
		rm -f "$OUT"/msg-*
		asend -u alice --password-file "$T/pw" --auth "$m" bob@example.com <<<"via $m"
		assert_success
		assert_auth "$m"
		refute_secret "$T/trace" "$AUTH_PW"
		[[ $stderr == *"--> AUTH $m"* ]] || fail "no AUTH $m line: $stderr"
	done
}

@test "initial responses are redacted on the AUTH line (AUTH PLAIN <redacted>)" {
	start_auth_server starttls
	asend -u alice --password-file "$T/pw" --auth PLAIN bob@example.com <<<"x"
	assert_success
	grep -qx -- '--> AUTH PLAIN <redacted>' "$T/trace" || fail "$(cat "$T/trace")"
}

@test "without --auth the strongest offered mechanism is used (SCRAM-SHA-256)" {
	start_auth_server starttls
	asend -u alice --password-file "$T/pw" bob@example.com <<<"x"
	assert_success
	assert_auth SCRAM-SHA-256
}

@test "SCRAM-SHA-256-PLUS with tls-unique channel binding (TLS 1.2), chosen by default" {
	AUTH_MECHS=$AUTH_ALL_MECHS start_auth_server starttls --tls-max 1.2
	asend -u alice --password-file "$T/pw" bob@example.com <<<"x"
	assert_success
	assert_auth SCRAM-SHA-256-PLUS
	refute_secret "$T/trace" "$AUTH_PW"
}

@test "SCRAM-SHA-1-PLUS with tls-unique channel binding (TLS 1.2)" {
	AUTH_MECHS=$AUTH_ALL_MECHS start_auth_server starttls --tls-max 1.2
	asend -u alice --password-file "$T/pw" --auth SCRAM-SHA-1-PLUS bob@example.com <<<"x"
	assert_success
	assert_auth SCRAM-SHA-1-PLUS
}

@test "-PLUS over TLS 1.3 binds with tls-exporter (the test server cannot: 535, exit 77)" {
	AUTH_MECHS=$AUTH_ALL_MECHS start_auth_server starttls
	asend -u alice --password-file "$T/pw" --auth SCRAM-SHA-256-PLUS bob@example.com <<<"x"
	assert_equal "$status" 77
	[[ $stderr == *535* ]] || fail "$stderr"
}

@test "--auth restricts and orders: LOGIN,PLAIN picks LOGIN" {
	start_auth_server starttls
	asend -u alice --password-file "$T/pw" --auth LOGIN,PLAIN bob@example.com <<<"x"
	assert_success
	assert_auth LOGIN
}

@test "--auth names a mechanism the server does not offer: exit 69 naming the offer" {
	AUTH_MECHS='PLAIN LOGIN' start_auth_server starttls
	asend -u alice --password-file "$T/pw" --auth CRAM-MD5 bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *"offers LOGIN PLAIN"* ]] || fail "$stderr"
	refute_delivered
}

@test "--auth with a mechanism smtpsend does not know: exit 64" {
	run --separate-stderr smtpsend --auth NTLMv9 -u alice --password-env NOPE bob@example.com <<<"x"
	assert_equal "$status" 64
}

@test "wrong password: exit 77 with the server's text, nothing delivered, no secret shown" {
	start_auth_server starttls
	printf 'wrong-Secret-42\n' >"$T/bad"
	chmod 600 "$T/bad"
	local m
	for m in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256; do
		asend -u alice --password-file "$T/bad" --auth "$m" bob@example.com <<<"x"
		assert_equal "$status" 77
		[[ $stderr == *"535 5.7.8"* ]] || fail "$stderr"
		refute_secret "$T/trace" wrong-Secret-42
	done
	refute_delivered
}

@test "XOAUTH2 and OAUTHBEARER with --oauth2-token-cmd; token never in the trace" {
	local m
	start_auth_server starttls
	for m in XOAUTH2 OAUTHBEARER; do
		rm -f "$OUT"/msg-*
		asend -u alice --oauth2-token-cmd "printf '%s\n' '$AUTH_TOKEN'" --auth "$m" bob@example.com <<<"x"
		assert_success
		assert_auth "$m"
		refute_secret "$T/trace" "$AUTH_TOKEN"
	done
}

@test "a token command alone picks OAUTHBEARER" {
	start_auth_server starttls
	asend -u alice --oauth2-token-cmd "echo $AUTH_TOKEN" bob@example.com <<<"x"
	assert_success
	assert_auth OAUTHBEARER
}

@test "XOAUTH2 with a bad token: the server's error is answered, exit 77" {
	start_auth_server starttls
	asend -u alice --oauth2-token-cmd 'echo expired-token' --auth XOAUTH2 bob@example.com <<<"x"
	assert_equal "$status" 77
	refute_delivered
	run --separate-stderr sendto --cafile "$CERTS/ca.pem" -f jane@example.com -u alice \
		--oauth2-token-cmd 'echo expired-token' --auth OAUTHBEARER bob@example.com <<<"x"
	assert_equal "$status" 77
}

@test "a long OAuth token (8 KiB) goes on the AUTH line" {
	local tok
	tok=$(head -c 6000 /dev/urandom | base64 -w0 | tr -d '=+/' | head -c 8000)
	AUTH_TOKEN=$tok start_auth_server starttls
	asend -u alice --oauth2-token-cmd "echo $tok" --auth XOAUTH2 bob@example.com <<<"x"
	assert_success
	assert_auth XOAUTH2
}

@test "the token may come from a password source (--auth XOAUTH2 --password-env)" {
	start_auth_server starttls
	TOKEN_VAR=$AUTH_TOKEN asend -u alice --password-env TOKEN_VAR --auth XOAUTH2 bob@example.com <<<"x"
	assert_success
	assert_auth XOAUTH2
}

@test "a failing --oauth2-token-cmd stops before connecting (exit 66)" {
	start_auth_server starttls
	asend -u alice --oauth2-token-cmd 'exit 3' bob@example.com <<<"x"
	assert_equal "$status" 66
	[[ $stderr == *"exit status 3"* ]] || fail "$stderr"
	refute_delivered
}

@test "EXTERNAL authenticates with the client certificate" {
	start_auth_server starttls --client-ca "$CERTS/ca.pem" --client-cert-optional
	asend --cert "$CERTS/client.pem" --key "$CERTS/client-key.pem" --auth EXTERNAL bob@example.com <<<"x"
	assert_success
	assert_auth EXTERNAL "smtpsend test client"
}

@test "a server that says 235 without the SCRAM proof is not trusted (exit 77)" {
	start_auth_server starttls --scram-no-final
	asend -u alice --password-file "$T/pw" --auth SCRAM-SHA-256 bob@example.com <<<"x"
	assert_equal "$status" 77
	[[ $stderr == *proving* ]] || fail "$stderr"
	refute_delivered
}

@test "a wrong SCRAM server signature is refused (exit 77), exchange cancelled with '*'" {
	start_auth_server starttls --scram-bad-final
	asend -u alice --password-file "$T/pw" --auth SCRAM-SHA-1 bob@example.com <<<"x"
	assert_equal "$status" 77
	grep -qx -- '--> \*' "$T/trace" || fail "no '*' sent: $(cat "$T/trace")"
	refute_delivered
}

@test "AUTH in clear on loopback is allowed (aiosmtpd plain, --auth-clear)" {
	start_auth_server plain --auth-clear
	run --separate-stderr sendto -f jane@example.com -u alice --password-file "$T/pw" bob@example.com <<<"x"
	assert_success
	assert_auth SCRAM-SHA-256
}

@test "a server without AUTH when credentials were given: exit 69" {
	start_aiosmtpd plain
	run --separate-stderr sendto -f jane@example.com -u alice --password-file "$T/pw" bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *"does not offer authentication"* ]] || fail "$stderr"
}

@test "AUTH is never sent in clear to a non-loopback host: exit 77 with the fix" {
	command -v unshare >/dev/null && [ "$(id -u)" = 0 ] || skip "needs root and unshare"
	unshare -n true 2>/dev/null || skip "cannot create a network namespace"
	# A private network namespace: its loopback carries a TEST-NET-1
	# address (RFC 5737) that is not a loopback address; nothing leaves it.
	run --separate-stderr unshare -n bash -c '
		ip link set lo up && ip addr add 192.0.2.25/32 dev lo || exit 99
		"$0" "$2/fakesmtpd.py" --host 192.0.2.25 --port-file "$1/port" \
			--transcript "$1/transcript" --lifetime 30 &
		for i in $(seq 50); do [ -s "$1/port" ] && break; sleep 0.1; done
		"$3" --host 192.0.2.25 --port "$(cat "$1/port")" --tls none \
			--timeout 10 -f jane@example.com -u alice --password-file "$1/pw" \
			bob@example.com </dev/null
		rc=$?; kill $!; exit $rc' "$PY" "$T" "$HELPERS" "$SMTPSEND"
	[ "$status" != 99 ] || skip "cannot configure the namespace"
	assert_equal "$status" 77
	[[ $stderr == *unencrypted* && $stderr == *"--tls starttls"* ]] || fail "$stderr"
	! grep -q '^C: AUTH' "$T/transcript" || fail "AUTH was sent"
}

@test "--password-file readable by others: a warning, still delivered" {
	start_auth_server starttls
	chmod 644 "$T/pw"
	asend -u alice --password-file "$T/pw" bob@example.com <<<"x"
	assert_success
	[[ $stderr == *"readable by group or others"* ]] || fail "$stderr"
}

@test "--password-file missing: exit 66 naming the file, before connecting" {
	start_auth_server starttls
	asend -u alice --password-file "$T/nope" bob@example.com <<<"x"
	assert_equal "$status" 66
	[[ $stderr == *"$T/nope"* ]] || fail "$stderr"
	[[ $stderr != *"connecting"* ]] || fail "connected first: $stderr"
}

@test "--password-fd reads the first line of a descriptor" {
	start_auth_server starttls
	asend -u alice --password-fd 3 bob@example.com 3<"$T/pw" <<<"x"
	assert_success
	assert_auth SCRAM-SHA-256
}

@test "--password-env reads a variable; unset is exit 66" {
	start_auth_server starttls
	MY_PW=$AUTH_PW asend -u alice --password-env MY_PW bob@example.com <<<"x"
	assert_success
	asend -u alice --password-env NOT_SET_ANYWHERE bob@example.com <<<"x"
	assert_equal "$status" 66
}

@test "--password-cmd: output used, trailing newline removed; failure is a clear error" {
	start_auth_server starttls
	asend -u alice --password-cmd "cat '$T/pw'" bob@example.com <<<"x"
	assert_success
	assert_auth SCRAM-SHA-256
	asend -u alice --password-cmd 'echo oops >&2; exit 5' bob@example.com <<<"x"
	assert_equal "$status" 66
	[[ $stderr == *"--password-cmd"*"exit status 5"* ]] || fail "$stderr"
}

@test "two password sources at once: exit 64" {
	run --separate-stderr smtpsend -u alice --password-file x --password-env Y bob@example.com <<<"x"
	assert_equal "$status" 64
}

@test "~/.netrc supplies the password for host and login" {
	start_auth_server starttls
	printf 'machine other.example login alice password nope\nmachine 127.0.0.1\n  login alice\n  password "%s"\n' "$AUTH_PW" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	asend -u alice bob@example.com <<<"x"
	assert_success
	assert_auth SCRAM-SHA-256
	[[ $stderr != *warning* ]] || fail "$stderr"
}

@test "~/.netrc supplies the login too when -u is absent (--auth given)" {
	start_auth_server starttls
	printf 'default login alice password %s\n' "$AUTH_PW" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	asend --auth PLAIN bob@example.com <<<"x"
	assert_success
	assert_auth PLAIN
}

@test "no password anywhere and no terminal: exit 64 saying where to put one" {
	start_auth_server starttls
	asend -u alice bob@example.com <<<"x"
	assert_equal "$status" 64
	[[ $stderr == *"--password-file"* ]] || fail "$stderr"
}

@test "the password is asked on the terminal without echo" {
	command -v script >/dev/null || skip "script(1) not installed"
	start_auth_server starttls
	printf 'x\n' >"$T/body"
	# script(1) gives smtpsend a terminal; the password is typed into it.
	# The password is typed only once the prompt is up (no type-ahead echo).
	run script -qec "$SMTPSEND --host 127.0.0.1 --port $PORT --timeout 10 --cafile $CERTS/ca.pem -f jane@example.com -u alice --body-file $T/body bob@example.com" /dev/null < <(sleep 1; printf '%s\n' "$AUTH_PW"; sleep 2)
	assert_success
	assert_output --partial 'Password for alice at 127.0.0.1:'
	refute_output --partial "$AUTH_PW"
	assert_auth SCRAM-SHA-256
}
