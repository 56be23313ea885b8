# mime.bash — helpers for the MIME suites (t0110 and up); load after common:
#     load helpers/common
#     load helpers/mime
#
#   print_msg OUT ARGS...   smtpsend --print ARGS (stdin: the body) into OUT
#   deliver ARGS...         send to the running aiosmtpd; $MSG is the message
#                           as received (it must arrive as $OUT/msg-1.eml)
#   parts FILE [--save DIR] tests/helpers/mimeparts.py: tree and leaf lines
#   assert_tree FILE TREE   the message's structure is exactly TREE
#   part_line FILE N        print leaf N's line ("part N type charset cte
#                           disposition filename name cid size sha256",
#                           tab-separated)
#   part_field FILE N K     field K (1-based, as above) of leaf N
#   sha FILE                the sha256 of FILE
#   mkbin FILE SIZE         SIZE random octets (deterministic: seeded)
#   refute_connected        the fake server saw no connection at all
#   peak_rss_kib FILE       peak RSS (KiB) from a /usr/bin/time -v report

print_msg() {
	local out=$1
	shift
	smtpsend --print "$@" >"$out"
}

deliver() {
	run --separate-stderr sendto "$@"
	[ "$status" -eq 0 ] || fail "smtpsend exited $status: $stderr"
	wait_for_file "$OUT/msg-1.json" 10 || fail "no message delivered"
	MSG=$OUT/msg-1.eml
}

parts() {
	python "$HELPERS/mimeparts.py" "$@"
}

assert_tree() {
	local got
	got=$(parts "$1" | sed -n 's/^tree //p')
	[ "$got" = "$2" ] || fail "MIME structure:
  got      $got
  expected $2"
}

part_line() {
	parts "$1" | awk -F'\t' -v n="$2" '$1 == "part" && $2 == n'
}

part_field() {
	part_line "$1" "$2" | cut -f "$(($3 + 2))"
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

mkbin() {
	python - "$1" "$2" <<'EOF'
import random, sys
r = random.Random(int(sys.argv[2]))
with open(sys.argv[1], "wb") as fh:
    left = int(sys.argv[2])
    while left > 0:
        n = min(left, 1 << 20)
        fh.write(r.randbytes(n))
        left -= n
EOF
}

refute_connected() {
	refute_transcript '^\* CONNECT'
}

peak_rss_kib() {
	sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"
}
