#!/usr/bin/env bats
# Sendmail mode: called as "sendmail" (a symlink) or with --sendmail, the
# flags cron and mail(1) pass, bare local recipients rewritten in the
# envelope and in To/Cc alike.

load helpers/common

setup() {
	common_setup
	mkdir -p "$T/sbin"
	ln -s "$SMTPSEND" "$T/sbin/sendmail"
	SENDMAIL=$T/sbin/sendmail
	printf 'root: admins\nadmins: ops@example.net\n' >"$T/aliases"
}

# conf [LINES...]: a config file for the test server plus LINES;
# exported as SMTPSEND_CONFIG, the way a system-wide file would be found.
conf() {
	{
		printf 'host 127.0.0.1\nport %s\ntimeout 10\n' "$PORT"
		printf '%s\n' "$@"
	} >"$T/conf"
	chmod 600 "$T/conf"
	export SMTPSEND_CONFIG=$T/conf
}

# cron_message: what Debian's cron writes for a job's output
cron_message() {
	cat <<'EOF'
From: root (Cron Daemon)
To: root
Subject: Cron <root@host> /usr/local/bin/backup
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit
X-Cron-Env: <SHELL=/bin/sh>

backup finished ✓
EOF
}

@test "sendmail: cron's exact argument vector, only recipient root, arrives at the configured domain with To rewritten" {
	start_aiosmtpd plain
	conf 'local-domain example.org'
	run --separate-stderr "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem root < <(cron_message)
	assert_success
	assert_equal "$stderr" ""
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["root@example.org"]'
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'root@example.org'
	run grep -E '^(To|From):' "$OUT/msg-1.eml"
	assert_line $'To: root@example.org\r'
	assert_line $'From: root@example.org (Cron Daemon)\r'
	grep -q 'backup finished ✓' "$OUT/msg-1.eml"
}

@test "sendmail: aliases map root for envelope and header alike" {
	start_aiosmtpd plain
	conf 'local-domain example.org' "aliases $T/aliases"
	run --separate-stderr "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem root < <(cron_message)
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["ops@example.net"]'
	run grep '^To:' "$OUT/msg-1.eml"
	assert_output $'To: ops@example.net\r'
}

@test "sendmail: --sendmail does the same under any name; -v notes the flags it ignores" {
	start_aiosmtpd plain
	conf 'local-domain example.org'
	run --separate-stderr smtpsend --sendmail -v -odi -oem -FCronDaemon -i root < <(cron_message)
	assert_success
	[[ $stderr == *"sendmail option -odi ignored"* ]] || fail "$stderr"
	[[ $stderr == *"sendmail mode"* ]] || fail "$stderr"
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["root@example.org"]'
}

@test "sendmail: -t takes To, Cc and Bcc from the message and removes Bcc" {
	start_aiosmtpd plain
	conf 'local-domain example.org'
	run --separate-stderr "$SENDMAIL" -t -i <<'EOF'
From: Jane <jane@example.com>
To: bob@example.com, root
Cc: carol@example.com
Bcc: secret@example.com
Subject: -t

hello
EOF
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	run "$PY" -c 'import json,sys; print(" ".join(sorted(json.loads(sys.argv[1]))))' "$output"
	assert_output 'bob@example.com carol@example.com root@example.org secret@example.com'
	run grep -ci '^Bcc:' "$OUT/msg-1.eml"
	assert_output 0
	run grep '^To:' "$OUT/msg-1.eml"
	assert_output $'To: bob@example.com, root@example.org\r'
}

@test "sendmail: mail(1)'s call: -oi, -f, a message without From, a bare user" {
	start_aiosmtpd plain
	conf 'local-domain example.org'
	run --separate-stderr "$SENDMAIL" -oi -f alice@example.com -- www-data <<'EOF'
To: www-data
Subject: from mail(1)

body
EOF
	assert_success
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'alice@example.com'
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["www-data@example.org"]'
	grep -q $'^From: alice@example.com\r$' "$OUT/msg-1.eml"
	grep -q $'^To: www-data@example.org\r$' "$OUT/msg-1.eml"
}

@test "sendmail: -F names the From it writes; -N and -B8BITMIME are honoured" {
	start_aiosmtpd plain
	conf
	printf 'Subject: x\n\nhé\n' | "$SENDMAIL" -F 'Cron Daemon' -f robot@example.com -B8BITMIME bob@example.com
	grep -q $'^From: Cron Daemon <robot@example.com>\r$' "$OUT/msg-1.eml"
	run msg_json "$OUT/msg-1.json" mail_options
	assert_output --partial 'BODY=8BITMIME'
	run --separate-stderr "$SENDMAIL" -N bogus bob@example.com </dev/null
	assert_equal "$status" 64
}

