#!/bin/bash
# tests/interop/postfix.sh — run a throwaway Postfix instance for the
# interop suite and the benchmarks.
#
#   postfix.sh start DIR    configure and start an instance living in DIR
#   postfix.sh stop DIR     stop it (waits for the master to exit)
#   postfix.sh status DIR   exit 0 if its master process is alive
#   postfix.sh wait DIR RCPT [SECONDS]
#                           wait (default 10 s) until a copy for RCPT has
#                           been delivered; print its file name
#
# Everything the instance owns lives under DIR: its configuration (DIR/etc),
# queue (DIR/spool), data directory, log (DIR/maillog), test certificates
# (DIR/certs) and delivered mail (the Maildir DIR/mail/inbox/).
# It never touches the system instance: it is started with `postfix -c`,
# has its own syslog_name and listens only on loopback ports picked free.
#
# After `start`, DIR/instance.env holds shell assignments for the callers:
#   PF_DIR PF_SMTP_PORT PF_SMTPS_PORT PF_MAILDIR PF_CAFILE PF_IPV6 PF_LOG
#   PF_NOUTF8_PORT
#
# Mail for any user at example.com, example.net and example.org is accepted
# and delivered to the one Maildir; rejected@example.com is refused
# at RCPT with 550; any other domain is refused as relaying (554).
# The internationalised test domain 例子.测试 (xn--fsqu00a.xn--0zwm56d) is
# accepted too.  PF_NOUTF8_PORT (127.0.0.1 only) is a plain-SMTP listener
# with smtputf8_enable=no, for clients' fallback when SMTPUTF8 is absent.
#
# Environment:
#   PF_DISCARD=1   accept mail but throw it away (benchmarks: no disk work)
#   PF_CERTDIR=D   use ca.pem/server.pem/server-key.pem from D instead of
#                  generating them with tests/helpers/mkcerts.sh
#   PF_SASL=1      also start a private Dovecot auth service and let Postfix
#                  offer SMTP AUTH through it (smtpd_sasl_type = dovecot):
#                  PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256, only
#                  after TLS.  Users come from DIR/dovecot/users
#                  ("name:{PLAIN}password" lines; by default alice with
#                  $PF_SASL_PASSWORD, else "interop-Secret-1").
#   PF_SASL_KEYTAB=F  with PF_SASL=1: Dovecot also offers GSSAPI, accepting
#                  any service principal in the Kerberos keytab F (copied
#                  into the instance); PF_SASL_KRB5_CONFIG names the
#                  krb5.conf it should use (tests/interop/kdc.sh writes
#                  both).  A principal's realm is kept in the user name.
#
# Needs root (the Postfix master must start as root) and the postfix package.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
helpers=
if [ -d "$here/../helpers" ]; then
    helpers=$(cd "$here/../helpers" && pwd)
fi
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

die() { echo "postfix.sh: $*" >&2; exit 1; }

usage() { die "usage: postfix.sh start|stop|status DIR | wait DIR RCPT [SECONDS]"; }

# postfix(1) lives in /usr/sbin, which a non-login root shell may not have.
PATH=$PATH:/usr/sbin:/sbin

pf() { postfix -c "$DIR/etc" "$@"; }

# Print $2 (default two) distinct free TCP ports, each free on 127.0.0.1
# and, when IPv6 loopback works, on ::1 as well.
free_ports() {
    "$PYTHON" - "$1" "${2:-2}" <<'EOF'
import socket, sys
want_v6 = sys.argv[1] == "1"
ports = []
while len(ports) < int(sys.argv[2]):
    s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s4.bind(("127.0.0.1", 0))
    port = s4.getsockname()[1]
    ok = port not in ports
    if ok and want_v6:
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s6.bind(("::1", port))
        except OSError:
            ok = False
        s6.close()
    s4.close()
    if ok:
        ports.append(port)
print(*ports)
EOF
}

have_ipv6_loopback() {
    "$PYTHON" - <<'EOF' 2>/dev/null
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(("::1", 0))
EOF
}

# Wait until something answers with an SMTP greeting on 127.0.0.1:$1.
wait_greeting() {
    local port=$1 deadline=$((SECONDS + 15)) line
    while [ $SECONDS -lt $deadline ]; do
        if exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
            line=
            read -r -t 5 line <&3 || true
            exec 3<&- 3>&-
            case $line in 220*) return 0 ;; esac
        fi
        sleep 0.1
    done
    return 1
}

