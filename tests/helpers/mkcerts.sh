#!/bin/sh
# mkcerts.sh OUTDIR — generate the throwaway TLS material the test suites use.
#
# Produces (all PEM unless noted), EC P-256 keys:
#   ca.pem ca-key.pem                 trusted test CA (give it to --cafile)
#   server.pem server-key.pem         localhost, 127.0.0.1, ::1; signed by ca
#   untrusted-ca.pem untrusted-ca-key.pem
#   untrusted.pem untrusted-key.pem   same names, signed by the untrusted CA
#   wronghost.pem wronghost-key.pem   signed by ca, only for wrong.example
#   idn.pem idn-key.pem               signed by ca, only for the IDN
#                                     xn--bcher-kva.example (bücher.example)
#   expired.pem expired-key.pem       signed by ca, validity ended in 2020
#   client.pem client-key.pem         TLS client certificate signed by ca
#   client.p12                        PKCS#12 (DER) of client cert+key, password "test"
#   client.der client-key.der         the client pair in DER
#   client-key-enc.pem                the client key as encrypted PKCS#8, password "test"
#   client-untrusted.pem client-untrusted-key.pem
#                                     client certificate signed by the untrusted CA
#
# Idempotent: when OUTDIR already holds a complete set (stamp file .complete)
# nothing is regenerated.  The set is built in a private scratch directory
# and moved into place, so a concurrent reader never sees half a set.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 64
fi
out=$1
mkdir -p "$out"
[ -f "$out/.complete" ] && exit 0

# Suites may run in parallel (bats -j) and share one OUTDIR: serialise.
if command -v flock >/dev/null 2>&1 && [ -z "${MKCERTS_LOCKED:-}" ]; then
	MKCERTS_LOCKED=1 exec flock "$out/.lock" "$0" "$@"
fi
[ -f "$out/.complete" ] && exit 0

command -v certtool >/dev/null 2>&1 || {
	echo "mkcerts.sh: certtool not found (install gnutls-bin)" >&2
	exit 69
}

work=$(mktemp -d "$out/.mkcerts.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"

newkey() {
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$1" >/dev/null 2>&1
}

# template NAME — write a certtool template to NAME.tmpl from stdin
template() {
	cat >"$1.tmpl"
}

# ---- certificate authorities ------------------------------------------------
template ca <<'EOF'
organization = "smtpsend tests"
cn = "smtpsend test CA"
serial = 1
expiration_days = 3650
ca
cert_signing_key
crl_signing_key
EOF
newkey ca-key.pem
certtool --generate-self-signed --load-privkey ca-key.pem \
	--template ca.tmpl --outfile ca.pem >/dev/null 2>&1

template untrusted-ca <<'EOF'
organization = "smtpsend tests (untrusted)"
cn = "smtpsend UNTRUSTED test CA"
serial = 2
expiration_days = 3650
ca
cert_signing_key
crl_signing_key
EOF
newkey untrusted-ca-key.pem
certtool --generate-self-signed --load-privkey untrusted-ca-key.pem \
	--template untrusted-ca.tmpl --outfile untrusted-ca.pem >/dev/null 2>&1

# ---- leaf certificates ------------------------------------------------------
# leaf NAME CA-PREFIX TEMPLATE-FILE
leaf() {
	newkey "$1-key.pem"
	certtool --generate-certificate --load-privkey "$1-key.pem" \
		--load-ca-certificate "$2.pem" --load-ca-privkey "$2-key.pem" \
		--template "$3" --outfile "$1.pem" >/dev/null 2>&1
}

template server <<'EOF'
organization = "smtpsend tests"
cn = "localhost"
serial = 10
expiration_days = 3650
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key
encryption_key
EOF
leaf server ca server.tmpl
leaf untrusted untrusted-ca server.tmpl

template wronghost <<'EOF'
organization = "smtpsend tests"
cn = "wrong.example"
serial = 11
expiration_days = 3650
dns_name = "wrong.example"
tls_www_server
signing_key
encryption_key
EOF
leaf wronghost ca wronghost.tmpl

template idn <<'EOF'
organization = "smtpsend tests"
cn = "xn--bcher-kva.example"
serial = 14
expiration_days = 3650
dns_name = "xn--bcher-kva.example"
tls_www_server
signing_key
encryption_key
EOF
leaf idn ca idn.tmpl

template expired <<'EOF'
organization = "smtpsend tests"
cn = "localhost"
serial = 12
activation_date = "2019-01-01 00:00:00"
expiration_date = "2020-01-01 00:00:00"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key
encryption_key
EOF
leaf expired ca expired.tmpl

template client <<'EOF'
organization = "smtpsend tests"
cn = "smtpsend test client"
serial = 13
expiration_days = 3650
email = "client@example.com"
tls_www_client
signing_key
EOF
leaf client ca client.tmpl

certtool --to-p12 --load-certificate client.pem --load-privkey client-key.pem \
	--p12-name "smtpsend test client" --password test --outder \
	--outfile client.p12 >/dev/null 2>&1

certtool --certificate-info --load-certificate client.pem --outder \
	--outfile client.der >/dev/null 2>&1
certtool --key-info --load-privkey client-key.pem --outder \
	--outfile client-key.der >/dev/null 2>&1
certtool --to-p8 --load-privkey client-key.pem --password test \
	--outfile client-key-enc.pem >/dev/null 2>&1
leaf client-untrusted untrusted-ca client.tmpl

# ---- publish ----------------------------------------------------------------
for f in ca ca-key untrusted-ca untrusted-ca-key server server-key \
	untrusted untrusted-key wronghost wronghost-key idn idn-key expired expired-key \
	client client-key client-key-enc client-untrusted client-untrusted-key; do
	mv -f "$f.pem" "$out/$f.pem"
done
mv -f client.p12 client.der client-key.der "$out/"
chmod 600 "$out"/*-key.pem "$out/client.p12" "$out/client-key.der"
: >"$out/.complete"