@test "sendmail: a bare recipient without local-domain or alias is refused before connecting (65)" {
	run --separate-stderr "$SENDMAIL" -i root < <(cron_message)
	assert_equal "$status" 65
	[[ $stderr == *local-domain* ]] || fail "$stderr"
	run --separate-stderr "$SENDMAIL" -bs </dev/null
	assert_equal "$status" 64
}

@test "sendmail: -t with aliases: To and Cc resolved in envelope and header alike, each mailbox once" {
	start_aiosmtpd plain
	printf 'postmaster: root\n' >>"$T/aliases"
	conf 'local-domain example.org' "aliases $T/aliases"
	run --separate-stderr "$SENDMAIL" -t -i <<'EOF'
From: Jane <jane@example.com>
To: root
Cc: Postmaster <postmaster>, bob@example.com, www-data
Subject: -t and aliases

hello
EOF
	assert_success
	assert_equal "$stderr" ""
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["ops@example.net", "bob@example.com", "www-data@example.org"]'
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'jane@example.com'
	run grep -E '^(To|Cc|From|[ 	])' "$OUT/msg-1.eml"
	assert_output $'From: Jane <jane@example.com>\r\nTo: ops@example.net\r\nCc: Postmaster <ops@example.net>, bob@example.com, www-data@example.org\r'
}

@test "sendmail: -t with an unresolvable bare name is refused before connecting (65), naming local-domain" {
	PORT=$(closed_port)
	conf
	run --separate-stderr "$SENDMAIL" -t <<'EOF'
From: jane@example.com
To: bob@example.com, root

x
EOF
	assert_equal "$status" 65
	assert_equal "$stderr" 'smtpsend: recipient "root" has no domain: set local-domain (or an alias) in the config file, or write root@DOMAIN'
}

@test "sendmail: without local-domain a bare From becomes the configured sender, display name kept" {
	start_aiosmtpd plain
	conf 'from cron@example.com' "aliases $T/aliases"
	run --separate-stderr "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem root < <(cron_message)
	assert_success
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'cron@example.com'
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["ops@example.net"]'
	run grep -E '^(To|From):' "$OUT/msg-1.eml"
	assert_output $'From: cron@example.com (Cron Daemon)\r\nTo: ops@example.net\r'
}

@test "sendmail: -t with a group: bare members resolved inside the group, in envelope and header alike; an empty group stays" {
	start_aiosmtpd plain
	conf 'local-domain example.org' "aliases $T/aliases"
	run --separate-stderr "$SENDMAIL" -t -i <<'EOF'
From: Jane <jane@example.com>
To: team: root, Alice <alice>, bob@example.com;, carol@example.com
Cc: undisclosed-recipients:;
Subject: a group

hello
EOF
	assert_success
	assert_equal "$stderr" ""
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["ops@example.net", "alice@example.org", "bob@example.com", "carol@example.com"]'
	run grep -E '^(To|Cc|[ 	])' "$OUT/msg-1.eml"
	assert_output $'To: team: ops@example.net, Alice <alice@example.org>, bob@example.com;,\r\n carol@example.com\r\nCc: undisclosed-recipients:;\r'
	# Only an empty group in To, the recipient in Bcc: as before.
	run --separate-stderr "$SENDMAIL" -t -i <<'EOF'
From: jane@example.com
To: undisclosed-recipients:;
Bcc: root

x
EOF
	assert_success
	run msg_json "$OUT/msg-2.json" rcpt_tos
	assert_output '["ops@example.net"]'
	run grep -Ei '^(To|Bcc):' "$OUT/msg-2.eml"
	assert_output $'To: undisclosed-recipients:;\r'
}

@test "sendmail: -t with an unresolvable bare name inside a group is refused before connecting (65)" {
	PORT=$(closed_port)
	conf
	run --separate-stderr "$SENDMAIL" -t <<'EOF'
From: jane@example.com
To: team: bob@example.com, root;

x
EOF
	assert_equal "$status" 65
	assert_equal "$stderr" 'smtpsend: recipient "root" has no domain: set local-domain (or an alias) in the config file, or write root@DOMAIN'
}

# accounts PORT: a config whose defaults point at a closed port and whose
# account "work" (from bot@work.example) at PORT.
accounts() {
	{
		printf 'host 127.0.0.1\nport %s\ntimeout 5\nlocal-domain example.com\n' "$(closed_port)"
		printf 'account work\nfrom bot@work.example\nport %s\nlocal-domain work.example\n' "$1"
		printf 'account other\nfrom other@example.com\n'
		printf 'account default : other\n'
	} >"$T/conf"
	chmod 600 "$T/conf"
	export SMTPSEND_CONFIG=$T/conf
}

