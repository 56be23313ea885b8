#!/usr/bin/env bats
# The fault matrix: for each phase of a session and each way a server can
# fail there, the outcome is asserted:
#   - the exit status (the EXPECT column below);
#   - the run ends inside its deadline (--timeout plus one second);
#   - the message is queued when asked (--queue-on-failure) exactly when the
#     status is 75, and then the exit is 0;
#   - no second delivery: one connection, at most one stored message;
#   - no end-of-data after a fault: for every phase before the final dot,
#     the server never sees the dot.
#
# Phases: greeting, EHLO, STARTTLS, TLS handshake, AUTH, MAIL, RCPT, DATA,
# body (the message content), end of data (the reply to the final dot),
# QUIT.  Faults: drop (connection closed), stall (no answer), 421, 4xx,
# 5xx, garbage (a line that is not SMTP), longline (a 5000-octet reply
# line), split (the reply in 1-octet TCP segments).
#
# Adding a row is one line per cell.  The AUTH row logs in as alice with
# AUTH PLAIN (RFC 4954) and the test password of helpers/common.bash; its
# cells also check that no error line shows the password in any encoding.

load helpers/common

BIG_BODY_OCTETS=8000000

# phase_setup PHASE: sets SEL (the fakesmtpd point), EXTRA (script lines),
# TLSSRV (start the server with a certificate) and CARGS (client options).
phase_setup() {
	SEL=$1 EXTRA='' TLSSRV=0 CARGS=()
	case $1 in
	STARTTLS)
		TLSSRV=1
		CARGS=(--tls starttls --cafile "$CERTS/ca.pem") ;;
	TLS)
		TLSSRV=1
		EXTRA='IMPLICIT_TLS'
		CARGS=(--tls implicit --cafile "$CERTS/ca.pem") ;;
	AUTH)
		# Accepts the credentials unless the fault line (later in
		# the script, so it wins) says otherwise.  In clear: the
		# server is on the loopback interface.
		EXTRA='CAPA PIPELINING 8BITMIME ENHANCEDSTATUSCODES AUTH PLAIN
REPLY AUTH 235 2.7.0 Authentication successful'
		printf '%s\n' "$AUTH_PW" >"$T/pw"
		chmod 600 "$T/pw"
		CARGS=(-u alice --password-file "$T/pw" --auth PLAIN) ;;
	BODY)
		# A message far larger than the socket buffers, so that the
		# fault hits while it is still being sent.
		EXTRA='RCVBUF 8192'
		if [ ! -s "$BATS_FILE_TMPDIR/big" ]; then
			yes "$(printf '%0900d' 0)" |
				head -c "$BIG_BODY_OCTETS" >"$BATS_FILE_TMPDIR/big"
		fi ;;
	esac
}

# fault_line PHASE FAULT: the fakesmtpd directive.
fault_line() {
	local sel=$1 temp=451 perm=554
	case $1 in
	STARTTLS) temp=454 ;;
	AUTH) temp=454 perm=535 ;;
	RCPT) perm=550 ;;
	esac
	case $2 in
	drop) echo "CLOSE $sel" ;;
	stall) echo "SILENT $sel" ;;
	421) echo "REPLY $sel 421 4.3.2 service shutting down" ;;
	4xx) echo "REPLY $sel $temp 4.3.0 try again later" ;;
	5xx)
		if [ "$sel" = AUTH ]; then
			echo "REPLY $sel $perm 5.7.8 authentication credentials invalid"
		else
			echo "REPLY $sel $perm 5.7.1 refused"
		fi ;;
	garbage) echo "GARBAGE $sel" ;;
	longline) echo "LONGLINE $sel 5000" ;;
	split)
		# In the body there is no reply to cut up but an early one.
		if [ "$sel" = BODY ]; then
			echo "REPLY BODY $perm 5.7.1 refused"
		fi
		[ "$sel" = TLS ] || echo "SPLIT $sel" ;;
	esac
}

# serve PHASE FAULT: start the server (and, for a split TLS handshake, the
# segment relay in front of it).
serve() {
	local args=()
	[ "$TLSSRV" = 1 ] && args=(--tls)
	{
		[ -n "$EXTRA" ] && echo "$EXTRA"
		fault_line "$1" "$2"
	} >"$T/script"
	start_fake "${args[@]}" "$T/script"
	if [ "$1" = TLS ] && [ "$2" = split ]; then
		start_segproxy "$PORT"
	fi
}

