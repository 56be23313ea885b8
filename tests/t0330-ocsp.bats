#!/usr/bin/env bats
# OCSP stapling (RFC 6066 status_request; RFC 7633 must-staple).
#
# A server that staples needs a TLS stack that can, which Python's ssl
# module is not: tests/helpers/tlsrelay (C, GnuTLS; built by make check)
# terminates implicit TLS, staples a DER OCSP response given to it, and
# relays the SMTP session to aiosmtpd in plain mode behind it.  The OCSP
# responses are made at test time by `openssl ocsp` acting as the test
# CA's responder, from an index that says good, revoked or nothing at all
# about the server's certificate.  One aiosmtpd serves the whole file
# (starting it is the slow part); each test starts its own relay and
# marks its message body, which is how its delivery is found.

load helpers/common

RELAY=$BATS_TEST_DIRNAME/helpers/tlsrelay

# ocsp_response OUT CERT STATUS [SIGNER]: an OCSP response about CERT
# (issued by the test CA) saying STATUS (good, revoked or unknown), signed
# by SIGNER (a name in $CERTS, default the CA itself), valid for a day.
ocsp_response() {
	local out=$1 cert=$2 status=$3 signer=${4:-ca} dir serial exp rev
	dir=$(dirname "$out")
	serial=$(openssl x509 -in "$cert" -noout -serial | cut -d= -f2)
	exp=$(date -u -d '+1 year' +%y%m%d%H%M%SZ)
	rev=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
	case $status in
	good)    printf 'V\t%s\t\t%s\tunknown\t/CN=localhost\n' "$exp" "$serial" ;;
	revoked) printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=localhost\n' "$exp" "$rev" "$serial" ;;
	unknown) ;;
	esac >"$out.index"
	openssl ocsp -issuer "$CERTS/ca.pem" -cert "$cert" -no_nonce \
		-reqout "$out.req" &&
	openssl ocsp -index "$out.index" -CA "$CERTS/ca.pem" \
		-rsigner "$CERTS/$signer.pem" -rkey "$CERTS/$signer-key.pem" \
		-reqin "$out.req" -respout "$out" -ndays 1
}

setup_file() {
	local d certs
	command -v openssl >/dev/null || { echo "openssl not installed" >&2; return 1; }
	[ -x "$RELAY" ] || { echo "$RELAY not built (run make check)" >&2; return 1; }
	certs=${BATS_RUN_TMPDIR:-$BATS_FILE_TMPDIR}/certs
	"$BATS_TEST_DIRNAME/helpers/mkcerts.sh" "$certs"
	d=$BATS_FILE_TMPDIR/ocsp
	mkdir -p "$d"
	{
		# A localhost certificate that demands stapling (TLS feature 5,
		# status_request).
		cat >"$d/muststaple.tmpl" <<-'EOF'
		cn = "localhost"
		serial = 40
		expiration_days = 30
		dns_name = "localhost"
		ip_address = "127.0.0.1"
		tls_feature = 5
		tls_www_server
		signing_key
		EOF
		certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
			--outfile "$d/muststaple-key.pem" &&
		certtool --generate-certificate --load-privkey "$d/muststaple-key.pem" \
			--load-ca-certificate "$certs/ca.pem" --load-ca-privkey "$certs/ca-key.pem" \
			--template "$d/muststaple.tmpl" --outfile "$d/muststaple.pem" &&
		CERTS=$certs ocsp_response "$d/good.der" "$certs/server.pem" good &&
		CERTS=$certs ocsp_response "$d/revoked.der" "$certs/server.pem" revoked &&
		CERTS=$certs ocsp_response "$d/unknown.der" "$certs/server.pem" unknown &&
		CERTS=$certs ocsp_response "$d/forged.der" "$certs/server.pem" good untrusted-ca &&
		CERTS=$certs ocsp_response "$d/other.der" "$certs/wronghost.pem" good &&
		CERTS=$certs ocsp_response "$d/muststaple.der" "$d/muststaple.pem" good &&
		# Dated as openssl ocsp cannot: old (next update nine days
		# ago), fresh, and two days ahead.
		/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/ocspresp.py" "$certs/ca.pem" \
			"$certs/ca-key.pem" "$certs/server.pem" "$d/stale.der" -10 -9 &&
		/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/ocspresp.py" "$certs/ca.pem" \
			"$certs/ca-key.pem" "$certs/server.pem" "$d/fresh.der" -0.1 1 &&
		/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/ocspresp.py" "$certs/ca.pem" \
			"$certs/ca-key.pem" "$certs/server.pem" "$d/future.der" 2 3
	} >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; return 1; }
	export OCSP=$d

	mkdir -p "$d/out"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/aiosmtpd-server.py" --mode plain \
		--port-file "$d/upstream.port" --outdir "$d/out" \
		</dev/null >"$d/aiosmtpd.log" 2>&1 3>&- &
	export UPSTREAM_PID=$!
	wait_for_file "$d/upstream.port" 10 "$UPSTREAM_PID" ||
		{ cat "$d/aiosmtpd.log" >&2; return 1; }
	export UPSTREAM=$(cat "$d/upstream.port") OUT=$d/out
}

