#!/usr/bin/env bats
# Results for machines and people: --json, --log, --syslog, --progress.

load helpers/common

# json EXPR: evaluate a Python expression on the JSON object in $output
# (bound to j); print the result.
json() {
	"$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$output" "$1"
}

@test "--json: one object on stdout that matches the delivery" {
	start_aiosmtpd plain
	run --separate-stderr sendto --json -f jane@example.com -c carol@example.com bob@example.com <<<"hello"
	assert_success
	assert_equal "${#lines[@]}" 1
	run json 'j["status"], j["delivered"], j["error"], j["from"]'
	assert_output "(0, True, None, 'jane@example.com')"
	run --separate-stderr sendto --json -f jane@example.com -c carol@example.com bob@example.com <<<"hello"
	run json '[(r["address"], r["accepted"], r["code"]) for r in j["recipients"]]'
	assert_output "[('bob@example.com', True, 250), ('carol@example.com', True, 250)]"
	run --separate-stderr sendto --json -f jane@example.com bob@example.com <<<"hello"
	run json 'j["reply"]["code"], j["size"] == '"$(stat -c %s "$OUT/msg-3.eml")"', j["tls"], j["auth"]'
	assert_output "(250, True, None, None)"
	run --separate-stderr sendto --json -f jane@example.com bob@example.com <<<"hello"
	run json 'sorted(j["timings_ms"]) , all(v >= 0 for v in j["timings_ms"].values())'
	assert_output "(['auth', 'connect', 'data', 'envelope', 'greeting', 'quit', 'tls', 'total'], True)"
}

@test "--json: TLS version, cipher, resumption and the AUTH mechanism" {
	start_auth_server starttls
	printf '%s\n' "$AUTH_PW" >"$T/pw"
	chmod 600 "$T/pw"
	run --separate-stderr sendto --json --cafile "$CERTS/ca.pem" -u alice \
		--password-file "$T/pw" --auth PLAIN --tls-session-cache "$T/cache" \
		-f jane@example.com bob@example.com <<<"x"
	assert_success
	run json 'j["tls"]["version"], j["tls"]["resumed"], j["auth"], bool(j["tls"]["cipher"])'
	assert_output "('TLS1.3', False, 'PLAIN', True)"
	[[ $output != *"$AUTH_PW"* ]]
}

@test "--json: a refused recipient, with its code, enhanced status and text, and the exit status" {
	start_fake - <<'EOF'
CAPA ENHANCEDSTATUSCODES
REPLY RCPT 550 5.1.1 no such user here
EOF
	run --separate-stderr sendto --json -f jane@example.com nobody@example.com <<<"x"
	assert_equal "$status" 67
	run json 'j["status"], j["delivered"], j["recipients"][0]["code"], j["recipients"][0]["status"], j["recipients"][0]["text"], "RCPT" in j["error"]'
	assert_output "(67, False, 550, '5.1.1', 'no such user here', True)"
}

@test "--json: an object even when nothing could be sent" {
	run --separate-stderr smtpsend --host 127.0.0.1 --json --port "$(closed_port)" -f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 75
	run json 'j["status"], j["delivered"], j["reply"]'
	assert_output "(75, False, None)"
}

@test "--log FILE: one line per message with time, from, recipients, size, reply and status; no secrets" {
	start_auth_server starttls
	printf '%s\n' "$AUTH_PW" >"$T/pw"
	chmod 600 "$T/pw"
	sendto --log "$T/log" --cafile "$CERTS/ca.pem" -u alice --password-file "$T/pw" \
		-f jane@example.com bob@example.com <<<"x"
	smtpsend --host 127.0.0.1 --log "$T/log" -f jane@example.com --port "$(closed_port)" bob@example.com <<<"x" || true
	run cat "$T/log"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^20[0-9-]+T[0-9:]+[-+][0-9]{4} smtpsend\[[0-9]+\]: host=127.0.0.1 from=<jane@example.com> to=<bob@example.com> size=[0-9]+ reply="250 [^"]*"( queue_id=[^ ]+)? status=0$'
	assert_line --index 1 --regexp 'status=75 error=".*"$'
	run grep -c -F "$AUTH_PW" "$T/log"
	assert_output 0
	run stat -c %a "$T/log"
	assert_output 600
}