# attempt TIMEOUT [ARGS...]: one run against $PORT; sets status, stderr
# and checks the deadline.
attempt() {
	local limit=$1 t0 input=/dev/null
	shift
	[ "$SEL" = BODY ] && input=$BATS_FILE_TMPDIR/big
	t0=$(now)
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$PORT" \
		--timeout "$limit" -f jane@example.com -s matrix "${CARGS[@]}" \
		"$@" bob@example.com <"$input"
	assert_elapsed_below "$t0" "$(budget "$((limit + 1))")"
}

# cell PHASE FAULT EXPECT
cell() {
	local phase=$1 fault=$2 expect=$3 limit=10
	[ "$fault" = stall ] && limit=1
	phase_setup "$phase"
	serve "$phase" "$fault"
	attempt "$limit"
	[ "$status" = "$expect" ] ||
		fail "$phase x $fault: exit $status, expected $expect; stderr: $stderr"
	if [ "$phase" = AUTH ]; then
		assert_transcript '^C: AUTH PLAIN '
		printf '%s\n' "$stderr" >"$T/stderr"
		refute_secret "$T/stderr" "$AUTH_PW"
	fi
	if [ "$expect" != 0 ]; then
		[ -n "$stderr" ] || fail "no error message"
	elif [ "$phase" = QUIT ] && [ "$fault" != split ]; then
		[[ $stderr == *'warning: QUIT'* ]] || fail "no QUIT warning: $stderr"
	fi
	# No second delivery, no second connection.
	sleep 0.1
	assert_equal "$(count_transcript '^\* CONNECT')" 1
	[ "$(ls "$DATADIR" 2>/dev/null | wc -l)" -le 1 ] || fail "stored twice"
	case $phase/$expect in
	DOT/* | QUIT/* | */0) ;;
	*) refute_transcript '^C: \.$' ;;
	esac
	if [ "$expect" = 0 ]; then
		[ -s "$DATADIR/msg-1.eml" ] || fail "not delivered"
	fi
	# Queued exactly when worth retrying; the caller is then told 0.
	[ "$expect" = 75 ] || return 0
	if [ "$phase/$fault" = BODY/stall ]; then
		stop_servers	# still asleep on the first connection
		serve "$phase" "$fault"
	fi
	attempt "$limit" --queue-on-failure "$T/q"
	[ "$status" = 0 ] || fail "with --queue-on-failure: exit $status; stderr: $stderr"
	[[ $stderr == *"queued as $T/q/"* ]] || fail "stderr: $stderr"
	assert_equal "$(count_queued "$T/q")" 1
	assert_no_partial "$T/q"
}

@test "greeting x drop -> 75" { cell GREETING drop 75; }
@test "greeting x stall -> 75" { cell GREETING stall 75; }
@test "greeting x 421 -> 75" { cell GREETING 421 75; }
@test "greeting x 4xx -> 75" { cell GREETING 4xx 75; }
@test "greeting x 5xx -> 69" { cell GREETING 5xx 69; }
@test "greeting x garbage -> 76" { cell GREETING garbage 76; }
@test "greeting x long line -> 76" { cell GREETING longline 76; }
@test "greeting x 1-octet segments -> 0" { cell GREETING split 0; }

@test "EHLO x drop -> 75" { cell EHLO drop 75; }
@test "EHLO x stall -> 75" { cell EHLO stall 75; }
@test "EHLO x 421 -> 75" { cell EHLO 421 75; }
@test "EHLO x 4xx -> 75" { cell EHLO 4xx 75; }
@test "EHLO x 5xx -> 0 (falls back to HELO)" { cell EHLO 5xx 0; }
@test "EHLO x garbage -> 76" { cell EHLO garbage 76; }
@test "EHLO x long line -> 76" { cell EHLO longline 76; }
@test "EHLO x 1-octet segments -> 0" { cell EHLO split 0; }

@test "STARTTLS x drop -> 75" { cell STARTTLS drop 75; }
@test "STARTTLS x stall -> 75" { cell STARTTLS stall 75; }
@test "STARTTLS x 421 -> 75" { cell STARTTLS 421 75; }
@test "STARTTLS x 4xx -> 75" { cell STARTTLS 4xx 75; }
@test "STARTTLS x 5xx -> 69" { cell STARTTLS 5xx 69; }
@test "STARTTLS x garbage -> 76" { cell STARTTLS garbage 76; }
@test "STARTTLS x long line -> 76" { cell STARTTLS longline 76; }
@test "STARTTLS x 1-octet segments -> 0" { cell STARTTLS split 0; }

