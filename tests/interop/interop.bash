# tests/interop/interop.bash — what every interop suite does around its
# Postfix instance.  A suite's first line after its comments: `load interop`.

# helpers/common.bash finds helpers/, scripts/ and the binary relative to
# the test file's directory as seen from tests/: let it see tests/ while
# it loads.
INTEROP_DIR=$BATS_TEST_DIRNAME
BATS_TEST_DIRNAME=$(cd "$INTEROP_DIR/.." && pwd)
load "$BATS_TEST_DIRNAME/helpers/common"
BATS_TEST_DIRNAME=$INTEROP_DIR

PFSH=$INTEROP_DIR/postfix.sh

# interop_unavailable WHAT...: why the suite cannot run here ("" when it
# can): a program of WHAT (names on PATH, /usr/sbin included) missing, or
# not root (a Postfix master must start as root).
interop_unavailable() {
	local p
	for p in "$@"; do
		PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null ||
			{ echo "$p not installed"; return; }
	done
	[ "$(id -u)" = 0 ] || echo "not root (a Postfix master must start as root)"
}

# interop_skip WHY: every test of the file skips with WHY -- unless
# SMTPSEND_INTEROP_REQUIRED=1 (CI sets it), where the file fails instead,
# so that a broken install cannot pass as green.
interop_skip() {
	if [ "${SMTPSEND_INTEROP_REQUIRED:-0}" = 1 ]; then
		echo "$1, but SMTPSEND_INTEROP_REQUIRED=1" >&2
		return 1
	fi
	export PF_SKIP=$1
}

# pf_start NAME [VAR=VALUE...]: a Postfix instance in a new directory
# (PF_DIR) configured by the assignments (see postfix.sh), its ports and
# files exported.  The directory is not under $BATS_RUN_TMPDIR, which is
# mode 0700: Postfix's own users must reach their queue and Maildir.
pf_start() {
	local name=$1
	shift
	PF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-$name.XXXXXX")
	chmod 755 "$PF_DIR"
	export PF_DIR
	if ! env "$@" "$PFSH" start "$PF_DIR" \
		>"$BATS_FILE_TMPDIR/postfix-start.log" 2>&1; then
		cat "$BATS_FILE_TMPDIR/postfix-start.log" >&2
		return 1
	fi
	# shellcheck disable=SC1091
	. "$PF_DIR/instance.env"
	export PF_SMTP_PORT PF_SMTPS_PORT PF_CAFILE PF_LOG PF_IPV6 \
		PF_NOUTF8_PORT
}

# pf_stop: stop it and remove its directory (kept with KEEP_POSTFIX=1,
# for a post-mortem).
pf_stop() {
	[ -n "${PF_DIR:-}" ] || return 0
	"$PFSH" stop "$PF_DIR"
	[ -n "${KEEP_POSTFIX:-}" ] || rm -rf "$PF_DIR"
}
