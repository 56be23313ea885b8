#!/usr/bin/env bats
# Documentation and shell integration: --help, the man page and the
# completion files agree with the option table; make install puts them
# where shells look (without rebuilding: make -o all).

load helpers/common

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# long options named in the man page (Fl -name), one a line, sorted
man_options() {
	grep -oE 'Fl -[a-z0-9][a-z0-9-]*' "$ROOT/man/smtpsend.1" | sed 's/^Fl /-/' | sort -u
}

help_options() {
	smtpsend --help=all | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u
}

@test "docs: every long option in --help=all is in the man page, and every one in the man page is in --help=all" {
	run diff <(help_options) <(man_options)
	[ "$status" -eq 0 ] || fail "--help=all (<) and the man page (>) differ:
$output"
}

@test "docs: every option of the getopt table is in --help=all, and --help names only real options" {
	run diff <(smtpsend --help=options | sort -u) <(help_options)
	[ "$status" -eq 0 ] || fail "the option table (<) and --help=all (>) differ:
$output"
	local o
	for o in $(smtpsend --help | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
		smtpsend --help=options | grep -qx -- "$o" || fail "--help names $o, which does not exist"
	done
}

@test "docs: mandoc -Tlint is clean" {
	command -v mandoc >/dev/null || skip "no mandoc"
	run mandoc -Tlint -Wwarning "$ROOT/man/smtpsend.1"
	assert_success
	assert_output ''
}

@test "docs: the man page documents the config file, environment, sendmail mode, exit statuses and examples" {
	local s
	for s in 'CONFIGURATION FILE' ENVIRONMENT 'SENDMAIL MODE' 'LOCAL RECIPIENTS' \
		'RESULTS AND LOGGING' 'EXIT STATUS' EXAMPLES; do
		grep -qx ".Sh $s" "$ROOT/man/smtpsend.1" || fail "no section $s"
	done
	grep -q 'sendmail -FCronDaemon -i -B8BITMIME -oem' "$ROOT/man/smtpsend.1"
	grep -q 'smtp.gmail.com' "$ROOT/man/smtpsend.1"
	grep -q 'smtp.office365.com' "$ROOT/man/smtpsend.1"
}

@test "completion: the bash and zsh files parse and complete options from the binary" {
	run bash -n "$ROOT/completion/smtpsend.bash"
	assert_success
	if command -v zsh >/dev/null; then
		run zsh -n "$ROOT/completion/_smtpsend"
		assert_success
	fi
	[ -f /usr/share/bash-completion/bash_completion ] || skip "no bash-completion"
	run bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1/completion/smtpsend.bash"
		COMP_WORDS=("$2" --acc); COMP_CWORD=1; COMP_LINE="$2 --acc"; COMP_POINT=${#COMP_LINE}
		_smtpsend
		printf "%s\n" "${COMPREPLY[@]}"
		COMP_WORDS=("$2" --tls ""); COMP_CWORD=2; COMP_LINE="$2 --tls "; COMP_POINT=${#COMP_LINE}
		_smtpsend
		printf "%s\n" "${COMPREPLY[@]}"' _ "$ROOT" "$SMTPSEND"
	assert_success
	assert_line -- --account
	assert_line implicit
}

@test "make install puts the binary, man page and completions under DESTDIR; install-sendmail adds the link" {
	run make -s -o all -C "$ROOT" install DESTDIR="$T/root" PREFIX=/usr
	assert_success
	[ -x "$T/root/usr/bin/smtpsend" ]
	[ -f "$T/root/usr/share/man/man1/smtpsend.1" ]
	[ -f "$T/root/usr/share/bash-completion/completions/smtpsend" ]
	[ -f "$T/root/usr/share/zsh/site-functions/_smtpsend" ]
	[ ! -e "$T/root/usr/sbin/sendmail" ]
	run make -s -o all -o install -C "$ROOT" install-sendmail DESTDIR="$T/root" PREFIX=/usr
	assert_success
	run readlink "$T/root/usr/sbin/sendmail"
	assert_output /usr/bin/smtpsend
}
