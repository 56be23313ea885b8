#!/bin/sh
# .ci/deps.sh — install what building and testing smtpsend needs on Debian 12.
#
#   .ci/deps.sh [--bench] [--valgrind]
#
# The one list of packages: the README's quick start and .ci/run both use
# it.  Safe to run again: when everything is already installed it only says
# so.  Runs apt-get directly as root, through sudo otherwise.
#   build      compiler, make, pkg-config and the four libraries' headers
#              (libmagic: the media type of attachments with unknown
#              extensions)
#   test       Bats with its support/assert libraries, Debian's Python with
#              aiosmtpd (the independent test server), certtool (test
#              certificates), mandoc (man page lint), CA bundle, procps
#   interop    Postfix, for `make check-interop` (installed without the
#              debconf dialogue and left unconfigured: the tests start
#              their own instances), and dovecot-core for its SASL
#              service (t-postfix-auth.bats; its own instance too);
#              for GSSAPI (t-postfix-gssapi.bats) an MIT Kerberos KDC
#              and its tools (krb5-kdc, krb5-admin-server for
#              kadmin.local, krb5-user for kinit/klist; the tests build
#              a throwaway realm, the system one is never configured)
#              and dovecot-gssapi
#   test also  iproute2 (a private network namespace for the "no AUTH in
#              clear to a remote host" test); media-types (/etc/mime.types),
#              mpack (munpack, a second MIME decoder for the attachment
#              tests) and time (/usr/bin/time -v: peak memory of large
#              attachments); softhsm2 (a PKCS#11 token for the
#              client certificate tests, t0320-pkcs11.bats); openssl
#              (`openssl ocsp` makes the OCSP responses t0330-ocsp.bats
#              staples); bash-completion and zsh (the completion
#              files are loaded and run, not only parsed)
#   fuzz       clang with its libFuzzer runtime, for `make fuzz`
#   --bench    also curl, msmtp, time, valgrind and bc for `make bench`, and
#              strace and linux-perf for bench/profile.sh
#   --valgrind also valgrind, for `make check VALGRIND=1`
set -eu

build="build-essential pkg-config libgnutls28-dev libgsasl-dev libidn2-dev libmagic-dev"
test="bats bats-support bats-assert python3 python3-aiosmtpd gnutls-bin mandoc ca-certificates procps iproute2 media-types python3-cryptography mpack time softhsm2 openssl bash-completion zsh"
interop="postfix dovecot-core krb5-kdc krb5-admin-server krb5-user dovecot-gssapi"
fuzz="clang libclang-rt-14-dev"
bench="curl msmtp time valgrind bc strace linux-perf"

want="$build $test $interop $fuzz"
for arg in "$@"; do
	case $arg in
	--bench) want="$want $bench" ;;
	--valgrind) want="$want valgrind" ;;
	-h | --help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "deps.sh: unknown argument: $arg" >&2; exit 64 ;;
	esac
done

if [ "$(id -u)" = 0 ]; then
	as_root() { "$@"; }
elif command -v sudo >/dev/null 2>&1; then
	as_root() { sudo "$@"; }
else
	echo "deps.sh: run as root, or install sudo" >&2
	exit 1
fi

missing=
for pkg in $want; do
	status=$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $pkg"
done

if [ -z "$missing" ]; then
	echo "deps.sh: all packages already installed"
	exit 0
fi
echo "deps.sh: installing:$missing"

export DEBIAN_FRONTEND=noninteractive
case " $missing " in
*" postfix "*)
	# Without this, installing postfix asks what kind of mail system to
	# set up.  "No configuration" leaves the system instance alone.
	echo "postfix postfix/main_mailer_type select No configuration" |
		as_root debconf-set-selections
	;;
esac

as_root apt-get update -q
# shellcheck disable=SC2086
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -q -y \
	--no-install-recommends $missing