master_pid() {
    local f=$DIR/spool/pid/master.pid pid
    [ -r "$f" ] || return 1
    read -r pid <"$f" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

write_config() {
    local smtp_port=$1 smtps_port=$2 ipv6=$3 noutf8_port=$4
    local interfaces=127.0.0.1 protocols=ipv4 mynet=127.0.0.0/8
    local vuid vgid transport=virtual
    if [ "$ipv6" = 1 ]; then
        interfaces='127.0.0.1, [::1]'
        protocols=all
        mynet='127.0.0.0/8, [::1]/128'
    fi
    # virtual(8) writes the Maildirs as this user; it must not be root.
    vuid=$(id -u nobody 2>/dev/null || id -u postfix)
    vgid=$(id -g nobody 2>/dev/null || id -g postfix)
    [ "${PF_DISCARD:-0}" = 1 ] && transport=discard

    cat >"$DIR/etc/main.cf" <<EOF
# Throwaway Postfix instance for the smtpsend interop tests (generated).
compatibility_level = 3.6
queue_directory = $DIR/spool
data_directory = $DIR/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-smtpsend-test
maillog_file = $DIR/maillog
maillog_file_prefixes = $DIR
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
inet_interfaces = $interfaces
inet_protocols = $protocols
mynetworks = $mynet

myhostname = mx.interop.test
mydomain = example.com
myorigin = example.com
mydestination =
append_dot_mydomain = no
biff = no
alias_maps =
alias_database =
local_recipient_maps =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtputf8_enable = yes

# Deliver the test domains into one Maildir, DIR/mail/inbox/; virtual(8)
# puts a Delivered-To: header on top of each copy, which "wait" looks for.
virtual_mailbox_domains = example.com, example.net, example.org,
    例子.测试, xn--fsqu00a.xn--0zwm56d
virtual_mailbox_base = $DIR/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:$vuid
virtual_gid_maps = static:$vgid
virtual_mailbox_limit = 0
virtual_transport = $transport
# Nothing ever leaves this instance.
default_transport = error:the interop instance does not relay
relay_transport = error:the interop instance does not relay

smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$DIR/etc/rcpt_access, reject_unauth_destination
smtpd_error_sleep_time = 0
in_flow_delay = 0
smtpd_banner = \$myhostname ESMTP smtpsend-interop

smtpd_tls_cert_file = $DIR/certs/server.pem
smtpd_tls_key_file = $DIR/certs/server-key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database =
tls_random_source = dev:/dev/urandom
EOF
    if [ "${PF_SASL:-0}" = 1 ]; then
        cat >>"$DIR/etc/main.cf" <<EOF

# SMTP AUTH through the instance's own Dovecot (PF_SASL=1).
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $DIR/dovecot/auth
smtpd_tls_auth_only = yes
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
EOF
    fi

    cat >"$DIR/etc/master.cf" <<EOF
# service        type  private unpriv chroot wakeup maxproc command
127.0.0.1:$smtp_port  inet  n  -  n  -  -  smtpd
127.0.0.1:$smtps_port inet  n  -  n  -  -  smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
127.0.0.1:$noutf8_port inet  n  -  n  -  -  smtpd
  -o smtputf8_enable=no
EOF
    if [ "$ipv6" = 1 ]; then
        cat >>"$DIR/etc/master.cf" <<EOF
[::1]:$smtp_port  inet  n  -  n  -  -  smtpd
[::1]:$smtps_port inet  n  -  n  -  -  smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
EOF
    fi
    cat >>"$DIR/etc/master.cf" <<'EOF'
pickup     unix  n  -  n  60  1  pickup
cleanup    unix  n  -  n  -   0  cleanup
qmgr       unix  n  -  n  300 1  qmgr
tlsmgr     unix  -  -  n  1000? 1 tlsmgr
rewrite    unix  -  -  n  -   -  trivial-rewrite
bounce     unix  -  -  n  -   0  bounce
defer      unix  -  -  n  -   0  bounce
trace      unix  -  -  n  -   0  bounce
verify     unix  -  -  n  -   1  verify
flush      unix  n  -  n  1000? 0 flush
proxymap   unix  -  -  n  -   -  proxymap
smtp       unix  -  -  n  -   -  smtp
relay      unix  -  -  n  -   -  smtp
showq      unix  n  -  n  -   -  showq
error      unix  -  -  n  -   -  error
retry      unix  -  -  n  -   -  error
discard    unix  -  -  n  -   -  discard
local      unix  -  n  n  -   -  local
virtual    unix  -  n  n  -   -  virtual
anvil      unix  -  -  n  -   1  anvil
scache     unix  -  -  n  -   1  scache
postlog    unix-dgram n - n - 1 postlogd
EOF

    cat >"$DIR/etc/rcpt_access" <<'EOF'
rejected@example.com	550 5.1.1 <rejected@example.com>: no such user here
EOF
}

# A Dovecot that only serves authentication, on a socket in Postfix's queue.
start_dovecot() {
    local d=$DIR/dovecot i
    command -v dovecot >/dev/null || die "Dovecot not installed (dovecot-core)"
    mkdir -p "$d/run" "$d/state"
    chmod 755 "$d"
    [ -s "$d/users" ] ||
        printf 'alice:{PLAIN}%s\n' "${PF_SASL_PASSWORD:-interop-Secret-1}" >"$d/users"
    chmod 644 "$d/users"
    local mechs="plain login cram-md5 scram-sha-1 scram-sha-256" krb5=
    if [ -n "${PF_SASL_KEYTAB:-}" ]; then
        # The auth process runs as Dovecot's internal user: give it its own
        # copies, and the Kerberos settings through its environment (Dovecot
        # clears the rest).  No replay cache: nothing to keep between runs.
        install -m 400 -o dovecot "$PF_SASL_KEYTAB" "$d/krb5.keytab"
        install -m 644 "${PF_SASL_KRB5_CONFIG:?PF_SASL_KRB5_CONFIG not set}" \
            "$d/krb5.conf"
        mechs="$mechs gssapi"
        krb5="auth_krb5_keytab = $d/krb5.keytab
auth_gssapi_hostname = \"\$ALL\"
import_environment = TZ KRB5_CONFIG=$d/krb5.conf KRB5RCACHETYPE=none"
    fi
    cat >"$d/dovecot.conf" <<EOF
# Authentication-only Dovecot for the smtpsend interop tests (generated).
base_dir = $d/run
state_dir = $d/state
protocols =
log_path = $d/dovecot.log
ssl = no
auth_mechanisms = $mechs
$krb5
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener $d/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
    dovecot -c "$d/dovecot.conf" ||
        die "dovecot did not start: $(tail -5 "$d/dovecot.log" 2>/dev/null)"
    for i in $(seq 50); do
        [ -S "$d/auth" ] && return 0
        sleep 0.1
    done
    die "dovecot's auth socket did not appear: $(tail -5 "$d/dovecot.log" 2>/dev/null)"
}

stop_dovecot() {
    local d=$DIR/dovecot pid i
    [ -r "$d/run/master.pid" ] || return 0
    read -r pid <"$d/run/master.pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

do_start() {
    local bin
    bin=$(command -v postfix || true)
    if [ -z "$bin" ] || [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
        die "Postfix not installed"
    fi
    [ "$(id -u)" = 0 ] || die "must run as root to start a Postfix master"
    id postfix >/dev/null 2>&1 || die "user 'postfix' does not exist"
    getent group postdrop >/dev/null || die "group 'postdrop' does not exist"
    if master_pid >/dev/null 2>&1; then
        die "an instance is already running in $DIR"
    fi

    mkdir -p "$DIR/etc" "$DIR/spool" "$DIR/data" "$DIR/mail" "$DIR/certs"
    chmod 755 "$DIR" "$DIR/etc" "$DIR/certs"
    chown postfix: "$DIR/data"
    chown "$(id -u nobody 2>/dev/null || id -u postfix)" "$DIR/mail"
    chmod 755 "$DIR/mail"
    : >"$DIR/maillog"
    # The daemons run as postfix and nobody: every directory above DIR must
    # be searchable by them (a mktemp -d parent, mode 0700, is not).
    if command -v runuser >/dev/null &&
       ! runuser -u postfix -- test -w "$DIR/data" 2>/dev/null; then
        die "$DIR is not reachable by the postfix user (check the modes of its parent directories)"
    fi

    if [ -n "${PF_CERTDIR:-}" ]; then
        cp "$PF_CERTDIR/ca.pem" "$PF_CERTDIR/server.pem" \
           "$PF_CERTDIR/server-key.pem" "$DIR/certs/"
    elif [ ! -s "$DIR/certs/server.pem" ]; then
        if [ -z "$helpers" ] || [ ! -e "$helpers/mkcerts.sh" ]; then
            die "tests/helpers/mkcerts.sh not found (set PF_CERTDIR)"
        fi
        bash "$helpers/mkcerts.sh" "$DIR/certs" >"$DIR/certs/mkcerts.log" 2>&1 ||
            { cat "$DIR/certs/mkcerts.log" >&2; die "mkcerts.sh failed"; }
    fi
    chmod 600 "$DIR/certs/server-key.pem"

    local ipv6=0 ports smtp_port smtps_port noutf8_port
    have_ipv6_loopback && ipv6=1

    for _ in 1 2 3; do
        ports=$(free_ports "$ipv6" 3)
        read -r smtp_port smtps_port noutf8_port <<<"$ports"
        write_config "$smtp_port" "$smtps_port" "$ipv6" "$noutf8_port"

        # Postfix waits (in 300 ms steps, up to about 2 s) before loading a
        # table or main.cf modified within the last seconds; back-date them.
        touch -d "@$(( $(date +%s) - 10 ))" "$DIR"/etc/*
        if [ "${PF_SASL:-0}" = 1 ]; then
            stop_dovecot
            start_dovecot
        fi
        # `postfix start` creates the queue subdirectories itself.
        if pf start >>"$DIR/start.log" 2>&1 &&
           wait_greeting "$smtp_port"; then
            cat >"$DIR/instance.env" <<EOF
PF_DIR='$DIR'
PF_SMTP_PORT=$smtp_port
PF_SMTPS_PORT=$smtps_port
PF_MAILDIR='$DIR/mail/inbox'
PF_CAFILE='$DIR/certs/ca.pem'
PF_IPV6=$ipv6
PF_LOG='$DIR/maillog'
PF_SASL=${PF_SASL:-0}
PF_NOUTF8_PORT=$noutf8_port
EOF
            cat "$DIR/instance.env"
            return 0
        fi
        # Most likely a port was taken between picking and binding: retry.
        do_stop >/dev/null 2>&1 || true
    done
    echo "postfix.sh: could not start Postfix in $DIR; start.log and maillog:" >&2
    tail -n 30 "$DIR/start.log" "$DIR/maillog" >&2 2>/dev/null || true
    return 1
}

# children_of PID: the process ids whose parent is PID (no procps needed).
children_of() {
    local parent=$1 stat line fields
    for stat in /proc/[0-9]*/stat; do
        { read -r line <"$stat"; } 2>/dev/null || continue
        # "pid (comm) state ppid ...": comm may contain spaces and ')'.
        read -r -a fields <<<"${line##*) }"
        if [ "${fields[1]:-}" = "$parent" ]; then
            stat=${stat#/proc/}
            printf '%s ' "${stat%/stat}"
        fi
    done
}

do_stop() {
    local pid i k kids alive=()
    [ -d "$DIR/etc" ] || return 0
    stop_dovecot
    pid=$(master_pid) || return 0
    kids=$(children_of "$pid")
    # SIGTERM is what `postfix stop` sends too, but postfix-script then
    # polls once a second; polling here ourselves is quicker.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "postfix.sh: master $pid did not exit; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # The daemons notice that their master is gone and exit by themselves;
    # wait for them so none keeps a port or DIR busy, and insist if needed.
    for i in $(seq 50); do
        alive=()
        for k in $kids; do
            if kill -0 "$k" 2>/dev/null; then alive+=("$k"); fi
        done
        [ ${#alive[@]} -eq 0 ] && break
        [ "$i" = 30 ] && kill -TERM "${alive[@]}" 2>/dev/null
        sleep 0.1
    done
    if [ ${#alive[@]} -gt 0 ]; then
        kill -KILL "${alive[@]}" 2>/dev/null || true
    fi
    rm -f "$DIR/spool/pid/master.pid"
    return 0
}

# Print the delivered file whose Delivered-To: is $1 (case-insensitive),
# polling the Maildir until $2 seconds have passed.
do_wait() {
    local rcpt=$1 limit=${2:-10} deadline f line
    deadline=$((SECONDS + limit))
    while :; do
        for f in "$DIR"/mail/inbox/new/* "$DIR"/mail/inbox/cur/*; do
            [ -f "$f" ] || continue
            # virtual(8) puts Delivered-To near the top of the header.
            while IFS= read -r line; do
                line=${line%$'\r'}
                case ${line,,} in
                    "delivered-to: ${rcpt,,}") echo "$f"; return 0 ;;
                    "") break ;;
                esac
            done <"$f"
        done
        [ $SECONDS -lt $deadline ] || break
        sleep 0.1
    done
    echo "postfix.sh: nothing delivered to <$rcpt> within ${limit}s" >&2
    grep -F -- "$rcpt" "$DIR/maillog" >&2 2>/dev/null || true
    return 1
}

case ${1:-} in
    wait) [ $# -eq 3 ] || [ $# -eq 4 ] || usage ;;
    *)    [ $# -eq 2 ] || usage ;;
esac
DIR=$2
if [ "$1" = start ]; then
    mkdir -p "$DIR"
elif [ ! -d "$DIR" ]; then
    [ "$1" = stop ] && exit 0
    die "no such directory: $DIR"
fi
DIR=$(cd "$DIR" && pwd)

case $1 in
    start)  do_start ;;
    stop)   do_stop ;;
    status) master_pid >/dev/null ;;
    wait)   do_wait "$3" "${4:-10}" ;;
    *)      usage ;;
esac
