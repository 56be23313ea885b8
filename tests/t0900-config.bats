#!/usr/bin/env bats
# The config file: lookup, accounts, precedence (command line > environment
# > account > defaults), errors with file and line (exit 78), permissions,
# bare local recipients and aliases.

load helpers/common

# conf FILE: write stdin to FILE, mode 600.
conf() {
	cat >"$1"
	chmod 600 "$1"
}

# printed ARGS...: the From, To and Subject fields smtpsend --print writes
# (--print writes CRLF line ends, as on the wire; they are dropped here)
printed() {
	smtpsend "$@" --print </dev/null | sed 's/\r$//' | grep -E '^(From|Subject|To):'
}

@test "config: the defaults and an account reach the server; -v names file and account" {
	start_aiosmtpd plain
	conf "$T/c" <<EOF
# comment
defaults
host 127.0.0.1
port $PORT
timeout 10

account work
from "Work Bot <bot@work.example>"
subject "from the config"
EOF
	run --separate-stderr smtpsend -C "$T/c" -A work -v bob@example.com <<<"hi"
	assert_success
	[[ $stderr == *"config file $T/c, account work"* ]] || fail "stderr: $stderr"
	run msg_json "$OUT/msg-1.json" mail_from
	assert_output 'bot@work.example'
	run check_msg "$OUT/msg-1.eml" --expect-header 'Subject=from the config'
	assert_success
}

@test "config: found at \$XDG_CONFIG_HOME/smtpsend/config, else ~/.config/smtpsend/config" {
	mkdir -p "$T/xdg/smtpsend" "$HOME/.config/smtpsend"
	conf "$T/xdg/smtpsend/config" <<<'subject from-xdg'
	conf "$HOME/.config/smtpsend/config" <<<'subject from-home'
	run printed -f a@b.example x@y.example
	assert_line 'Subject: from-home'
	XDG_CONFIG_HOME=$T/xdg run printed -f a@b.example x@y.example
	assert_line 'Subject: from-xdg'
	# A relative XDG_CONFIG_HOME is ignored (XDG Base Directory spec).
	XDG_CONFIG_HOME=xdg run printed -f a@b.example x@y.example
	assert_line 'Subject: from-home'
}

@test "config: cron's bare environment (no HOME) still finds the file through the password database" {
	local pwhome
	pwhome=$(getent passwd "$(id -u)" | cut -d: -f6)
	run env -i PATH=/usr/bin:/bin "$SMTPSEND" -v -f a@b.example --print x@y.example </dev/null
	assert_success
	if [ -e "$pwhome/.config/smtpsend/config" ]; then
		assert_output --partial "config file $pwhome/.config/smtpsend/config"
	else
		assert_output --partial "no config file"
	fi
}

@test "config: precedence is command line > environment > account > defaults" {
	conf "$T/c" <<'EOF'
subject defaults
account a
subject account
EOF
	run printed -C "$T/c" -f x@a.example r@b.example
	assert_line 'Subject: defaults'
	run printed -C "$T/c" -A a -f x@a.example r@b.example
	assert_line 'Subject: account'
	SMTPSEND_SUBJECT=environment run printed -C "$T/c" -A a -f x@a.example r@b.example
	assert_line 'Subject: environment'
	SMTPSEND_SUBJECT=environment run printed -C "$T/c" -A a -s cmdline -f x@a.example r@b.example
	assert_line 'Subject: cmdline'
}

@test "config: SMTPSEND_CONFIG and SMTPSEND_ACCOUNT; -C replaces the default files" {
	mkdir -p "$HOME/.config/smtpsend"
	conf "$HOME/.config/smtpsend/config" <<<'subject home'
	conf "$T/c" <<'EOF'
account x
subject env-account
EOF
	SMTPSEND_CONFIG=$T/c SMTPSEND_ACCOUNT=x run printed -f a@b.example r@b.example
	assert_line 'Subject: env-account'
	conf "$T/empty" </dev/null
	run printed -C "$T/empty" -f a@b.example r@b.example
	refute_line 'Subject: home'
}

