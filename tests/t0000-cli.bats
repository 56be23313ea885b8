#!/usr/bin/env bats
# Command line: help, version, and everything refused before any network
# traffic (exit 64 usage, 65 bad data, 66 unreadable input).

load helpers/common

# A fake server whose transcript proves nothing connected to it.
setup() {
	common_setup
	start_fake - </dev/null
}

refute_connected() {
	refute_transcript '^\* CONNECT'
}

# expect_status N ARGS...: a send to the fake server must exit with N.
expect_status() {
	local want=$1
	shift
	run --separate-stderr sendto "$@" </dev/null
	[ "$status" -eq "$want" ] ||
		fail "$(printf 'smtpsend %q ' "$@")-> status $status, want $want; stderr: $stderr"
}

# bad_send ARGS...: a send to the fake server that must fail before connecting.
bad_send() {
	sendto -f jane@example.com "$@" </dev/null
}

@test "--help: exit 0, the common options on one screen, fits 80 columns" {
	run --separate-stderr smtpsend --help
	assert_success
	assert_equal "$stderr" ""
	local opt
	for opt in --host --port --tls --from --cc --bcc --subject --attach --user \
		--config --account --json --print --verbose --quiet \
		--help=all --version; do
		assert_output --partial -- "$opt"
	done
	[ "${#lines[@]}" -le 30 ] || fail "--help has ${#lines[@]} lines"
	run awk 'length > 80 { print NR": "$0 }' <<<"$output"
	assert_output ''
}

@test "--help=all: every option, by group, fits 80 columns" {
	run --separate-stderr smtpsend --help=all
	assert_success
	assert_equal "$stderr" ""
	local opt
	for opt in --host --port --helo --timeout --tls --cafile --insecure \
		--from --envelope-from --to --cc --bcc --subject --body-file \
		--print --verbose --quiet --version --config --account \
		--json --syslog --log --progress --no-progress; do
		assert_output --partial -- "$opt"
	done
	run awk 'length > 80 { print NR": "$0 }' <<<"$output"
	assert_output ''
}

@test "--version: exit 0, names smtpsend, GnuTLS, libgsasl and libidn2 with versions" {
	run --separate-stderr smtpsend --version
	assert_success
	assert_line --regexp '^smtpsend [0-9]+\.[0-9]+'
	assert_output --regexp '[Gg][Nn][Uu][Tt][Ll][Ss][^0-9]*[0-9]+\.[0-9]+\.[0-9]+'
	assert_output --regexp '[Gg][Ss][Aa][Ss][Ll][^0-9]*[0-9]+\.[0-9]+'
	assert_output --regexp '[Ii][Dd][Nn]2[^0-9]*[0-9]+\.[0-9]+'
}

@test "unknown option: exit 64 with a message naming it, nothing sent" {
	run --separate-stderr bad_send --frobnicate bob@example.com
	assert_equal "$status" 64
	assert_output ''
	[[ $stderr == *frobnicate* ]] || fail "stderr does not name the option: $stderr"
	refute_connected
}

@test "no recipient at all: exit 64" {
	run --separate-stderr bad_send -s hi
	assert_equal "$status" 64
	[[ $stderr == smtpsend:* ]] || fail "stderr: $stderr"
	refute_connected
}

@test "only a Bcc recipient is still a recipient (not a usage error)" {
	run --separate-stderr smtpsend --print -f jane@example.com -b bob@example.com -s hi </dev/null
	assert_success
}

@test "bad --port values: exit 64" {
	local p
	for p in abc 0 65536 99999999999 -1 25x ''; do
		run --separate-stderr smtpsend --host 127.0.0.1 --port "$p" \
			-f jane@example.com bob@example.com </dev/null
		[ "$status" -eq 64 ] || fail "--port '$p' gave status $status: $stderr"
	done
}

@test "bad --timeout values: exit 64" {
	local t
	for t in abc -1 5x ''; do
		run --separate-stderr sendto --timeout "$t" -f jane@example.com bob@example.com </dev/null
		[ "$status" -eq 64 ] || fail "--timeout '$t' gave status $status: $stderr"
	done
	refute_connected
}

@test "bad --tls value: exit 64" {
	local v
	for v in maybe yes STARTTLSX ''; do
		run --separate-stderr bad_send --tls "$v" bob@example.com
		[ "$status" -eq 64 ] || fail "--tls '$v' gave status $status: $stderr"
	done
	refute_connected
}

@test "CR or LF in the subject: exit 65 before connecting" {
	run --separate-stderr bad_send -s $'hello\r\nBcc: victim@example.net' bob@example.com
	assert_equal "$status" 65
	[[ $stderr == smtpsend:* ]] || fail "stderr: $stderr"
	run --separate-stderr bad_send -s $'hello\rworld' bob@example.com
	assert_equal "$status" 65
	run --separate-stderr bad_send -s $'hello\nworld' bob@example.com
	assert_equal "$status" 65
	refute_connected
}

@test "CR or LF in an address or display name: exit 65 before connecting" {
	expect_status 65 -f jane@example.com $'bob@example.com\r\nRCPT TO:<x@example.net>'
	expect_status 65 -f jane@example.com --to $'bob@example.com\nBcc: x@example.net'
	expect_status 65 -f jane@example.com -c $'carol@example.com\r' bob@example.com
	expect_status 65 -f jane@example.com -b $'dave@example.com\n' bob@example.com
	expect_status 65 -f $'jane@example.com\r\nX-Evil: 1' bob@example.com
	expect_status 65 -f $'Jane\r\nX-Evil: 1 <jane@example.com>' bob@example.com
	expect_status 65 -f $'"Jane\nClayton" <jane@example.com>' bob@example.com
	expect_status 65 -f jane@example.com --envelope-from $'bounce@example.com\r\nRSET' bob@example.com
	expect_status 65 -f jane@example.com $'Bob\rSmith <bob@example.com>'
	refute_connected
}

@test "invalid address syntax: exit 65 before connecting" {
	local a
	for a in 'bob@' '@example.com' 'bob@@example.com' 'bob@exa mple.com' \
		'Bob <bob@example.com' 'bob@example..com' 'bob smith@example.com' \
		'bob@example.com>'; do
		run --separate-stderr bad_send "$a"
		[ "$status" -eq 65 ] || fail "recipient '$a' gave status $status: $stderr"
		run --separate-stderr sendto -f "$a" bob@example.com </dev/null
		[ "$status" -eq 65 ] || fail "sender '$a' gave status $status: $stderr"
	done
	refute_connected
}

@test "data errors are found without any server: exit 65 even when the port is closed" {
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$(closed_port)" --timeout 5 \
		-f jane@example.com -s $'x\ny' bob@example.com </dev/null
	assert_equal "$status" 65
}

@test "missing --body-file: exit 66 before connecting, the file is named" {
	run --separate-stderr bad_send --body-file "$T/does-not-exist" bob@example.com
	assert_equal "$status" 66
	[[ $stderr == *does-not-exist* ]] || fail "stderr does not name the file: $stderr"
	refute_connected
}

@test "an unreadable --body-file (a directory): exit 66" {
	run --separate-stderr bad_send --body-file "$T" bob@example.com
	assert_equal "$status" 66
	refute_connected
}

@test "errors are one line on stderr starting with 'smtpsend: '" {
	run --separate-stderr bad_send -s $'a\nb' bob@example.com
	assert_equal "$status" 65
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	[[ $stderr == 'smtpsend: '* ]] || fail "stderr: $stderr"
	assert_output ''
}
