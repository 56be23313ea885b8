#!/usr/bin/env bats
# Interop suite, GSSAPI: Kerberos single sign-on through a real KDC.
#
# setup_file creates a throwaway MIT Kerberos realm (tests/interop/kdc.sh:
# KDC on a free 127.0.0.1 port, principals alice, smtp/localhost and
# custom/localhost in a keytab, pop/localhost in none) and a Postfix whose
# SASL is served by a Dovecot that accepts GSSAPI with that keytab
# (postfix.sh with PF_SASL=1 PF_SASL_KEYTAB=...).  Each test gets its own
# credential cache from `kinit alice` with a password, as a user would.
#
# The client connects to "localhost": that name is in the server's
# certificate and in the service principals, and the realm's krb5.conf
# turns off DNS canonicalisation, so nothing depends on the machine's DNS.
#
# Skipped (with the reason) where Postfix, Dovecot's GSSAPI module or the
# MIT Kerberos tools are missing or we are not root, unless
# SMTPSEND_INTEROP_REQUIRED=1, as in t-postfix.bats.

load interop
KDCSH=$INTEROP_DIR/kdc.sh
KRB_PW='alice-Krb-Pässword-3'

missing_tool() {
	local p
	PATH=$PATH:/usr/sbin:/sbin
	command -v postfix >/dev/null || { echo "Postfix not installed"; return; }
	command -v dovecot >/dev/null || { echo "Dovecot not installed (dovecot-core)"; return; }
	[ -e /usr/lib/dovecot/modules/auth/libmech_gssapi.so ] ||
		{ echo "Dovecot's GSSAPI module not installed (dovecot-gssapi)"; return; }
	for p in krb5kdc:krb5-kdc kadmin.local:krb5-admin-server kinit:krb5-user klist:krb5-user; do
		command -v "${p%%:*}" >/dev/null ||
			{ echo "${p%%:*} not installed (${p#*:})"; return; }
	done
	[ "$(id -u)" = 0 ] || echo "not root"
}

setup_file() {
	local why
	why=$(missing_tool)
	if [ -n "$why" ]; then
		interop_skip "$why: skipping GSSAPI interop tests"
		return
	fi
	# Reachable by Dovecot's and Postfix's unprivileged users (0755).
	GSS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-gssapi.XXXXXX")
	chmod 755 "$GSS_DIR"
	export GSS_DIR PF_DIR=$GSS_DIR/postfix
	if ! KDC_PASSWORD=$KRB_PW KDC_SERVICES='smtp custom' KDC_OTHER_SERVICES=pop \
		"$KDCSH" start "$GSS_DIR/kdc" >"$BATS_FILE_TMPDIR/kdc-start.log" 2>&1; then
		cat "$BATS_FILE_TMPDIR/kdc-start.log" >&2
		return 1
	fi
	# shellcheck disable=SC1091
	. "$GSS_DIR/kdc/kdc.env"
	export KDC_REALM KRB5_CONFIG KDC_KEYTAB KDC_LOG
	if ! PF_SASL=1 PF_SASL_KEYTAB=$KDC_KEYTAB PF_SASL_KRB5_CONFIG=$KRB5_CONFIG \
		"$PFSH" start "$PF_DIR" >"$BATS_FILE_TMPDIR/postfix-start.log" 2>&1; then
		cat "$BATS_FILE_TMPDIR/postfix-start.log" >&2
		return 1
	fi
	# shellcheck disable=SC1091
	. "$PF_DIR/instance.env"
	export PF_SMTP_PORT PF_SMTPS_PORT PF_CAFILE PF_LOG
}

teardown_file() {
	[ -n "${GSS_DIR:-}" ] || return 0
	"$PFSH" stop "$PF_DIR"
	"$KDCSH" stop "$GSS_DIR/kdc"
	[ -n "${KEEP_POSTFIX:-}" ] || rm -rf "$GSS_DIR"
}

setup() {
	[ -z "${PF_SKIP:-}" ] || skip "$PF_SKIP"
	common_setup
	# A private credential cache and no keytab of the machine's.
	export KRB5CCNAME=FILE:$T/krb5cc KRB5_KTNAME=FILE:$T/no.keytab
}

teardown() {
	common_teardown
}

login() {
	printf '%s\n' "$KRB_PW" | kinit alice >"$T/kinit.log" 2>&1 ||
		fail "kinit failed: $(cat "$T/kinit.log")"
}

# gss ARGS...: STARTTLS to Postfix as "localhost" with GSSAPI; -v trace in $T/trace.
gss() {
	run --separate-stderr smtpsend --host localhost --port "$PF_SMTP_PORT" \
		--timeout 20 --cafile "$PF_CAFILE" -f sender@example.com \
		--auth GSSAPI -v "$@"
	printf '%s\n' "$stderr" >"$T/trace"
}