# acct_msg: a message from the work account's address, to a bare name
acct_msg() {
	printf 'From: Bot <BOT@Work.Example>\nTo: root\nSubject: acct\n\nbody\n'
}

@test "sendmail: the -t message's From chooses the account; -A and -f still win" {
	start_aiosmtpd plain
	accounts "$PORT"
	run --separate-stderr "$SENDMAIL" -t -v < <(acct_msg)
	assert_success
	[[ $stderr == *"account work, chosen by the message's From"* ]] || fail "$stderr"
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["root@work.example"]'
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'bot@work.example'
	grep -q $'^To: root@work.example\r$' "$OUT/msg-1.eml"
	# --json names the account used.
	run --separate-stderr smtpsend -t --json < <(acct_msg)
	assert_success
	run "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["account"], j["status"], [r["address"] for r in j["recipients"]])' "$output"
	assert_output "work 0 ['root@work.example']"
	# -A other, and -f other@example.com, keep the closed port.
	run --separate-stderr "$SENDMAIL" -t -A other < <(acct_msg)
	assert_equal "$status" 75
	[[ $stderr == *"nothing listens on port"* ]] || fail "$stderr"
	run --separate-stderr "$SENDMAIL" -t -f other@example.com < <(acct_msg)
	assert_equal "$status" 75
	[[ $stderr == *"nothing listens on port"* ]] || fail "$stderr"
	[ ! -e "$OUT/msg-3.eml" ]
}

@test "sendmail: --json for a -t send to several recipients, one refused" {
	start_fake - <<'EOF'
CAPA ENHANCEDSTATUSCODES 8BITMIME
REPLY RCPT#2 550 5.1.1 no such user here
EOF
	conf
	run --separate-stderr "$SENDMAIL" -t --json <<'EOF'
From: Jane <jane@example.com>
To: bob@example.com, nobody@example.com
Cc: carol@example.com
Bcc: dave@example.com

x
EOF
	assert_equal "$status" 67
	assert_equal "${#lines[@]}" 1
	run "$PY" -c '
import json, sys
j = json.loads(sys.argv[1])
print(j["status"], j["delivered"], j["from"])
for r in j["recipients"]:
    print(r["address"], r["code"], r["status"], r["text"])' "$output"
	assert_line --index 0 "67 False jane@example.com"
	assert_line --index 2 "nobody@example.com 550 5.1.1 no such user here"
	assert_equal "${#lines[@]}" 5
	assert_line --index 1 --regexp '^bob@example.com 250 '
	assert_line --index 3 --regexp '^carol@example.com '
	assert_line --index 4 --regexp '^dave@example.com '
}

@test "sendmail: --json for a -t send to several recipients, all accepted" {
	start_aiosmtpd plain
	conf 'local-domain example.org'
	run --separate-stderr "$SENDMAIL" -t --json <<'EOF'
From: Jane <jane@example.com>
To: bob@example.com, root
Cc: carol@example.com
Bcc: dave@example.com

x
EOF
	assert_success
	run "$PY" -c '
import json, sys
j = json.loads(sys.argv[1])
print(j["status"], j["delivered"], j["from"], j["reply"]["code"])
print(" ".join("%s:%s:%s" % (r["address"], r["accepted"], r["code"]) for r in j["recipients"]))' "$output"
	assert_line --index 0 "0 True jane@example.com 250"
	assert_line --index 1 "bob@example.com:True:250 root@example.org:True:250 carol@example.com:True:250 dave@example.com:True:250"
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.com", "root@example.org", "carol@example.com", "dave@example.com"]'
	run grep -ci '^Bcc:' "$OUT/msg-1.eml"
	assert_output 0
}

@test "local names at this machine: root@localhost and NAME@\$(hostname) go through aliases and local-domain too" {
	start_aiosmtpd plain
	conf 'local-domain example.org' "aliases $T/aliases"
	local host
	host=$(uname -n)
	run --separate-stderr "$SENDMAIL" -t <<EOF
From: Jane <jane@example.com>
To: Admin <root@localhost>
Cc: www-data@$host

x
EOF
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["ops@example.net", "www-data@example.org"]'
	run grep -E '^(To|Cc):' "$OUT/msg-1.eml"
	assert_output $'To: Admin <ops@example.net>\r\nCc: www-data@example.org\r'
	# The command line's recipients, in normal mode.
	run --separate-stderr smtpsend -f jane@example.com "root@$host" <<<"x"
	assert_success
	run msg_json "$OUT/msg-2.json" rcpt_tos
	assert_output '["ops@example.net"]'
	grep -q $'^To: ops@example.net\r$' "$OUT/msg-2.eml"
	# With neither aliases nor local-domain they stay as written.
	conf
	run --separate-stderr smtpsend --print -f jane@example.com root@localhost </dev/null
	assert_success
	assert_line $'To: root@localhost\r'
}

