# common.bash — shared setup for smtpsend's Bats suites.
#
# Every suite starts with
#     load helpers/common
# which loads bats-support and bats-assert and defines:
#
#   $SMTPSEND      the binary under test (default: ../smtpsend next to tests/)
#   $HELPERS       this directory
#   $SCRIPTS       tests/scripts, canned fakesmtpd scenarios
#   $CERTS         TLS material from mkcerts.sh (generated once per run)
#   $T             a fresh per-test scratch directory
#   python         /usr/bin/python3 (Debian's, where aiosmtpd lives)
#
#   start_aiosmtpd MODE [server args...]
#                  start the aiosmtpd server (MODE plain|starttls|implicit);
#                  sets $PORT and $OUT (where msg-N.eml / msg-N.json land).
#                  $CERTNAME picks the certificate (default: server).
#   start_fake [--tls] [--host ADDR] SCRIPT|-
#                  start fakesmtpd with a script file, or '-' for a script
#                  on stdin (heredoc); --tls gives it a certificate so it
#                  offers STARTTLS.  Sets $PORT, $TRANSCRIPT and $DATADIR.
#   stop_servers   kill every server this test started (run by teardown)
#   smtpsend ARGS...  the binary (wrapped in valgrind when VALGRIND=1)
#   smtpsend_bg OUT ARGS...  the same in the background ($BG_PID), output
#                  in OUT.out / OUT.err; bg_wait collects $status
#   sendto ARGS... run smtpsend against 127.0.0.1:$PORT with --timeout
#                  ${TIMEOUT:-10}
#   to_crlf FILE   turn an LF-only file into CRLF (for --print output)
#   budget SECONDS a time limit, stretched under valgrind
#   check_msg FILE [checkmsg.py options...]
#   msg_json FILE KEY   print one field of a msg-N.json (lists as JSON)
#   wait_for_file FILE [SECONDS]
#   assert_transcript REGEX / refute_transcript REGEX  (grep -E on $TRANSCRIPT)
#   assert_clean_transcript   no protocol-violation markers (lines '!...')
#   wait_transcript REGEX [SECONDS]  wait for a line, then assert it
#   count_transcript REGEX    print the number of matching transcript lines
#   closed_port    print a loopback TCP port nobody listens on
#   now            seconds since the epoch, with fractions
#   assert_elapsed_below START LIMIT
#   start_segproxy PORT  relay to the server on PORT, its bytes cut into
#                  1-octet TCP segments (segproxy.py); sets $PORT to the relay
#   queued DIR     print the names of the queued messages in DIR (*.eml)
#   count_queued DIR   how many there are
#   assert_no_partial DIR  no temporary (.tmp-*) file left in DIR
#   $FAULTSHIM     the LD_PRELOAD fault injector (faultshim.c); prefix a
#                  command with shim_env ... to use it, see faultshim.c
#
# Suites that need their own setup()/teardown() must call common_setup /
# common_teardown from them.

# shellcheck disable=SC2034 # the variables set here are for the suites
bats_require_minimum_version 1.5.0

if [ -f /usr/lib/bats/bats-support/load.bash ]; then
	load /usr/lib/bats/bats-support/load
	load /usr/lib/bats/bats-assert/load
else
	bats_load_library bats-support
	bats_load_library bats-assert
fi