@test "TLS handshake x drop -> 75" { cell TLS drop 75; }
@test "TLS handshake x stall -> 75" { cell TLS stall 75; }
@test "TLS handshake x 421 (in clear) -> 76" { cell TLS 421 76; }
@test "TLS handshake x 4xx (in clear) -> 76" { cell TLS 4xx 76; }
@test "TLS handshake x 5xx (in clear) -> 76" { cell TLS 5xx 76; }
@test "TLS handshake x garbage -> 76" { cell TLS garbage 76; }
@test "TLS handshake x long line -> 76" { cell TLS longline 76; }
@test "TLS handshake x 1-octet segments -> 0" { cell TLS split 0; }

@test "AUTH x drop -> 75" { cell AUTH drop 75; }
@test "AUTH x stall -> 75" { cell AUTH stall 75; }
@test "AUTH x 421 -> 75" { cell AUTH 421 75; }
@test "AUTH x 4xx -> 75" { cell AUTH 4xx 75; }
@test "AUTH x 5xx -> 77" { cell AUTH 5xx 77; }
@test "AUTH x garbage -> 76" { cell AUTH garbage 76; }
@test "AUTH x long line -> 76" { cell AUTH longline 76; }
@test "AUTH x 1-octet segments -> 0" { cell AUTH split 0; }

@test "MAIL x drop -> 75" { cell MAIL drop 75; }
@test "MAIL x stall -> 75" { cell MAIL stall 75; }
@test "MAIL x 421 -> 75" { cell MAIL 421 75; }
@test "MAIL x 4xx -> 75" { cell MAIL 4xx 75; }
@test "MAIL x 5xx -> 69" { cell MAIL 5xx 69; }
@test "MAIL x garbage -> 76" { cell MAIL garbage 76; }
@test "MAIL x long line -> 76" { cell MAIL longline 76; }
@test "MAIL x 1-octet segments -> 0" { cell MAIL split 0; }

@test "RCPT x drop -> 75" { cell RCPT drop 75; }
@test "RCPT x stall -> 75" { cell RCPT stall 75; }
@test "RCPT x 421 -> 75" { cell RCPT 421 75; }
@test "RCPT x 4xx -> 75" { cell RCPT 4xx 75; }
@test "RCPT x 5xx -> 67" { cell RCPT 5xx 67; }
@test "RCPT x garbage -> 76" { cell RCPT garbage 76; }
@test "RCPT x long line -> 76" { cell RCPT longline 76; }
@test "RCPT x 1-octet segments -> 0" { cell RCPT split 0; }

@test "DATA x drop -> 75" { cell DATA drop 75; }
@test "DATA x stall -> 75" { cell DATA stall 75; }
@test "DATA x 421 -> 75" { cell DATA 421 75; }
@test "DATA x 4xx -> 75" { cell DATA 4xx 75; }
@test "DATA x 5xx -> 69" { cell DATA 5xx 69; }
@test "DATA x garbage -> 76" { cell DATA garbage 76; }
@test "DATA x long line -> 76" { cell DATA longline 76; }
@test "DATA x 1-octet segments -> 0" { cell DATA split 0; }

@test "body x drop -> 75" { cell BODY drop 75; }
@test "body x stall -> 75" { cell BODY stall 75; }
@test "body x 421 -> 75" { cell BODY 421 75; }
@test "body x 4xx (early reply) -> 75" { cell BODY 4xx 75; }
@test "body x 5xx (early reply) -> 69" { cell BODY 5xx 69; }
@test "body x garbage -> 76" { cell BODY garbage 76; }
@test "body x long line -> 76" { cell BODY longline 76; }
@test "body x 1-octet segments (an early 5xx) -> 69" { cell BODY split 69; }

@test "end of data x drop -> 75" { cell DOT drop 75; }
@test "end of data x stall -> 75" { cell DOT stall 75; }
@test "end of data x 421 -> 75" { cell DOT 421 75; }
@test "end of data x 4xx -> 75" { cell DOT 4xx 75; }
@test "end of data x 5xx -> 69" { cell DOT 5xx 69; }
@test "end of data x garbage -> 76" { cell DOT garbage 76; }
@test "end of data x long line -> 76" { cell DOT longline 76; }
@test "end of data x 1-octet segments -> 0" { cell DOT split 0; }