delivered() {
	"$PFSH" wait "$PF_DIR" "$1" 10
}

# Nothing of the message left smtpsend: no MAIL or RCPT in the trace.
refute_sent() {
	! grep -qE -e '--> (MAIL|RCPT)' "$T/trace" || fail "a transaction was started: $(cat "$T/trace")"
}

# The tickets in the test's credential cache, one service principal a line.
tickets() {
	klist 2>/dev/null | awk '$5 ~ /@/ { print $5 }'
}

@test "gssapi: a ticket from kinit delivers; the server learns the Kerberos principal" {
	login
	gss -s 'single sign-on' gss-default@example.com <<<"sent with a Kerberos ticket"
	assert_success
	[[ $stderr == *"AUTH GSSAPI"* ]] || fail "$stderr"
	[[ $stderr == *"authenticated with GSSAPI"* ]] || fail "$stderr"
	f=$(delivered gss-default@example.com) || fail "not delivered"
	grep -q '^sent with a Kerberos ticket' "$f"
	grep -q '^Subject: single sign-on' "$f"
	# Dovecot got the principal from the ticket (it lower-cases user names).
	grep -qi "sasl_method=GSSAPI, sasl_username=alice@$KDC_REALM" "$PF_LOG" ||
		fail "Postfix logged no GSSAPI login for alice@$KDC_REALM"
	# The default service is smtp: that is the ticket we asked the KDC for.
	run tickets
	assert_line "smtp/localhost@$KDC_REALM"
	refute_line --partial "custom/"
}

@test "gssapi: --sasl-service changes the principal asked for (custom/localhost)" {
	login
	gss --sasl-service custom gss-custom@example.com <<<"via custom"
	assert_success
	delivered gss-custom@example.com >/dev/null || fail "not delivered"
	run tickets
	assert_line "custom/localhost@$KDC_REALM"
	refute_line "smtp/localhost@$KDC_REALM"
	grep -q "alice@$KDC_REALM for custom/localhost@$KDC_REALM" "$KDC_LOG" ||
		fail "the KDC issued no ticket for custom/localhost"
}

@test "gssapi: a service the KDC does not know: exit 77 naming the principal, no AUTH sent" {
	login
	gss --sasl-service nosuch gss-nosuch@example.com <<<"x"
	assert_equal "$status" 77
	[[ $stderr == *"cannot get a Kerberos ticket for nosuch/localhost"* ]] || fail "$stderr"
	[[ $stderr == *"--sasl-service"* ]] || fail "$stderr"
	# Refused locally: the server never saw an AUTH command.
	[[ $stderr != *"--> AUTH"* ]] || fail "AUTH was sent: $stderr"
	grep -q "nosuch/localhost@$KDC_REALM, Server not found in Kerberos database" "$KDC_LOG" ||
		fail "the KDC was not asked for nosuch/localhost"
	refute_sent
}

@test "gssapi: no credential cache: exit 77 saying to run kinit, nothing sent" {
	# No kinit: KRB5CCNAME names a file that does not exist.
	gss gss-nocache@example.com <<<"x"
	assert_equal "$status" 77
	[[ $stderr == *"cannot get a Kerberos ticket for smtp/localhost"* ]] || fail "$stderr"
	[[ $stderr == *"run kinit"* ]] || fail "$stderr"
	[[ $stderr != *"--> AUTH"* ]] || fail "AUTH was sent: $stderr"
	refute_sent
}

@test "gssapi: by address, the principal follows --tls-servername" {
	login
	# 127.0.0.1 names no principal: the error says which one was tried.
	gss --host 127.0.0.1 gss-byip@example.com <<<"x"
	assert_equal "$status" 77
	[[ $stderr == *"ticket for smtp/127.0.0.1"* ]] || fail "$stderr"
	gss --host 127.0.0.1 --tls-servername localhost gss-byname@example.com <<<"by name"
	assert_success
	delivered gss-byname@example.com >/dev/null || fail "not delivered"
}

@test "gssapi: implicit TLS port works the same" {
	login
	gss --port "$PF_SMTPS_PORT" --tls implicit gss-implicit@example.com <<<"x"
	assert_success
	delivered gss-implicit@example.com >/dev/null || fail "not delivered"
}

# Last: Dovecot slows down a client after a failed login (its auth penalty).
@test "gssapi: a ticket the server has no key for is refused by it: exit 77 with its 535" {
	login
	gss --sasl-service pop gss-pop@example.com <<<"x"
	assert_equal "$status" 77
	[[ $stderr == *"authentication failed: 535"* ]] || fail "$stderr"
	run tickets
	assert_line "pop/localhost@$KDC_REALM"
	refute_sent
}