teardown_file() {
	[ -z "${UPSTREAM_PID:-}" ] || kill "$UPSTREAM_PID" 2>/dev/null || true
}

# start_stapler [--ocsp FILE] [--cert NAME]: a relay in front of the
# file's aiosmtpd; PORT is the relay's (implicit TLS).
start_stapler() {
	local cert=$CERTS/server.pem key=$CERTS/server-key.pem ocsp=() dir
	while [ $# -gt 0 ]; do
		case $1 in
		--ocsp) ocsp=(--ocsp "$2"); shift 2 ;;
		--cert) cert=$OCSP/$2.pem; key=$OCSP/$2-key.pem; shift 2 ;;
		*) fail "start_stapler: $1" ;;
		esac
	done
	dir=$(mktemp -d "$T/relay.XXXXXX")
	RELAY_LOG=$dir/log
	"$RELAY" --cert "$cert" --key "$key" --upstream "$UPSTREAM" \
		--port-file "$dir/port" --log "$RELAY_LOG" "${ocsp[@]}" \
		</dev/null 2>>"$RELAY_LOG" 3>&- &
	SERVER_PIDS+=("$!")
	wait_for_file "$dir/port" 5 "$!" || fail "tlsrelay did not start: $(cat "$RELAY_LOG")"
	PORT=$(cat "$dir/port")
}

send() {
	run --separate-stderr sendto --tls implicit --cafile "$CERTS/ca.pem" \
		-f jane@example.com "$@"
}

serverinfo() {
	run --separate-stderr sendto --tls implicit --cafile "$CERTS/ca.pem" --serverinfo
}

assert_stapled() {
	grep -q 'stapling [0-9]* bytes of OCSP response' "$RELAY_LOG" ||
		fail "the relay stapled nothing: $(cat "$RELAY_LOG")"
}

