#!/usr/bin/env bats
# Interop: smtpsend installed as sendmail, with one system-style config
# file, delivers cron's mail through a real Postfix.  The instance is the
# one tests/interop/postfix.sh runs for t-postfix.bats; skips (or, with
# SMTPSEND_INTEROP_REQUIRED=1, fails) the same way.

load interop

setup_file() {
	local why
	why=$(interop_unavailable postfix)
	if [ -n "$why" ]; then
		interop_skip "$why: skipping sendmail interop tests"
		return
	fi
	pf_start postfix-sendmail
}

teardown_file() {
	pf_stop
}

setup() {
	[ -z "${PF_SKIP:-}" ] || skip "$PF_SKIP"
	common_setup
	# The machine's sendmail: what `make install-sendmail` installs (the
	# binary and the sendmail symlink to it; under a prefix of our own,
	# without rebuilding), and the system-wide config file (given with
	# SMTPSEND_CONFIG, since /etc is not ours to write).
	make -s -o all -C "$INTEROP_DIR/../.." install-sendmail \
		PREFIX="$T/usr" SBINDIR="$T/usr/sbin" >/dev/null ||
		fail "make install-sendmail failed"
	[ "$(readlink "$T/usr/sbin/sendmail")" = "$T/usr/bin/smtpsend" ] ||
		fail "install-sendmail made no link to the installed binary"
	mkdir -p "$T/sbin"
	ln -s "$T/usr/sbin/sendmail" "$T/sbin/sendmail"
	cat >"$T/smtpsend.conf" <<EOF
host 127.0.0.1
port $PF_SMTP_PORT
cafile $PF_CAFILE
from cron@example.com
local-domain example.com
aliases $T/aliases
log $T/mail.log

account alerts
from alerts@example.org
local-domain example.org
log $T/alerts.log
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

@test "postfix sendmail: -t picks the account from the message's From; bare To completed with its domain" {
	run --separate-stderr "$T/sbin/sendmail" -t -i <<'EOF'
From: Alerts <alerts@example.org>
To: disk-sm
Subject: disk almost full

/var at 95%
EOF
	assert_success
	assert_equal "$stderr" ""
	f=$(delivered disk-sm@example.org) || fail "not delivered"
	grep -q '^Return-Path: <alerts@example.org>' "$f"
	run grep -E '^(To|From):' "$f"
	assert_line 'To: disk-sm@example.org'
	assert_line 'From: Alerts <alerts@example.org>'
	run cat "$T/alerts.log"
	assert_output --regexp 'from=<alerts@example.org> to=<disk-sm@example.org> .*status=0$'
	[ ! -e "$T/mail.log" ]
}

@test "postfix sendmail: --json for -t with several recipients carries Postfix's queue id" {
	run --separate-stderr "$T/sbin/sendmail" -t --json <<'EOF'
From: Jane <jane@example.com>
To: j1-sm@example.org, root
Cc: j2-sm@example.net
Bcc: j3-sm@example.com

several
EOF
	assert_success
	run "$PY" -c '
import json, sys
j = json.loads(sys.argv[1])
print(j["status"], j["delivered"], j["from"], j["reply"]["code"], bool(j["queue_id"]), j["reply"]["text"].endswith(j["queue_id"]))
print(" ".join("%s:%s" % (r["address"], r["code"]) for r in j["recipients"]))' "$output"
	assert_line --index 0 "0 True cron@example.com 250 True True"
	assert_line --index 1 "j1-sm@example.org:250 ops-sm@example.net:250 j2-sm@example.net:250 j3-sm@example.com:250"
	delivered j1-sm@example.org >/dev/null || fail "To not delivered"
	delivered j2-sm@example.net >/dev/null || fail "Cc not delivered"
	g=$(delivered j3-sm@example.com) || fail "Bcc not delivered"
	run grep -ci '^Bcc:' "$g"
	assert_output 0
}