@test "--syslog=local3: the line reaches the system log socket" {
	command -v unshare >/dev/null && [ "$(id -u)" = 0 ] || skip "needs root and unshare (private /dev/log)"
	start_aiosmtpd plain
	"$PY" - "$T/log.sock" "$T/syslog.txt" <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
with open(sys.argv[2], "wb") as f:
    try:
        f.write(s.recv(65536))
    except OSError:
        pass
PYEOF
	SERVER_PIDS+=("$!")
	wait_for_file "$T/log.sock" 5 || test -S "$T/log.sock"
	mkdir "$T/dev"
	touch "$T/dev/null"
	ln -s "$T/log.sock" "$T/dev/log"
	run unshare -m bash -c '
		mount --bind /dev/null "$1/dev/null" && mount --rbind "$1/dev" /dev || exit 99
		shift
		"$@" </dev/null' _ "$T" "$SMTPSEND" --host 127.0.0.1 --port "$PORT" \
		--timeout 10 --syslog=local3 -f jane@example.com bob@example.com
	[ "$status" != 99 ] || skip "cannot mount a private /dev"
	assert_success
	wait_for_file "$T/syslog.txt" 5
	run cat "$T/syslog.txt"
	# <PRI>: local3 (19) * 8 + info (6) = 158
	assert_output --regexp '^<158>.*smtpsend\[[0-9]+\]: host=127.0.0.1 from=<jane@example.com> to=<bob@example.com> size=[0-9]+ reply="250 [^"]*"( queue_id=[^ ]+)? status=0'
}

@test "--syslog: a facility that does not exist is a usage error" {
	run --separate-stderr smtpsend --syslog=nosuch -f a@b.example --print c@d.example </dev/null
	assert_equal "$status" 64
}

# big_body FILE: 3 MiB of text lines
big_body() {
	"$PY" -c 'import sys; sys.stdout.write(("x" * 70 + "\n") * (3 * 1024 * 1024 // 71))' >"$1"
}

@test "--progress: shown on a terminal for a message over 1 MiB, never when stderr is not a terminal" {
	command -v script >/dev/null || skip "needs script(1)"
	start_aiosmtpd plain
	big_body "$T/big"
	# Not a terminal: nothing but the outcome.
	run --separate-stderr sendto -f jane@example.com bob@example.com <"$T/big"
	assert_success
	assert_equal "$stderr" ""
	# A terminal (script gives it a pty); slow the link down a little so
	# that the 200 ms redraw interval passes.
	run script -qec "$SMTPSEND --host 127.0.0.1 --port $PORT --timeout 20 -f jane@example.com bob@example.com --body-file $T/big" /dev/null
	assert_success
	[[ $output == *"MiB sent"* ]] || fail "no progress on a terminal: $output"
	run script -qec "$SMTPSEND --no-progress --host 127.0.0.1 --port $PORT --timeout 20 -f jane@example.com bob@example.com --body-file $T/big" /dev/null
	assert_success
	[[ $output != *"MiB sent"* ]]
}

@test "diagnostics: implicit TLS against a port that greets in clear says to use --tls starttls" {
	start_aiosmtpd plain
	run --separate-stderr sendto --tls implicit -f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 76
	[[ $stderr == *"port $PORT speaks plain SMTP first: use --tls starttls"* ]] || fail "$stderr"
	assert_equal "$(wc -l <<<"$stderr")" 1
}

@test "diagnostics: STARTTLS against an implicit-TLS port says to use --tls implicit" {
	start_aiosmtpd implicit
	TIMEOUT=3 run --separate-stderr sendto --tls starttls --cafile "$CERTS/ca.pem" -f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 75
	[[ $stderr == *"use --tls implicit"* ]] || fail "$stderr"
	assert_equal "$(wc -l <<<"$stderr")" 1
}

@test "diagnostics: unknown host, refused connection and untrusted certificate each name the likely fix" {
	run --separate-stderr smtpsend --host no-such-host.invalid -f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 68
	[[ $stderr == *"check the spelling of --host"* ]] || fail "$stderr"
	run --separate-stderr smtpsend --host 127.0.0.1 --port "$(closed_port)" -f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 75
	[[ $stderr == *"nothing listens on port"* ]] || fail "$stderr"
	start_aiosmtpd starttls
	run --separate-stderr sendto -f jane@example.com bob@example.com <<<"x"
	assert_equal "$status" 69
	[[ $stderr == *"--cafile FILE"* ]] || fail "$stderr"
	assert_equal "$(wc -l <<<"$stderr")" 1
}

@test "--json with --flush: one object for the run, its recipients list empty (each message has its report line)" {
	local r
	for r in a b c; do
		run --separate-stderr smtpsend --pickup-dir "$T/q" -f jane@example.com "$r@example.com" <<<"$r"
		assert_success
	done
	start_aiosmtpd plain
	run --separate-stderr sendto --json --flush "$T/q"
	assert_success
	assert_equal "$(grep -c '^sent ' <<<"$output")" 3
	output=${lines[-1]}
	run json 'j["status"], j["recipients"], j["reply"]["code"], j["error"]'
	assert_output "(0, [], 250, None)"
	assert_equal "$(ls "$OUT" | grep -c '\.eml$')" 3
}