HELPERS=$(cd "$BATS_TEST_DIRNAME/helpers" && pwd)
SCRIPTS=$(cd "$BATS_TEST_DIRNAME/scripts" && pwd)
SMTPSEND=${SMTPSEND:-$BATS_TEST_DIRNAME/../smtpsend}
FAULTSHIM=${FAULTSHIM:-$BATS_TEST_DIRNAME/helpers/faultshim.so}
case $SMTPSEND in
/*) ;;
*) SMTPSEND=$(cd "$(dirname "$SMTPSEND")" && pwd)/$(basename "$SMTPSEND") ;;
esac
export SMTPSEND
PY=/usr/bin/python3

python() { "$PY" "$@"; }

common_setup() {
	T=$BATS_TEST_TMPDIR
	SERVER_PIDS=()
	CERTS=${BATS_RUN_TMPDIR:-$BATS_FILE_TMPDIR}/certs
	"$HELPERS/mkcerts.sh" "$CERTS" || fail "mkcerts.sh failed"
	if [ -z "${RIG_ONLY:-}" ] && [ ! -x "$SMTPSEND" ]; then
		fail "no smtpsend binary at $SMTPSEND (run make first)"
	fi
	# Deterministic environment: no user config, C locale unless a test
	# says otherwise.
	export LC_ALL=C.UTF-8
	unset SMTPSEND_CONFIG XDG_CONFIG_HOME
	export HOME=$T/home
	mkdir -p "$HOME"
	# Sanitizer builds (make SANITIZE=1): leaks inside glibc itself (locale
	# loading) are not ours; see lsan.supp.
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$HELPERS/lsan.supp:print_suppressions=0}
}

common_teardown() {
	stop_servers
}

setup() { common_setup; }
teardown() { common_teardown; }

# wait_for_file FILE [SECONDS] [PID]: poll until FILE is non-empty.
wait_for_file() {
	local file=$1 limit=${2:-5} pid=${3:-} i=0
	local n=$((limit * 20))
	while [ ! -s "$file" ]; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		i=$((i + 1))
		[ "$i" -gt "$n" ] && return 1
		sleep 0.05
	done
	return 0
}

start_aiosmtpd() {
	local mode=$1
	shift
	local dir cert=${CERTNAME:-server}
	dir=$(mktemp -d "$T/aiosmtpd.XXXXXX")
	OUT=$dir/out
	mkdir -p "$OUT"
	"$PY" "$HELPERS/aiosmtpd-server.py" --mode "$mode" \
		--cert "$CERTS/$cert.pem" --key "$CERTS/$cert-key.pem" \
		--port-file "$dir/port" --outdir "$OUT" "$@" \
		</dev/null >"$dir/log" 2>&1 3>&- &
	local pid=$!
	SERVER_PIDS+=("$pid")
	if ! wait_for_file "$dir/port" 5 "$pid"; then
		fail "aiosmtpd-server did not start: $(cat "$dir/log")"
	fi
	PORT=$(cat "$dir/port")
	SERVER_LOG=$dir/log
}

start_fake() {
	local tls=0 host=127.0.0.1
	while [ $# -gt 1 ]; do
		case $1 in
		--tls) tls=1; shift ;;
		--host) host=$2; shift 2 ;;
		*) break ;;
		esac
	done
	local script=${1:--}
	local dir cert=${CERTNAME:-server}
	dir=$(mktemp -d "$T/fake.XXXXXX")
	if [ "$script" = - ]; then
		cat >"$dir/script"
		script=$dir/script
	fi
	TRANSCRIPT=$dir/transcript
	DATADIR=$dir/data
	: >"$TRANSCRIPT"
	local tlsargs=()
	if [ "$tls" = 1 ]; then
		tlsargs=(--cert "$CERTS/$cert.pem" --key "$CERTS/$cert-key.pem")
	fi
	"$PY" "$HELPERS/fakesmtpd.py" --script "$script" --host "$host" \
		--port-file "$dir/port" --transcript "$TRANSCRIPT" \
		--data-dir "$DATADIR" "${tlsargs[@]}" \
		</dev/null >"$dir/log" 2>&1 3>&- &
	local pid=$!
	SERVER_PIDS+=("$pid")
	if ! wait_for_file "$dir/port" 5 "$pid"; then
		fail "fakesmtpd did not start: $(cat "$dir/log")"
	fi
	PORT=$(cat "$dir/port")
	SERVER_LOG=$dir/log
}

stop_servers() {
	local pid i
	for pid in "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${SERVER_PIDS[@]}"; do
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PIDS=()
}

# smtpsend ARGS...: the binary under test (under valgrind when VALGRIND=1).
smtpsend() {
	if [ "${VALGRIND:-}" = 1 ]; then
		# --run-libc-freeres=no: glibc's exit-time cleanup of the
		# getaddrinfo_a helper thread's state trips memcheck.
		valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --run-libc-freeres=no \
			--suppressions="$HELPERS/valgrind.supp" "$SMTPSEND" "$@"
	else
		"$SMTPSEND" "$@"
	fi
}

# smtpsend_bg OUT ARGS... (stdin: body): start smtpsend in the background,
# stdout to OUT.out and stderr to OUT.err.  BG_PID is the process itself
# (valgrind's, which is the same process, under VALGRIND=1), so a signal
# sent there reaches smtpsend.  bg_wait sets $status to its exit status.
smtpsend_bg() {
	local out=$1
	shift
	# <&0: a background job would otherwise read /dev/null.
	(
		if [ "${VALGRIND:-}" = 1 ]; then
			exec valgrind -q --error-exitcode=99 --leak-check=full \
				--errors-for-leak-kinds=definite \
				--run-libc-freeres=no \
				--suppressions="$HELPERS/valgrind.supp" \
				"$SMTPSEND" "$@"
		fi
		exec "$SMTPSEND" "$@"
	) <&0 >"$out.out" 2>"$out.err" 3>&- &
	BG_PID=$!
}

bg_wait() {
	status=0
	wait "$BG_PID" || status=$?
}

sendto() {
	smtpsend --host 127.0.0.1 --port "$PORT" --timeout "${TIMEOUT:-10}" "$@"
}

# to_crlf FILE: if FILE has no CR at all (a --print written with Unix line
# ends), rewrite its LFs as CRLF so checkmsg.py can judge it as a message.
to_crlf() {
	if ! grep -q $'\r' "$1"; then
		sed -i 's/$/\r/' "$1"
	fi
}

# budget SECONDS: a time limit, stretched when running under valgrind.
budget() {
	if [ "${VALGRIND:-}" = 1 ]; then
		awk -v s="$1" 'BEGIN { print s * 4 }'
	else
		echo "$1"
	fi
}

check_msg() {
	"$PY" "$HELPERS/checkmsg.py" "$@"
}

msg_json() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))[sys.argv[2]]
print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
EOF
}

assert_transcript() {
	grep -Eq -- "$1" "$TRANSCRIPT" ||
		fail "transcript has no line matching /$1/:
$(cat "$TRANSCRIPT")"
}

refute_transcript() {
	if grep -Eq -- "$1" "$TRANSCRIPT"; then
		fail "transcript has a line matching /$1/:
$(grep -En -- "$1" "$TRANSCRIPT" | head -5)
--- full transcript ---
$(cat "$TRANSCRIPT")"
	fi
}

# wait_transcript REGEX [SECONDS]: wait until the server has logged a line
# matching REGEX (events after the client exits, e.g. DISCONNECT, may lag).
wait_transcript() {
	local i=0 n=$((${2:-3} * 20))
	while ! grep -Eq -- "$1" "$TRANSCRIPT"; do
		i=$((i + 1))
		[ "$i" -gt "$n" ] && break
		sleep 0.05
	done
	assert_transcript "$1"
}

count_transcript() {
	grep -Ec -- "$1" "$TRANSCRIPT" || true
}

assert_clean_transcript() {
	refute_transcript '^!'
}

closed_port() {
	"$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

now() { date +%s.%N; }

assert_elapsed_below() {
	local start=$1 limit=$2 end
	end=$(now)
	awk -v s="$start" -v e="$end" -v l="$limit" 'BEGIN { exit !((e - s) < l) }' ||
		fail "took $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }') s, limit $limit s"
}

# start_auth_server MODE [server args...]: aiosmtpd offering every SASL
# mechanism it knows, user alice, password $AUTH_PW, OAuth token $AUTH_TOKEN.
AUTH_PW='Pässw0rd:s3cret!'
AUTH_TOKEN='ya29.test-token-Zz9'
# The -PLUS mechanisms are offered only when asked for (AUTH_MECHS): the
# test server can check tls-unique (TLS 1.2) but not tls-exporter (1.3).
AUTH_ALL_MECHS='PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS XOAUTH2 OAUTHBEARER EXTERNAL'
AUTH_DEFAULT_MECHS='PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 XOAUTH2 OAUTHBEARER EXTERNAL'
start_auth_server() {
	local mode=$1
	shift
	start_aiosmtpd "$mode" --auth-mechs "${AUTH_MECHS:-$AUTH_DEFAULT_MECHS}" \
		--auth-user alice --auth-password "$AUTH_PW" \
		--auth-token "$AUTH_TOKEN" "$@"
}

# secret_forms SECRET: the secret as it could leak into a trace -- itself,
# its hex, and the middle of its base64 at each of the three alignments it
# can have inside a longer base64 text (PLAIN's "\0user\0password" etc.).
secret_forms() {
	"$PY" - "$1" <<'PYEOF'
import base64, sys
s = sys.argv[1].encode()
print(s.decode())
print(s.hex())
for k in range(3):
    enc = base64.b64encode(b"\0" * k + s).decode()
    # drop the characters that depend on the prefix or on what follows
    start = (k * 4 + 2) // 3 + (1 if k else 0)
    core = enc[start:len(enc) - 4]
    if len(core) >= 6:
        print(core)
print(base64.b64encode(s).decode().rstrip("="))
PYEOF
}

# refute_secret FILE SECRET: FILE contains the secret in none of its forms.
refute_secret() {
	local form
	while IFS= read -r form; do
		if grep -qF -- "$form" "$1"; then
			fail "$1 contains the secret (as \"$form\"):
$(cat "$1")"
		fi
	done < <(secret_forms "$2")
}

start_segproxy() {
	local upstream=$1 dir
	dir=$(mktemp -d "$T/segproxy.XXXXXX")
	"$PY" "$HELPERS/segproxy.py" --upstream "$upstream" \
		--port-file "$dir/port" </dev/null >"$dir/log" 2>&1 3>&- &
	local pid=$!
	SERVER_PIDS+=("$pid")
	if ! wait_for_file "$dir/port" 5 "$pid"; then
		fail "segproxy did not start: $(cat "$dir/log")"
	fi
	PORT=$(cat "$dir/port")
}

queued() {
	find "$1" -maxdepth 1 -name '*.eml' ! -name '.*' -printf '%f\n' 2>/dev/null | sort
}

count_queued() {
	queued "$1" | wc -l
}

assert_no_partial() {
	local left
	left=$(find "$1" -maxdepth 1 -name '.tmp-*' 2>/dev/null)
	[ -z "$left" ] || fail "temporary files left in $1: $left"
}

# shim_env VAR=VALUE... -- the environment for the fault injector; use as
#     shim_env FAULTSHIM_PATH=$T/q FAULTSHIM_WRITE_LIMIT=100
#     run smtpsend ...
# (exports them for the rest of the test).
shim_env() {
	[ -f "$FAULTSHIM" ] || skip "no $FAULTSHIM (run make check)"
	export LD_PRELOAD=$FAULTSHIM
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	local kv
	for kv in "$@"; do
		export "${kv?}"
	done
}
