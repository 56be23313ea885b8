#!/bin/bash
# bench/run.sh — `make bench`: how long one small STARTTLS message takes with
# smtpsend, curl and msmtp, sent to the same local server in the same run.
#
#   bench/run.sh [-n ROUNDS] [--server aiosmtpd|postfix]
#
# ROUNDS (default 30, or $BENCH_ROUNDS) rounds, each tool once per round.
# The server is started here, on a free loopback port, and stopped on exit:
#   aiosmtpd  tests/helpers/aiosmtpd-server.py in starttls mode (Debian's
#             python3-aiosmtpd).  The default: it answers every client the
#             same way, so the differences measured are the clients'.
#   postfix   a throwaway Postfix (tests/interop/postfix.sh) that accepts
#             and discards the mail: a real MTA, for a second opinion.
#             Needs root and the postfix package.  Its replies right after
#             the TLS handshake are often held back by about 40 ms (for
#             every client), which makes the timings bimodal.
# Postfix's smtp-sink would be the natural fast sink, but it cannot do
# STARTTLS, so it is not used.
#
# The binary measured is $SMTPSEND, default ./smtpsend at the top of the
# tree.  Output is a plain-text report on stdout (bench/bench.py does the
# timing); nothing is written into the tree.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${BENCH_ROUNDS:-30}
server=aiosmtpd
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PATH=$PATH:/usr/sbin:/sbin

while [ $# -gt 0 ]; do
    case $1 in
        -n|--rounds) rounds=$2; shift 2 ;;
        --server) server=$2; shift 2 ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/run.sh: unknown argument: $1" >&2; exit 64 ;;
    esac
done

smtpsend=${SMTPSEND:-$top/smtpsend}
[ -x "$smtpsend" ] || { echo "bench/run.sh: no binary at $smtpsend (run make)" >&2; exit 1; }

# World-searchable scratch directory: the Postfix daemons must reach it.
work=$(mktemp -d "${TMPDIR:-/tmp}/smtpsend-bench.XXXXXX")
chmod 755 "$work"
server_pid=
cleanup() {
    if [ "$server" = postfix ]; then
        bash "$top/tests/interop/postfix.sh" stop "$work/postfix" || true
    elif [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sh "$top/tests/helpers/mkcerts.sh" "$work/certs" >/dev/null

case $server in
    postfix)
        PF_DISCARD=1 PF_CERTDIR=$work/certs \
            bash "$top/tests/interop/postfix.sh" start "$work/postfix" >/dev/null
        # shellcheck disable=SC1091
        . "$work/postfix/instance.env"
        port=$PF_SMTP_PORT
        label="Postfix $(postconf -h mail_version 2>/dev/null) smtpd (mail discarded)"
        ;;
    aiosmtpd)
        mkdir -p "$work/out"
        "$PY" "$top/tests/helpers/aiosmtpd-server.py" --mode starttls \
            --cert "$work/certs/server.pem" --key "$work/certs/server-key.pem" \
            --port-file "$work/port" --outdir "$work/out" --lifetime 600 \
            </dev/null >"$work/server.log" 2>&1 &
        server_pid=$!
        for _ in $(seq 100); do
            [ -s "$work/port" ] && break
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.05
        done
        [ -s "$work/port" ] || { cat "$work/server.log" >&2; exit 1; }
        port=$(cat "$work/port")
        label="aiosmtpd (python3-aiosmtpd)"
        ;;
    *) echo "bench/run.sh: --server must be aiosmtpd or postfix" >&2; exit 64 ;;
esac

"$PY" "$top/bench/bench.py" --host 127.0.0.1 --port "$port" \
    --cafile "$work/certs/ca.pem" --rounds "$rounds" \
    --smtpsend "$smtpsend" --workdir "$work/run" --server "$label"
