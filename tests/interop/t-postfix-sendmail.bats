#!/usr/bin/env bats
# Interop: smtpsend installed as sendmail, with one system-style config
# file, delivers cron's mail through a real Postfix.  The instance is the
# one tests/interop/postfix.sh runs for t-postfix.bats; skips (or, with
# SMTPSEND_INTEROP_REQUIRED=1, fails) the same way.

INTEROP_DIR=$BATS_TEST_DIRNAME
BATS_TEST_DIRNAME=$(cd "$INTEROP_DIR/.." && pwd)
load "$BATS_TEST_DIRNAME/helpers/common"
BATS_TEST_DIRNAME=$INTEROP_DIR

PFSH=$INTEROP_DIR/postfix.sh

setup_file() {
	local why='' bin
	bin=$(PATH=$PATH:/usr/sbin:/sbin command -v postfix || true)
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		why="Postfix not installed: skipping interop tests"
	elif [ "$(id -u)" != 0 ]; then
		why="not root: skipping interop tests (a Postfix master must start as root)"
	fi
	if [ -n "$why" ]; then
		if [ "${SMTPSEND_INTEROP_REQUIRED:-0}" = 1 ]; then
			echo "$why, but SMTPSEND_INTEROP_REQUIRED=1" >&2
			return 1
		fi
		export PF_SKIP=$why
		return 0
	fi
	PF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-postfix.XXXXXX")
	chmod 755 "$PF_DIR"
	export PF_DIR
	if ! "$PFSH" start "$PF_DIR" >"$BATS_FILE_TMPDIR/postfix-start.log" 2>&1; then
		cat "$BATS_FILE_TMPDIR/postfix-start.log" >&2
		return 1
	fi
	# shellcheck disable=SC1091
	. "$PF_DIR/instance.env"
	export PF_SMTP_PORT PF_SMTPS_PORT PF_CAFILE PF_LOG
}

teardown_file() {
	if [ -n "${PF_DIR:-}" ]; then
		"$PFSH" stop "$PF_DIR"
		[ -n "${KEEP_POSTFIX:-}" ] || rm -rf "$PF_DIR"
	fi
}

setup() {
	[ -z "${PF_SKIP:-}" ] || skip "$PF_SKIP"
	common_setup
	"$SMTPSEND" --help=options | grep -qx -- --raw ||
		skip "this build has no whole-message input (--raw) yet"
	# The machine's sendmail: a symlink named sendmail, as
	# `make install-sendmail` makes, and the system-wide config file
	# (given with SMTPSEND_CONFIG, since /etc is not ours to write).
	mkdir -p "$T/sbin"
	ln -s "$SMTPSEND" "$T/sbin/sendmail"
	cat >"$T/smtpsend.conf" <<EOF
host 127.0.0.1
port $PF_SMTP_PORT
cafile $PF_CAFILE
from cron@example.com
local-domain example.com
aliases $T/aliases
log $T/mail.log
EOF
	chmod 644 "$T/smtpsend.conf"
	printf 'root: admins\nadmins: ops-sm@example.net\n' >"$T/aliases"
	export SMTPSEND_CONFIG=$T/smtpsend.conf
}

teardown() {
	common_teardown
}

delivered() {
	"$PFSH" wait "$PF_DIR" "$1" 10
}

@test "postfix sendmail: cron's exact call delivers to the alias of root, To rewritten" {
	# What Debian's cron pipes into sendmail for a job's output.
	run "$T/sbin/sendmail" -FCronDaemon -i -B8BITMIME -oem root <<'EOF'
From: root (Cron Daemon)
To: root
Subject: Cron <root@host> /usr/local/bin/backup
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit
X-Cron-Env: <SHELL=/bin/sh>

backup done ✓
EOF
	assert_success
	f=$(delivered ops-sm@example.net) || fail "not delivered"
	run grep -E '^(To|From):' "$f"
	assert_line 'To: ops-sm@example.net'
	assert_line 'From: root@example.com (Cron Daemon)'
	grep -q 'backup done ✓' "$f"
	grep -q 'using TLSv1' "$f"
	run cat "$T/mail.log"
	assert_output --regexp 'to=<ops-sm@example.net> .*status=0'
}

@test "postfix sendmail: -t takes the recipients from the message and drops Bcc" {
	run "$T/sbin/sendmail" -t -i <<'EOF'
From: Jane <jane@example.com>
To: to-sm@example.org
Bcc: bcc-sm@example.org
Subject: -t through sendmail mode

hello
EOF
	assert_success
	f=$(delivered to-sm@example.org) || fail "To not delivered"
	g=$(delivered bcc-sm@example.org) || fail "Bcc not delivered"
	run grep -ci '^Bcc:' "$g"
	assert_output 0
}

@test "postfix sendmail: mail(1)-style call with -f and bare user recipients" {
	printf 'Subject: hi\n\nfrom a script\n' |
		"$T/sbin/sendmail" -oi -f jane@example.com www-sm
	f=$(delivered www-sm@example.com) || fail "not delivered"
	grep -q '^Return-Path: <jane@example.com>' "$f"
}