# in_box HOSTS CMD...: run CMD on a machine called "box" whose /etc/hosts
# is the file HOSTS (private UTS and mount namespaces, so the tests do not
# depend on how this machine's own name resolves).  Status 99: cannot.
in_box() {
	local hosts=$1
	shift
	unshare -mu bash -c '
		hostname box && mount --bind "$1" /etc/hosts || exit 99
		shift
		exec "$@"' _ "$hosts" "$@"
}

box_or_skip() {
	command -v unshare >/dev/null && [ "$(id -u)" = 0 ] ||
		skip "needs root and unshare (a private host name and /etc/hosts)"
	printf '127.0.0.1 localhost\n127.0.1.1 box.example.test box\n' >"$T/hosts"
	run in_box "$T/hosts" hostname -f
	[ "$status" != 99 ] || skip "cannot make private UTS and mount namespaces"
	assert_output box.example.test
}

@test "local names at this machine: its full name (hostname -f) counts like the short one, in the header and on the command line" {
	box_or_skip
	start_aiosmtpd plain
	conf 'local-domain example.org' "aliases $T/aliases"
	run --separate-stderr in_box "$T/hosts" "$SENDMAIL" -t <<'EOF'
From: Jane <jane@example.com>
To: Admin <root@box.example.test>
Cc: www-data@BOX.Example.Test, bob@box.example.net, carol@box

x
EOF
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["ops@example.net", "www-data@example.org", "bob@box.example.net", "carol@example.org"]'
	run grep -E '^(To|Cc):' "$OUT/msg-1.eml"
	assert_output $'To: Admin <ops@example.net>\r\nCc: www-data@example.org, bob@box.example.net, carol@example.org\r'
	run --separate-stderr in_box "$T/hosts" "$SMTPSEND" -f jane@example.com root@box.example.test <<<"x"
	assert_success
	run msg_json "$OUT/msg-2.json" rcpt_tos
	assert_output '["ops@example.net"]'
}

@test "local names at this machine: the full name is looked up only for a domain that starts with the host's name, and not for long" {
	box_or_skip
	start_aiosmtpd plain
	conf 'local-domain example.org' "aliases $T/aliases" 'helo client.example'
	# Reading this /etc/hosts blocks: a lookup of the host's name hangs.
	mkfifo "$T/hosts.fifo"
	local t0
	t0=$(now)
	run --separate-stderr in_box "$T/hosts.fifo" "$SMTPSEND" -f jane@example.com \
		root www-data@localhost bob@example.com carol@mail.example.test <<<"x"
	assert_success
	assert_elapsed_below "$t0" "$(budget 3)"
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.com", "carol@mail.example.test", "ops@example.net", "www-data@example.org"]'
	# A domain that may be the host's: the lookup is given up after 5 s
	# and the address is taken as written.
	t0=$(now)
	run --separate-stderr in_box "$T/hosts.fifo" "$SMTPSEND" -f jane@example.com \
		root@box.example.test <<<"x"
	assert_success
	assert_elapsed_below "$t0" "$(budget 9)"
	run msg_json "$OUT/msg-2.json" rcpt_tos
	assert_output '["root@box.example.test"]'
}

@test "sendmail: a config that composes (subject, header, reply-to) does not stop cron's mail; on the command line it is refused" {
	start_aiosmtpd plain
	conf 'local-domain example.org' 'subject from the config' 'header X-Team: ops' 'reply-to noreply@example.org'
	run --separate-stderr "$SENDMAIL" -v -FCronDaemon -i -B8BITMIME -oem root < <(cron_message)
	assert_success
	[[ $stderr == *"whole-message input: the config file's or environment's subject"* ]] || fail "$stderr"
	run grep -ciE '^(X-Team|Reply-To):|^Subject: from the config' "$OUT/msg-1.eml"
	assert_output 0
	grep -q $'^Subject: Cron <root@host> /usr/local/bin/backup\r$' "$OUT/msg-1.eml"
	SMTPSEND_PRIORITY=high run --separate-stderr smtpsend -t < <(cron_message)
	assert_success
	run grep -ci '^X-Priority:' "$OUT/msg-2.eml"
	assert_output 0
	run --separate-stderr smtpsend -t -s 'on the command line' < <(cron_message)
	assert_equal "$status" 64
	assert_equal "$stderr" 'smtpsend: -t: the message is taken as it is; -s, -a, --inline, --html, -H, --reply-to, --priority and --charset cannot be combined with it'
}