@test "config: the account is chosen by the sender address; account default : NAME" {
	conf "$T/c" <<'EOF'
account work
from bot@work.example
subject work
account home
from me@home.example
subject home
account default : home
EOF
	run printed -C "$T/c" -f bot@WORK.example r@b.example
	assert_line 'Subject: work'
	run printed -C "$T/c" r@b.example
	assert_line 'Subject: home'
	assert_line 'From: me@home.example'
	run printed -C "$T/c" -A work r@b.example
	assert_line 'Subject: work'
}

@test "config: flags take on/off; repeatable keys add to the command line's" {
	conf "$T/c" <<'EOF'
bcc archive@example.com
verbose on
verbose off
EOF
	start_aiosmtpd plain
	run --separate-stderr smtpsend -C "$T/c" --host 127.0.0.1 --port "$PORT" \
		-f a@b.example bob@example.com <<<"x"
	assert_success
	assert_equal "$stderr" ""
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.com", "archive@example.com"]'
	run grep -c archive "$OUT/msg-1.eml"
	assert_output 0
}

@test "config: errors name the file and the line and exit 78" {
	local bad
	for bad in 'port seventy|2: --port' 'frobnicate 1|2: unknown key' \
		'insecure maybe|2: insecure: expects on or off' \
		'password hunter2|2: no key holds a password' \
		'tls sideways|2: --tls' 'help|2: unknown key' \
		'account|2: "" is not an account name' \
		'subject "unbalanced|2: unbalanced quotes'; do
		printf '# first\n%s\n' "${bad%%|*}" >"$T/c"
		chmod 600 "$T/c"
		run --separate-stderr smtpsend -C "$T/c" --print a@b.example </dev/null
		assert_equal "$status" 78
		[[ $stderr == *"$T/c:${bad#*|}"* ]] || fail "line '${bad%%|*}': $stderr"
	done
	printf 'subject x\n' >"$T/c"
	run --separate-stderr smtpsend -C "$T/c" -A nosuch --print a@b.example </dev/null
	assert_equal "$status" 78
	[[ $stderr == *"no account nosuch"* ]] || fail "$stderr"
	printf 'account a : b\naccount b : a\n' >"$T/c"
	run --separate-stderr smtpsend -C "$T/c" -A a --print a@b.example </dev/null
	assert_equal "$status" 78
	[[ $stderr == *loop* ]] || fail "$stderr"
	run --separate-stderr smtpsend -C "$T/nonexistent" --print a@b.example </dev/null
	assert_equal "$status" 78
	[[ $stderr == *"$T/nonexistent"* ]] || fail "$stderr"
	SMTPSEND_PORT=x run --separate-stderr smtpsend --print a@b.example </dev/null
	assert_equal "$status" 78
	[[ $stderr == *SMTPSEND_PORT* ]] || fail "$stderr"
	# --help works whatever the config says.
	printf 'frobnicate\n' >"$T/c"
	run smtpsend -C "$T/c" --help
	assert_success
}

@test "config: a password command readable by others warns; a world-writable file is refused" {
	printf 'password-cmd echo secret\n' >"$T/c"
	chmod 644 "$T/c"
	run --separate-stderr smtpsend -C "$T/c" -f a@b.example --print a@b.example </dev/null
	assert_success
	[[ $stderr == *"readable by group or others"* ]] || fail "$stderr"
	[[ $stderr != *secret* ]] || fail "the secret was printed: $stderr"
	chmod 600 "$T/c"
	run --separate-stderr smtpsend -C "$T/c" -f a@b.example --print a@b.example </dev/null
	assert_equal "$stderr" ""
	chmod 666 "$T/c"
	run --separate-stderr smtpsend -C "$T/c" -f a@b.example --print a@b.example </dev/null
	assert_equal "$status" 78
	[[ $stderr == *"writable by everyone"* ]] || fail "$stderr"
}

@test "config: a password source from the command line replaces the config's" {
	printf 'user u\npassword-file %s\n' "$T/pw" >"$T/c"
	chmod 600 "$T/c"
	run --separate-stderr smtpsend -C "$T/c" --password-env NOPE -f a@b.example --print a@b.example </dev/null
	assert_success
	run --separate-stderr smtpsend --password-env NOPE --password-file x -f a@b.example --print a@b.example </dev/null
	assert_equal "$status" 64
}

