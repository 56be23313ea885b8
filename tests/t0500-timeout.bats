#!/usr/bin/env bats
# One deadline for the whole run: whatever the server or stdin does,
# smtpsend exits 75 within --timeout (plus a little), naming the phase.

load helpers/common

# timed_send TIMEOUT ARGS... (stdin: body): run smtpsend with --timeout
# TIMEOUT against $PORT; sets $status/$stderr and checks the time budget.
timed_send() {
	local limit=$1 start
	shift
	start=$(now)
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PORT" --timeout "$limit" \
		-f jane@example.com "$@"
	assert_elapsed_below "$start" "$(budget "$(awk -v t="$limit" 'BEGIN { print t + 1.5 }')")"
}

# assert_timeout PHASE: exit 75, and stderr says it timed out in PHASE.
assert_timeout() {
	assert_equal "$status" 75
	[[ $stderr == *'timed out'* ]] || fail "stderr does not say 'timed out': $stderr"
	if [ -n "${1:-}" ]; then
		[[ $stderr == *"$1"* ]] || fail "stderr does not name the phase '$1': $stderr"
	fi
}

@test "server never greets: exit 75 within the budget, phase 'greeting'" {
	start_fake - <<'EOF'
SILENT GREETING
EOF
	timed_send 3 bob@example.com <<<"x"
	assert_timeout greeting
	refute_transcript '^C: MAIL'
}

@test "server never answers EHLO: exit 75, phase 'EHLO'" {
	start_fake - <<'EOF'
SILENT EHLO
EOF
	timed_send 2 bob@example.com <<<"x"
	assert_timeout EHLO
}

@test "server never answers MAIL: exit 75, phase 'MAIL FROM'" {
	start_fake - <<'EOF'
SILENT MAIL
EOF
	timed_send 2 bob@example.com <<<"x"
	assert_timeout 'MAIL FROM'
}

@test "server never answers RCPT: exit 75, phase 'RCPT TO'" {
	start_fake - <<'EOF'
CAPA 8BITMIME
SILENT RCPT
EOF
	timed_send 2 bob@example.com <<<"x"
	assert_timeout 'RCPT TO'
}

@test "server never answers DATA: exit 75, phase 'DATA'" {
	start_fake - <<'EOF'
CAPA 8BITMIME
SILENT DATA
EOF
	timed_send 2 bob@example.com <<<"x"
	assert_timeout DATA
	refute_transcript '^D: '
}

@test "server never answers the final dot: exit 75, phase 'end of data', nothing stored" {
	start_fake - <<'EOF'
SILENT DOT
EOF
	timed_send 2 -s x bob@example.com <<<"x"
	assert_timeout 'end of data'
	assert_transcript '^C: \.$'
	[ -z "$(ls -A "$DATADIR")" ]
}

@test "server never answers STARTTLS: exit 75, phase 'STARTTLS'" {
	start_fake --tls - <<'EOF'
SILENT STARTTLS
EOF
	timed_send 2 --tls starttls --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_timeout STARTTLS
}

@test "TLS handshake never completes: exit 75, phase 'TLS handshake'" {
	start_fake - <<'EOF'
SILENT GREETING
EOF
	timed_send 2 --tls implicit --cafile "$CERTS/ca.pem" bob@example.com <<<"x"
	assert_timeout 'TLS handshake'
}

@test "a server that drips one byte per 50 ms cannot stretch the deadline" {
	start_fake - <<'EOF'
DRIP 50
EOF
	timed_send 2 bob@example.com <<<"x"
	assert_timeout
}

@test "slow at every step: the deadline covers the whole run, not each step" {
	start_fake "$SCRIPTS/slow-every-step.fake"
	timed_send 2 bob@example.com <<<"x"
	assert_timeout
	[ -z "$(ls -A "$DATADIR")" ]
}

@test "slow but within the deadline: delivered" {
	start_fake - <<'EOF'
DELAY GREETING 0.3
DELAY MAIL 0.3
DELAY DOT 0.3
EOF
	timed_send 5 bob@example.com <<<"x"
	assert_success
	[ -s "$DATADIR/msg-1.eml" ]
	assert_clean_transcript    # e.g. no !EARLY_TALKER during the slow greeting
}

@test "stdin never ends: exit 75, phase 'reading input', no connection made" {
	start_fake - </dev/null
	mkfifo "$T/stdin"
	sleep 30 >"$T/stdin" 3>&- &
	SERVER_PIDS+=("$!")
	timed_send 2 bob@example.com <"$T/stdin"
	assert_timeout 'reading input'
	refute_transcript '^\* CONNECT'
}

@test "a server that never answers the TCP handshake (not testable on loopback)" {
	skip "needs a black-hole address; loopback always answers or refuses"
}
