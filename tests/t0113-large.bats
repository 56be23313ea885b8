#!/usr/bin/env bats
# Large attachments: streamed from disk in constant memory, through
# --print and through real servers, and a file that changes under us.
#
# Sizes: the 3 GiB sparse file goes through --print into a counting sink
# (a few seconds).  Through a server it is 256 MiB by default: Postfix's
# smtp-sink, the fastest real server here, takes about 14 s per GiB
# (SMTPSEND_BIG_TESTS=1 sends the full 3 GiB there too).  A sanitizer or
# valgrind build uses smaller sizes and does not judge memory, which its
# instrumentation inflates.

load helpers/common
load helpers/mime

RSS_LIMIT_KIB=16384

setup() {
	common_setup
	INSTRUMENTED=
	if [ "${VALGRIND:-}" = 1 ] || ldd "$SMTPSEND" 2>/dev/null | grep -q libasan; then
		INSTRUMENTED=1
	fi
	[ -x /usr/bin/time ] || skip "/usr/bin/time (Debian package time) not installed"
}

# b64_size N: octets of N octets in base64 lines of 76 with CRLF.
b64_size() {
	python -c 'import sys
n = int(sys.argv[1])
print(n // 57 * 76 + (n % 57 + 2) // 3 * 4 + 2 * ((n + 56) // 57))' "$1"
}

# count_into FILE: count stdin's octets; FILE gets "COUNT" and the last
# 100 octets on a second line.
count_into() {
	python -c 'import sys
n, tail, r = 0, b"", sys.stdin.buffer.raw
buf = bytearray(1 << 20)
view = memoryview(buf)
while True:
    k = r.readinto(buf)     # one buffer: a fresh one per read is slow
    if not k:
        break
    n += k
    tail = (tail + bytes(view[max(0, k - 100):k]))[-100:]
open(sys.argv[1], "w").write("%d\n%r\n" % (n, tail))' "$1"
}

assert_rss_below() {
	local rss
	rss=$(peak_rss_kib "$1")
	[ -n "$rss" ] || fail "no RSS in $(cat "$1")"
	if [ -n "$INSTRUMENTED" ]; then
		echo "# peak RSS ${rss} KiB (instrumented build: not judged)" >&3
		return 0
	fi
	[ "$rss" -lt "$2" ] || fail "peak RSS ${rss} KiB, limit $2 KiB"
}

@test "a 3 GiB sparse attachment streams through --print: exact size, peak RSS under 16 MiB" {
	local size=$((3 * 1024 * 1024 * 1024))
	[ -z "$INSTRUMENTED" ] || size=$((256 * 1024 * 1024))
	truncate -s "$size" "$T/big.bin"
	: >"$T/empty/big.bin" 2>/dev/null || { mkdir "$T/empty"; : >"$T/empty/big.bin"; }
	local args=(--print -f jane@example.com -s big -H 'Message-ID: <big@example.com>' bob@example.com)
	smtpsend "${args[@]}" -a "$T/empty/big.bin" </dev/null >"$T/small.eml"
	/usr/bin/time -v -o "$T/time" "$SMTPSEND" "${args[@]}" -a "$T/big.bin" </dev/null |
		count_into "$T/count"
	local want
	want=$(($(stat -c %s "$T/small.eml") + $(b64_size "$size")))
	assert_equal "$(sed -n 1p "$T/count")" "$want"
	# It ends with the closing boundary, CRLF.
	sed -n 2p "$T/count" | grep -q -- "--=_[0-9a-v]*--\\\\r\\\\n'\$" ||
		fail "does not end with the closing boundary: $(sed -n 2p "$T/count")"
	assert_rss_below "$T/time" "$RSS_LIMIT_KIB"
}

@test "a large sparse attachment through a real server (Postfix smtp-sink): exit 0, peak RSS under 16 MiB" {
	local sink=/usr/sbin/smtp-sink size=$((256 * 1024 * 1024))
	[ -x "$sink" ] || skip "Postfix's smtp-sink not installed"
	[ "${SMTPSEND_BIG_TESTS:-0}" = 1 ] && size=$((3 * 1024 * 1024 * 1024))
	[ -z "$INSTRUMENTED" ] || size=$((32 * 1024 * 1024))
	PORT=$(closed_port)
	local user=()
	[ "$(id -u)" != 0 ] || user=(-u nobody)
	"$sink" "${user[@]}" "127.0.0.1:$PORT" 10 </dev/null >/dev/null 2>&1 3>&- &
	SERVER_PIDS+=("$!")
	local i
	for i in $(seq 50); do
		python -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null && break
		sleep 0.1
	done
	truncate -s "$size" "$T/big.bin"
	run /usr/bin/time -v -o "$T/time" "$SMTPSEND" --host 127.0.0.1 --port "$PORT" \
		--timeout 300 -f jane@example.com -s big -a "$T/big.bin" bob@example.com </dev/null
	assert_success
	assert_rss_below "$T/time" "$RSS_LIMIT_KIB"
}

@test "a 16 MiB random attachment through aiosmtpd arrives byte-exact, in constant memory" {
	start_aiosmtpd plain
	mkbin "$T/data.bin" $((16 * 1024 * 1024))
	TIMEOUT=60 deliver -f jane@example.com -s data -a "$T/data.bin" bob@example.com <<<"x"
	assert_equal "$(part_field "$MSG" 2 9)" "$(sha "$T/data.bin")"
	/usr/bin/time -v -o "$T/time" "$SMTPSEND" --print -f jane@example.com \
		-a "$T/data.bin" bob@example.com </dev/null >/dev/null
	assert_rss_below "$T/time" "$RSS_LIMIT_KIB"
}

@test "an attachment that shrinks while it is sent: exit 74, no final dot, nothing delivered" {
	start_fake - </dev/null
	truncate -s $((512 * 1024 * 1024)) "$T/big.bin"
	sendto --timeout 60 -f jane@example.com -a "$T/big.bin" bob@example.com \
		</dev/null 2>"$T/err" &
	local pid=$!
	wait_transcript '^D: [A-Za-z0-9+/]{76}$' 10
	truncate -s 4096 "$T/big.bin"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 74
	grep -q 'shrank' "$T/err" || fail "stderr: $(cat "$T/err")"
	wait_transcript '^\* (DISCONNECT|closed|EOF)' 5
	refute_transcript '^C: \.$'
	[ ! -e "$DATADIR/msg-1.eml" ] || fail "a message was stored"
}