@test "config: bare local recipients get local-domain; aliases map them; To matches the envelope" {
	conf "$T/c" <<EOF
local-domain example.org
aliases $T/aliases
EOF
	cat >"$T/aliases" <<'EOF'
# system mail
postmaster: root
root: ops@example.net,
	admin
www-data: root
EOF
	run printed -C "$T/c" -f a@b.example www-data nobody
	assert_line 'To: ops@example.net, admin@example.org, nobody@example.org'
	start_aiosmtpd plain
	run --separate-stderr smtpsend -C "$T/c" --host 127.0.0.1 --port "$PORT" \
		-f a@b.example root <<<"x"
	assert_success
	run msg_json "$OUT/msg-1.json" rcpt_tos
	assert_output '["ops@example.net", "admin@example.org"]'
	run grep '^To:' "$OUT/msg-1.eml"
	assert_output $'To: ops@example.net, admin@example.org\r'
	run --separate-stderr smtpsend -f a@b.example --print root </dev/null
	assert_equal "$status" 65
	[[ $stderr == *local-domain* ]] || fail "$stderr"
}

@test "config: ~ and ~/ in the keys that name files are the home directory, quoted or not; other values keep their ~" {
	printf 'root: ops@example.net\n' >"$HOME/aliases"
	conf "$T/c" <<'EOF2'
aliases ~/aliases
log "~/mail.log"
pickup-dir ~/pickup
subject ~/not-a-path
EOF2
	run --separate-stderr smtpsend -C "$T/c" -f a@b.example root <<<"x"
	assert_success
	assert_equal "$(count_queued "$HOME/pickup")" 1
	run grep -E '^(X-Receiver|Subject):' "$HOME/pickup/$(queued "$HOME/pickup")"
	assert_equal "${output//$'\r'/}" $'X-Receiver: ops@example.net\nSubject: ~/not-a-path'
	run grep -c 'status=0' "$HOME/mail.log"
	assert_output 1
	# A value that is only "~" is the home directory itself.
	conf "$T/c" <<<'aliases ~'
	run --separate-stderr smtpsend -C "$T/c" -f a@b.example --print root </dev/null
	assert_equal "$status" 78
	assert_equal "$stderr" "smtpsend: aliases file $HOME: Is a directory"
}

@test "config: ~user is that user's home directory from the password database; an unknown user is an error of the line (78)" {
	local me pwhome
	me=$(id -un)
	pwhome=$(getent passwd "$me" | cut -d: -f6)
	conf "$T/c" <<EOF2
local-domain example.org
aliases ~$me/no-such-aliases-file
EOF2
	run --separate-stderr smtpsend -C "$T/c" -f a@b.example --print root </dev/null
	assert_equal "$status" 78
	[[ $stderr == *"aliases file ${pwhome%/}/no-such-aliases-file: No such file or directory"* ]] || fail "$stderr"
	conf "$T/c" <<'EOF2'
# line 1
cafile ~no-such-user-smtpsend/ca.pem
EOF2
	run --separate-stderr smtpsend -C "$T/c" -f a@b.example --print bob@example.com </dev/null
	assert_equal "$status" 78
	assert_equal "$stderr" "smtpsend: $T/c:2: \"~no-such-user-smtpsend/ca.pem\": no user no-such-user-smtpsend"
}

@test "config: without HOME (cron) ~ is the password database's home; environment values are not expanded" {
	local pwhome
	pwhome=$(getent passwd "$(id -u)" | cut -d: -f6)
	conf "$T/c" <<<'aliases ~/no-such-aliases-file'
	run env -i PATH=/usr/bin:/bin "$SMTPSEND" -C "$T/c" -f a@b.example --print root </dev/null
	assert_equal "$status" 78
	assert_output --partial "aliases file ${pwhome%/}/no-such-aliases-file: No such file"
	printf 'root: ops@example.net\n' >"$HOME/aliases"
	SMTPSEND_ALIASES='~/aliases' run --separate-stderr smtpsend -f a@b.example --print root </dev/null
	assert_equal "$status" 78
	assert_equal "$stderr" 'smtpsend: aliases file ~/aliases: No such file or directory'
}