@test "QUIT x drop -> 0 (warning)" { cell QUIT drop 0; }
@test "QUIT x stall -> 0 (warning)" { cell QUIT stall 0; }
@test "QUIT x 421 -> 0 (warning)" { cell QUIT 421 0; }
@test "QUIT x 4xx -> 0 (warning)" { cell QUIT 4xx 0; }
@test "QUIT x 5xx -> 0 (warning)" { cell QUIT 5xx 0; }
@test "QUIT x garbage -> 0 (warning)" { cell QUIT garbage 0; }
@test "QUIT x long line -> 0 (warning)" { cell QUIT longline 0; }
@test "QUIT x 1-octet segments -> 0" { cell QUIT split 0; }

# Local faults.

@test "local: a standard input that never closes -> 75 within the deadline" {
	start_fake - </dev/null
	mkfifo "$T/stdin"
	sleep 30 >"$T/stdin" 3>&- &
	SERVER_PIDS+=("$!")
	local t0
	t0=$(now)
	run --separate-stderr sendto --timeout 1 -f jane@example.com bob@example.com <"$T/stdin"
	assert_elapsed_below "$t0" "$(budget 2)"
	assert_equal "$status" 75
	assert_equal "$(count_transcript '^\* CONNECT')" 0
}

@test "local: the queue directory on a full file system -> 73, no partial file" {
	start_fake - <<'EOF'
REPLY MAIL 451 4.3.0 try later
EOF
	mkdir "$T/q"
	shim_env FAULTSHIM_PATH="$T/q" FAULTSHIM_WRITE_LIMIT=1000
	run --separate-stderr sendto -f jane@example.com --queue-on-failure "$T/q" \
		bob@example.com < <(seq 1 5000)
	assert_equal "$status" 73
	[ -z "$(ls -A "$T/q")" ] || fail "left: $(ls -A "$T/q")"
}

@test "local: the pickup directory on a tiny tmpfs that fills up -> 73, no partial file" {
	mkdir "$T/tiny"
	mount -t tmpfs -o size=64k tmpfs "$T/tiny" 2>/dev/null ||
		skip "cannot mount a tmpfs here (the LD_PRELOAD variant is in t0700)"
	seq 1 100000 >"$T/body"
	run --separate-stderr smtpsend --pickup-dir "$T/tiny" -f jane@example.com \
		bob@example.com <"$T/body"
	local left
	left=$(ls -A "$T/tiny")
	umount "$T/tiny"
	assert_equal "$status" 73
	[[ $stderr == *'No space left on device'* ]] || fail "stderr: $stderr"
	[ -z "$left" ] || fail "left: $left"
}

@test "local: an attachment truncated while being sent -> 74, no end of data" {
	start_fake - <<'EOF'
DELAY DATA 1
EOF
	seq 1 200000 >"$T/att.txt"
	smtpsend_bg "$T/bg" --host 127.0.0.1 --port "$PORT" --timeout 10 \
		-f jane@example.com -a "$T/att.txt" bob@example.com <<<"see attachment"
	wait_transcript '^C: DATA' 10
	truncate -s 1000 "$T/att.txt"
	bg_wait
	assert_equal "$status" 74
	refute_transcript '^C: \.$'
}

@test "local: an attachment deleted while being sent -> never half a message" {
	start_fake - <<'EOF'
DELAY DATA 1
EOF
	seq 1 200000 >"$T/att.txt"
	cp "$T/att.txt" "$T/orig.txt"
	smtpsend_bg "$T/bg" --host 127.0.0.1 --port "$PORT" --timeout 10 \
		-f jane@example.com -a "$T/att.txt" bob@example.com <<<"see attachment"
	wait_transcript '^C: DATA' 10
	rm "$T/att.txt"
	bg_wait
	# The open descriptor still reads the whole file: either it all
	# went, or (an implementation that reopens) nothing did.
	if [ "$status" = 0 ]; then
		run python -c '
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
parts = [p for p in m.walk() if p.get_filename()]
sys.exit(parts[0].get_payload(decode=True) != open(sys.argv[2], "rb").read())' \
			"$DATADIR/msg-1.eml" "$T/orig.txt"
		assert_success
	else
		assert_equal "$status" 74
		refute_transcript '^C: \.$'
	fi
}