# delivered TEXT: the file of the message whose body has the line TEXT.
delivered() {
	local f
	for f in "$OUT"/*.eml; do
		[ -e "$f" ] || continue
		grep -qxF -e "$1"$'\r' -e "$1" "$f" && { echo "$f"; return 0; }
	done
	return 1
}

refute_delivered() {
	! delivered "$1" >/dev/null || fail "a message was delivered"
}

@test "ocsp: a good stapled response: delivered, and -v says it was checked" {
	start_stapler --ocsp "$OCSP/good.der"
	send -v bob@example.com <<<"the staple says good"
	assert_success
	assert_stapled
	delivered "the staple says good" >/dev/null || fail "not delivered"
	[[ $stderr == *"stapled OCSP response checked: certificate status good (this update "* ]] ||
		fail "$stderr"
	[[ $stderr != *warning* ]] || fail "$stderr"
	serverinfo
	assert_success
	assert_output --partial 'OCSP staple:  checked: certificate status good'
}

@test "ocsp: a staple saying the certificate is revoked: exit 69 with a clear error, nothing sent" {
	start_stapler --ocsp "$OCSP/revoked.der"
	send -v bob@example.com <<<"revoked staple"
	assert_equal "$status" 69
	assert_stapled
	[[ $stderr == *"TLS handshake: the certificate of 127.0.0.1 is revoked (since "*"says the OCSP response the server stapled"* ]] ||
		fail "$stderr"
	[[ $stderr != *"--> MAIL"* ]] || fail "$stderr"
	refute_delivered "revoked staple"
	# --serverinfo reports it instead of failing.
	serverinfo
	assert_success
	assert_output --partial 'OCSP staple:  certificate REVOKED since '
	assert_output --partial 'verification: NOT trusted'
}

@test "ocsp: no staple: delivered as usual; --serverinfo says none" {
	start_stapler
	send -v bob@example.com <<<"no staple"
	assert_success
	[[ $stderr != *OCSP* ]] || fail "$stderr"
	delivered "no staple" >/dev/null || fail "not delivered"
	serverinfo
	assert_output --partial 'OCSP staple:  none'
}

@test "ocsp: a staple not signed by the issuer, or about another certificate: exit 69" {
	start_stapler --ocsp "$OCSP/forged.der"
	send bob@example.com <<<"forged staple"
	assert_equal "$status" 69
	[[ $stderr == *"the OCSP response 127.0.0.1 stapled to its certificate is not valid"* ]] ||
		fail "$stderr"
	refute_delivered "forged staple"
	start_stapler --ocsp "$OCSP/other.der"
	send bob@example.com <<<"staple for another certificate"
	assert_equal "$status" 69
	[[ $stderr == *"is not valid"* ]] || fail "$stderr"
	refute_delivered "staple for another certificate"
}

@test "ocsp: a staple whose responder does not know the certificate: delivered, with a warning" {
	start_stapler --ocsp "$OCSP/unknown.der"
	send bob@example.com <<<"unknown status"
	assert_success
	delivered "unknown status" >/dev/null || fail "not delivered"
	[[ $stderr == *"warning: TLS: the OCSP response the server stapled: "*"certificate status unknown to the responder"* ]] ||
		fail "$stderr"
}

@test "ocsp: a must-staple certificate without its staple: exit 69; with it: delivered" {
	start_stapler --cert muststaple
	send bob@example.com <<<"must-staple, none"
	assert_equal "$status" 69
	[[ $stderr == *"demands a stapled OCSP response (OCSP must-staple) and the server sent none"* ]] ||
		fail "$stderr"
	refute_delivered "must-staple, none"
	start_stapler --cert muststaple --ocsp "$OCSP/muststaple.der"
	send -v bob@example.com <<<"must-staple, stapled"
	assert_success
	delivered "must-staple, stapled" >/dev/null || fail "not delivered"
	[[ $stderr == *"stapled OCSP response checked: certificate status good"* ]] || fail "$stderr"
}

@test "ocsp: an out-of-date staple (next update passed): exit 69 naming the date, nothing sent; the same response made fresh: delivered" {
	start_stapler --ocsp "$OCSP/fresh.der"
	send bob@example.com <<<"fresh staple"
	assert_success
	delivered "fresh staple" >/dev/null || fail "not delivered"
	start_stapler --ocsp "$OCSP/stale.der"
	send -v bob@example.com <<<"stale staple"
	assert_equal "$status" 69
	assert_stapled
	local next
	next=$(date -u -d '-9 days' +%Y-%m-%d)
	[[ $stderr == *"the OCSP response 127.0.0.1 stapled to its certificate is out of date (next update was $next "*"the server should fetch a fresh one"* ]] ||
		fail "$stderr"
	# Not the certificate advice, which would send the user astray.
	[[ $stderr != *"--cafile FILE"* ]] || fail "$stderr"
	[[ $stderr != *"--> MAIL"* ]] || fail "$stderr"
	refute_delivered "stale staple"
	serverinfo
	assert_success
	assert_output --partial "OCSP staple:  present but out of date (next update $next"
}

@test "ocsp: a staple dated ahead (clock skew): delivered, with a warning to check the clock" {
	start_stapler --ocsp "$OCSP/future.der"
	send bob@example.com <<<"future staple"
	assert_success
	delivered "future staple" >/dev/null || fail "not delivered"
	[[ $stderr == *"warning: TLS: the OCSP response the server stapled: checked: certificate status good (this update "*": in the future, check this machine's clock"* ]] ||
		fail "$stderr"
}
