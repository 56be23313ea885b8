#!/usr/bin/python3
r"""fakesmtpd — a scripted SMTP server for fault injection and exact transcripts.

Standard library only.  Serves one connection at a time on a kernel-chosen
loopback port (written to --port-file once listening), and keeps accepting
further connections until it is killed, so a test can check that a client did
*not* come back for a second try.

Without a script it behaves as a polite, strict ESMTP server.  A script
(one directive per line, '#' starts a comment, blank lines ignored) changes
that behaviour.  A SELECTOR names the point of the session a directive hits:

    VERB          every occurrence of VERB
    VERB#N        only the N-th occurrence of VERB within a connection
    VERB@C        only in the C-th connection (counting from 1)
    VERB#N@C      both

VERB is one of GREETING, EHLO, HELO, MAIL, RCPT, DATA, DOT (the reply to the
final "." of the message data), QUIT, STARTTLS, RSET, NOOP, AUTH, VRFY, or any
other command word.  Two more name points that are not commands: TLS (the TLS
handshake, implicit or after STARTTLS) and BODY (the message content, hit once
its first line has arrived).  When several directives hit the same point the most
specific wins (#N@C, then #N, then @C, then the bare verb); among equals the
last one in the script wins.

Directives:

    CAPA KEYWORD ...           EHLO capabilities, one reply line each after
                               the host line, e.g.
                               "CAPA PIPELINING 8BITMIME SIZE 1000 AUTH PLAIN".
                               A word that is not a known extension keyword
                               is a parameter of the previous one; commas
                               separate entries explicitly ("XFOO 1, DSN").
                               "CAPA" alone advertises nothing.  Default:
                               PIPELINING 8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES
                               plus STARTTLS when --cert was given.
    CAPA_TLS KEYWORD ...       capabilities to advertise after TLS is up
                               (default: the CAPA list without STARTTLS)
    HOSTNAME NAME              name used in the greeting and EHLO (fake.test)
    REPLY SEL TEXT             answer with TEXT instead of the default.  TEXT
                               understands \r \n \t \\ \xNN escapes; "\r\n"
                               separates lines of a multi-line reply; a final
                               CRLF is added unless TEXT already ends in \n.
    SILENT SEL                 never answer that command, nor anything after
                               it; keep reading (and logging) until the
                               client goes away.
    CLOSE SEL                  close the connection instead of answering.
                               "CLOSE DOT" reads the whole message first,
                               logs it, does not store it, then hangs up.
    LONGLINE SEL N             answer with a single reply line of N octets
                               (CRLF not counted), using the usual reply code
    GARBAGE SEL                answer with a line that is not SMTP at all
    DELAY SEL SECONDS          wait before answering (combines with the above)
    DRIP [MS]                  send every reply one octet at a time, MS
                               milliseconds apart (default 50)
    SPLIT SEL [MS]             send that reply one octet per TCP segment, MS
                               milliseconds apart (default 1)
    RCVBUF OCTETS              a small, fixed socket receive buffer, so that
                               a client's writes stall soon when the server
                               stops reading (SILENT BODY, DELAY BODY)

At the TLS point, CLOSE hangs up instead of the handshake, SILENT never starts
it, and REPLY, GARBAGE and LONGLINE send their (clear-text) line instead of the
handshake; then the server only reads until the client goes.  At the BODY
point, CLOSE hangs up in the middle of the message, SILENT stops reading it
(so the client's writes stall once the socket buffers are full; the server
hangs up after 60 s), DELAY pauses reading it, and REPLY, GARBAGE and LONGLINE
send their line while the message is still coming: an early reply that stands
for the answer to the final dot (a 421 also hangs up at once).
    INJECT_AFTER_STARTTLS TEXT send TEXT in the same write as the 220 reply to
                               STARTTLS, before the TLS handshake (escapes as
                               for REPLY; default "250 injected\r\n")
    IMPLICIT_TLS               start TLS as soon as a connection is accepted
    SHOWREADS                  log "* read N" for every chunk of octets the
                               server receives, so a test can see which
                               commands arrived together (one write)
    STICKYMAIL                 a BDAT LAST refused for want of recipients
                               leaves the transaction open (a later MAIL
                               is "nested", 503) until RSET, as DATA does

BDAT (RFC 3030) is understood whether or not CHUNKING is advertised:
"BDAT n [LAST]" is followed by exactly n octets, logged as one line
"B: n octets [LAST]".  Each chunk is answered at the BDAT point, except the
LAST one, whose answer is the verdict on the message and uses the DOT point
(so "REPLY DOT ..." scripts apply to both ways of sending).  A chunk after a
refused one, or without MAIL, or without an accepted recipient, is read and
discarded with an error reply.

Transcript (--transcript FILE), flushed line by line.  Every line gets a
two-character prefix:

    C: text      a command line from the client (line end stripped)
    D: text      a line of message content (after DATA, before the final dot;
                 shown as sent, i.e. still dot-stuffed)
    S: text      a reply line from the server
    * text       an event: CONNECT n, SNI name (or "(none)"), TLS up, closed,
                 EOF, DISCONNECT n ...
    !MARKER ...  a protocol violation by the client:
                 !BARE_LF    a line ended in LF without CR
                 !BARE_CR    a CR not followed by LF inside a line
                 !NO_EOL     the client closed in the middle of a line
                 !EARLY_TALKER  the client spoke before the greeting
                 !PIPELINED  the client sent more before reading a reply it
                             had to wait for (no PIPELINING, or after EHLO,
                             HELO, STARTTLS, DATA, QUIT)
                 !SEQUENCE   a command out of order (answered with 503)
                 !TLS_NO_CLOSE_NOTIFY  after QUIT under TLS the client
                             dropped TCP without a TLS close_notify
                 !DATA_AFTER_QUIT  bytes after QUIT
    The client's line is logged before the server answers, so once a client
    has seen a reply, everything that led to it is in the file.

Messages (--data-dir DIR): each message whose final "." was received and that
the server accepted (2xx reply to DOT) is stored, dot-stuffing removed and line
ends exactly as received, as DIR/msg-N.eml (N counts from 1 over the whole
server lifetime), written to a temporary name and renamed before the reply is
sent.
"""

import argparse
import os
import re
import select
import signal
import socket
import ssl
import sys
import time

DEFAULT_REPLIES = {
    "GREETING": "220 {host} ESMTP fakesmtpd",
    "HELO": "250 {host}",
    "MAIL": "250 2.1.0 Ok",
    "RCPT": "250 2.1.5 Ok",
    "DATA": "354 End data with <CR><LF>.<CR><LF>",
    "DOT": "250 2.0.0 Ok: queued as {msgno}",
    "QUIT": "221 2.0.0 Bye",
    "RSET": "250 2.0.0 Ok",
    "NOOP": "250 2.0.0 Ok",
    "VRFY": "252 2.0.0 Cannot VRFY user",
    "AUTH": "504 5.5.4 Unrecognized authentication type",
    "STARTTLS": "220 2.0.0 Ready to start TLS",
}
UNKNOWN_REPLY = "502 5.5.2 Error: command not recognized"
# Commands after which RFC 2920 requires the client to wait for the reply.
MUST_WAIT = {"EHLO", "HELO", "STARTTLS", "DATA", "QUIT", "AUTH"}


class ScriptError(Exception):
    pass


def unescape(text):
    """Turn the \\r \\n \\t \\\\ \\xNN escapes of a script line into bytes."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i:i + 1]
        if c == b"\\" and i + 1 < len(raw):
            n = raw[i + 1:i + 2]
            if n == b"r":
                out += b"\r"; i += 2; continue
            if n == b"n":
                out += b"\n"; i += 2; continue
            if n == b"t":
                out += b"\t"; i += 2; continue
            if n == b"\\":
                out += b"\\"; i += 2; continue
            if n == b"x" and re.match(rb"[0-9a-fA-F]{2}", raw[i + 2:i + 4]):
                out.append(int(raw[i + 2:i + 4], 16)); i += 4; continue
        out += c
        i += 1
    return bytes(out)


def as_reply(text):
    data = unescape(text)
    if not data.endswith(b"\n"):
        data += b"\r\n"
    return data


KNOWN_CAPA = {
    "8BITMIME", "ATRN", "AUTH", "BINARYMIME", "CHUNKING", "DELIVERBY", "DSN",
    "ENHANCEDSTATUSCODES", "ETRN", "EXPN", "FUTURERELEASE", "HELP", "LIMITS",
    "MT-PRIORITY", "MTRK", "NO-SOLICITING", "ONEX", "PIPELINING",
    "REQUIRETLS", "SIZE", "SMTPUTF8", "STARTTLS", "VERB", "VRFY",
}


def parse_capa(text):
    """'PIPELINING SIZE 1000 AUTH PLAIN LOGIN' -> one entry per extension.

    A word that is not a known extension keyword is a parameter of the one
    before it.  Commas separate entries explicitly, for keywords this list
    does not know: 'XFOO bar, 8BITMIME'."""
    if "," in text:
        return [" ".join(p.split()) for p in text.split(",") if p.strip()]
    out = []
    for word in text.split():
        if out and word.upper() not in KNOWN_CAPA:
            out[-1] += " " + word
        else:
            out.append(word)
    return out


SEL_RE = re.compile(r"^([A-Za-z]+)(?:#(\d+))?(?:@(\d+))?$")


def parse_selector(sel, lineno):
    m = SEL_RE.match(sel)
    if not m:
        raise ScriptError("line %d: bad selector %r" % (lineno, sel))
    verb = m.group(1).upper()
    nth = int(m.group(2)) if m.group(2) else None
    conn = int(m.group(3)) if m.group(3) else None
    return verb, nth, conn


class Script:
    def __init__(self, has_cert):
        self.capa = ["PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if has_cert:
            self.capa.append("STARTTLS")
        self.capa_tls = None
        self.hostname = "fake.test"
        self.actions = []   # (verb, nth, conn, order, action tuple)
        self.delays = []    # (verb, nth, conn, order, seconds)
        self.splits = []    # (verb, nth, conn, order, seconds)
        self.drip = None
        self.rcvbuf = None
        self.inject = None
        self.implicit_tls = False
        self.showreads = False
        self.sticky_mail = False

    @classmethod
    def load(cls, path, has_cert):
        s = cls(has_cert)
        if not path:
            return s
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        for lineno, line in enumerate(lines, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            s.directive(stripped, lineno)
        return s

    def directive(self, line, lineno):
        parts = line.split(None, 1)
        word = parts[0].upper()
        rest = parts[1] if len(parts) > 1 else ""
        order = lineno

        def sel_and_text(need_text):
            bits = rest.split(None, 1)
            if not bits:
                raise ScriptError("line %d: %s needs a selector" % (lineno, word))
            verb, nth, conn = parse_selector(bits[0], lineno)
            text = bits[1] if len(bits) > 1 else ""
            if need_text and not text:
                raise ScriptError("line %d: %s needs an argument" % (lineno, word))
            return verb, nth, conn, text

        if word == "CAPA":
            self.capa = parse_capa(rest)
        elif word == "CAPA_TLS":
            self.capa_tls = parse_capa(rest)
        elif word == "HOSTNAME":
            self.hostname = rest.strip() or self.hostname
        elif word == "REPLY":
            verb, nth, conn, text = sel_and_text(True)
            self.actions.append((verb, nth, conn, order, ("reply", as_reply(text))))
        elif word in ("SILENT", "CLOSE", "GARBAGE"):
            verb, nth, conn, _ = sel_and_text(False)
            self.actions.append((verb, nth, conn, order, (word.lower(), None)))
        elif word == "LONGLINE":
            verb, nth, conn, text = sel_and_text(True)
            self.actions.append((verb, nth, conn, order, ("longline", int(text))))
        elif word == "DELAY":
            verb, nth, conn, text = sel_and_text(True)
            self.delays.append((verb, nth, conn, order, float(text)))
        elif word == "SPLIT":
            verb, nth, conn, text = sel_and_text(False)
            ms = float(text) if text.strip() else 1.0
            self.splits.append((verb, nth, conn, order, ms / 1000.0))
        elif word == "RCVBUF":
            self.rcvbuf = int(rest)
        elif word == "DRIP":
            self.drip = (float(rest) if rest.strip() else 50.0) / 1000.0
        elif word == "INJECT_AFTER_STARTTLS":
            self.inject = unescape(rest) if rest else b"250 injected\r\n"
        elif word == "IMPLICIT_TLS":
            self.implicit_tls = True
        elif word == "SHOWREADS":
            self.showreads = True
        elif word == "STICKYMAIL":
            self.sticky_mail = True
        else:
            raise ScriptError("line %d: unknown directive %r" % (lineno, parts[0]))

    @staticmethod
    def _best(table, verb, nth, conn):
        best = None
        best_key = None
        for (v, n, c, order, value) in table:
            if v != verb:
                continue
            if n is not None and n != nth:
                continue
            if c is not None and c != conn:
                continue
            key = ((n is not None) * 2 + (c is not None), order)
            if best_key is None or key > best_key:
                best, best_key = value, key
        return best

    def action(self, verb, nth, conn):
        return self._best(self.actions, verb, nth, conn)

    def delay(self, verb, nth, conn):
        return self._best(self.delays, verb, nth, conn) or 0.0

    def split(self, verb, nth, conn):
        return self._best(self.splits, verb, nth, conn)


class Transcript:
    def __init__(self, path):
        self.fh = open(path, "a", encoding="utf-8") if path else None

    def log(self, prefix, text):
        if self.fh:
            self.fh.write(prefix + text + "\n")
            self.fh.flush()

    def close(self):
        if self.fh:
            self.fh.close()


def show(data):
    """Printable form of a line's bytes, line end already removed."""
    s = data.decode("utf-8", errors="backslashreplace")
    return "".join(ch if (ch >= " " or ch == "\t") and ch != "\x7f"
                   else "\\x%02x" % ord(ch) for ch in s)


class Hangup(Exception):
    """The connection is over (client went away or the script closed it)."""


class Session:
    def __init__(self, server, sock, connno):
        self.srv = server
        self.script = server.script
        self.log = server.transcript.log
        self.sock = sock
        self.connno = connno
        self.buf = b""
        self.counts = {}
        self.tls = False
        self.silent = False
        self.greeted = False
        self.mail = False
        self.rcpts = 0
        self.chunks = []
        self.chunk_failed = False

    # ---- low-level I/O ------------------------------------------------------
    def fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionError, ssl.SSLError, OSError) as e:
            self.log("* ", "read error: %s" % e)
            raise Hangup()
        if not chunk:
            if self.buf:
                self.log("!NO_EOL ", show(self.buf))
                self.log("C: ", show(self.buf))
            self.log("* ", "EOF from client")
            raise Hangup()
        if self.script.showreads:
            self.log("* ", "read %d" % len(chunk))
        self.buf += chunk

    def readexact(self, n):
        """Return exactly n raw octets."""
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def readline(self):
        """Return one raw line including its LF."""
        while b"\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def check_line(self, line, where):
        """Log protocol violations in a raw line; return it without its end."""
        if line.endswith(b"\r\n"):
            body = line[:-2]
        else:
            body = line[:-1]
            self.log("!BARE_LF ", where)
        if b"\r" in body:
            self.log("!BARE_CR ", where)
        return body

    def send(self, data, split=None):
        for l in data.split(b"\n"):
            if l:
                l = l[:-1] if l.endswith(b"\r") else l
                if len(l) > 300:
                    self.log("S: ", show(l[:60]) + "... (%d octets)" % len(l))
                else:
                    self.log("S: ", show(l))
        gap = split if split is not None else self.script.drip
        try:
            if gap is not None:
                for i in range(len(data)):
                    self.sock.sendall(data[i:i + 1])
                    time.sleep(gap)
            else:
                self.sock.sendall(data)
        except (ConnectionError, ssl.SSLError, OSError) as e:
            self.log("* ", "write error: %s" % e)
            raise Hangup()

    def hangup(self, why):
        self.log("* ", "server closes the connection (%s)" % why)
        raise Hangup()

    # ---- replies --------------------------------------------------------------
    def default_reply(self, verb, arg):
        host = self.script.hostname
        if verb == "EHLO":
            caps = self.script.capa
            if self.tls:
                caps = (self.script.capa_tls if self.script.capa_tls is not None
                        else [c for c in caps if c.upper() != "STARTTLS"])
            lines = ["%s Hello %s" % (host, arg or "")] + list(caps)
            out = b""
            for i, l in enumerate(lines):
                sep = " " if i == len(lines) - 1 else "-"
                out += ("250" + sep + l + "\r\n").encode("utf-8")
            return out
        if verb == "STARTTLS" and (self.srv.ctx is None or self.tls):
            return b"454 4.7.0 TLS not available\r\n"
        text = DEFAULT_REPLIES.get(verb, UNKNOWN_REPLY)
        return (text.format(host=host, msgno=self.srv.msgno) + "\r\n").encode()

    def respond(self, verb, arg="", default=None, skip_delay=False):
        """Answer VERB as the script says.  Return the reply bytes sent, or
        None when nothing was sent (SILENT)."""
        nth = self.counts.get(verb, 0) + 1
        self.counts[verb] = nth
        act = self.script.action(verb, nth, self.connno)
        wait = 0 if skip_delay else self.script.delay(verb, nth, self.connno)
        if wait:
            time.sleep(wait)
        if act is None:
            reply = default if default is not None else self.default_reply(verb, arg)
        else:
            kind, val = act
            if kind == "reply":
                reply = val
            elif kind == "silent":
                self.log("* ", "silent from now on (%s)" % verb)
                self.silent = True
                return None
            elif kind == "close":
                self.hangup("CLOSE %s" % verb)
            elif kind == "garbage":
                reply = b"hello there, this is not SMTP\r\n"
            elif kind == "longline":
                code = (default or self.default_reply(verb, arg))[:3]
                reply = code + b" " + b"x" * max(0, val - 4) + b"\r\n"
        self.send(reply, self.script.split(verb, nth, self.connno))
        return reply

    # ---- the session ----------------------------------------------------------
    def run(self):
        if self.script.implicit_tls:
            self.start_tls()
        wait = self.script.delay("GREETING", 1, self.connno)
        if wait:
            time.sleep(wait)
        if self.early_talker():
            self.log("!EARLY_TALKER ", "client sent data before the greeting")
        r = self.respond("GREETING", skip_delay=True)
        if r is None:
            return self.drain()
        if r.startswith(b"421"):
            self.hangup("421 greeting")
        while True:
            raw = self.readline()
            line = self.check_line(raw, "command")
            self.log("C: ", show(line))
            if self.silent:
                continue
            text = line.decode("utf-8", errors="replace")
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if self.buf and verb != "BDAT" and (verb in MUST_WAIT or
                             "PIPELINING" not in [c.upper() for c in self.current_capa()]):
                self.log("!PIPELINED ", "data after %s before its reply" % show(verb.encode()))
            self.command(verb, arg.strip(), text)

    def early_talker(self):
        """True when the client has sent something before our greeting."""
        if self.buf:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(readable)

    def current_capa(self):
        if self.tls and self.script.capa_tls is not None:
            return self.script.capa_tls
        return self.script.capa

    def sequence_error(self, verb, text):
        self.log("!SEQUENCE ", verb)
        self.send(("503 5.5.1 Error: %s\r\n" % text).encode())

    def command(self, verb, arg, text):
        if verb in ("EHLO", "HELO"):
            r = self.respond(verb, arg)
            if r is not None and r.startswith(b"2"):
                self.greeted = True
                self.mail = False
                self.rcpts = 0
        elif verb == "MAIL":
            if not self.greeted:
                return self.sequence_error(verb, "send HELO/EHLO first")
            if self.mail:
                return self.sequence_error(verb, "nested MAIL command")
            r = self.respond(verb, arg)
            if r is not None and r.startswith(b"2"):
                self.mail = True
        elif verb == "RCPT":
            if not self.mail:
                return self.sequence_error(verb, "need MAIL command")
            r = self.respond(verb, arg)
            if r is not None and r.startswith(b"2"):
                self.rcpts += 1
        elif verb == "DATA":
            if not self.mail:
                return self.sequence_error(verb, "need MAIL command")
            if self.rcpts == 0:
                default = b"554 5.5.1 Error: no valid recipients\r\n"
            else:
                default = None
            r = self.respond(verb, arg, default)
            if r is not None and r.startswith(b"354"):
                self.data()
        elif verb == "BDAT":
            self.bdat(arg)
        elif verb == "RSET":
            r = self.respond(verb, arg)
            self.mail = False
            self.rcpts = 0
            self.chunks = []
            self.chunk_failed = False
        elif verb == "QUIT":
            r = self.respond(verb, arg)
            if r is not None and self.tls:
                self.await_tls_close()
            self.hangup("after QUIT")
        elif verb == "STARTTLS":
            r = self.respond(verb, arg)
            if r is not None and r.startswith(b"220") and not self.tls \
                    and self.srv.ctx is not None:
                if self.script.inject:
                    self.send(self.script.inject)
                self.buf = b""
                self.start_tls()
                self.greeted = False
                self.mail = False
                self.rcpts = 0
        else:
            self.respond(verb, arg)
        if not self.silent:
            return
        # fall through: a SILENT reply; run() keeps logging what comes in

    def body_fault(self):
        """Apply a BODY directive once the first message line is in.
        Return the early reply sent, or None."""
        nth = self.counts.get("BODY", 0) + 1
        self.counts["BODY"] = nth
        act = self.script.action("BODY", nth, self.connno)
        wait = self.script.delay("BODY", nth, self.connno)
        if wait:
            self.log("* ", "pauses reading the message for %g s" % wait)
            time.sleep(wait)
        if act is None:
            return None
        kind, val = act
        if kind == "close":
            self.hangup("CLOSE BODY")
        if kind == "silent":
            self.log("* ", "stops reading the message (SILENT BODY)")
            time.sleep(60)
            self.hangup("SILENT BODY")
        if kind == "reply":
            reply = val
        elif kind == "garbage":
            reply = b"hello there, this is not SMTP\r\n"
        else:
            reply = b"250 " + b"x" * max(0, val - 4) + b"\r\n"
        self.send(reply, self.script.split("BODY", nth, self.connno))
        if reply.startswith(b"421"):
            self.hangup("421 during the message")
        return reply

    def data(self):
        """Read message content up to the lone dot, then answer DOT."""
        body = []
        n = 0
        early = None
        while True:
            raw = self.readline()
            n += 1
            line = self.check_line(raw, "DATA line %d" % n)
            if raw == b".\r\n":
                self.log("C: ", ".")
                break
            self.log("D: ", show(line))
            body.append(raw[1:] if raw.startswith(b".") else raw)
            if n == 1:
                early = self.body_fault()
        if early is not None:
            # The early reply was the answer; nothing is stored.
            self.mail = False
            self.rcpts = 0
            return
        self.verdict(b"".join(body), "DOT")

    def verdict(self, content, what):
        """The answer to a complete message (DOT point): store it when
        that answer accepts it, then end the transaction."""
        nth = self.counts.get("DOT", 0) + 1
        act = self.script.action("DOT", nth, self.connno)
        if act is None or (act[0] == "reply" and act[1].startswith(b"2")):
            self.srv.store(content)
        r = self.respond("DOT")
        self.mail = False
        self.rcpts = 0
        if r is not None and r.startswith(b"421"):
            self.hangup("421 after %s" % what)

    def bdat(self, arg):
        """One BDAT chunk (RFC 3030): its octets follow the command line."""
        m = re.fullmatch(r"(\d+)( +LAST)?", arg, re.IGNORECASE)
        if not m:
            self.send(b"501 5.5.4 Syntax: BDAT size [LAST]\r\n")
            return
        n, last = int(m.group(1)), m.group(2) is not None
        data = self.readexact(n)
        self.log("B: ", "%d octets%s" % (n, " LAST" if last else ""))
        if self.buf and "PIPELINING" not in [c.upper() for c in self.current_capa()]:
            self.log("!PIPELINED ", "data after a BDAT chunk before its reply")
        if not self.mail:
            return self.sequence_error("BDAT", "need MAIL command")
        if self.rcpts == 0 or self.chunk_failed:
            self.chunk_failed = not last
            if last:
                self.mail = self.mail and self.script.sticky_mail
                self.chunks = []
            self.send(b"554 5.5.1 Error: no valid recipients\r\n"
                      if self.rcpts == 0 else
                      b"503 5.5.1 Error: chunk after a failed one\r\n")
            return
        self.chunks.append(data)
        if not last:
            r = self.respond("BDAT", arg,
                             ("250 2.0.0 %d octets received\r\n" % n).encode())
            if r is not None and not r.startswith(b"2"):
                self.chunk_failed = True
            return
        content = b"".join(self.chunks)
        self.chunks = []
        self.verdict(content, "BDAT LAST")

    def tls_fault(self):
        """Apply a TLS directive instead of the handshake, if any."""
        nth = self.counts.get("TLS", 0) + 1
        self.counts["TLS"] = nth
        act = self.script.action("TLS", nth, self.connno)
        if act is None:
            return
        kind, val = act
        if kind == "close":
            self.hangup("CLOSE TLS")
        if kind == "reply":
            self.send(val, self.script.split("TLS", nth, self.connno))
        elif kind == "garbage":
            self.send(b"hello there, this is not TLS\r\n")
        elif kind == "longline":
            self.send(b"x" * val + b"\r\n")
        else:
            self.log("* ", "never starts the TLS handshake (SILENT TLS)")
        while True:     # read the client's handshake bytes until it goes
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionError, OSError):
                chunk = b""
            if not chunk:
                self.log("* ", "EOF from client")
                raise Hangup()
            self.log("* ", "%d octets of TLS from the client" % len(chunk))

    def start_tls(self):
        self.tls_fault()
        if self.srv.ctx is None:
            self.log("* ", "TLS requested but no --cert/--key given")
            raise Hangup()
        try:
            self.sock.settimeout(30)
            self.sock = self.srv.ctx.wrap_socket(self.sock, server_side=True,
                                                 suppress_ragged_eofs=False)
            self.sock.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            self.log("* ", "TLS handshake failed: %s" % e)
            raise Hangup()
        self.tls = True
        self.log("* ", "TLS up: %s %s" % (self.sock.version(), self.sock.cipher()[0]))

    def await_tls_close(self):
        """After QUIT under TLS, see how the client ends the TLS session:
        with a close_notify alert (clean) or by just dropping TCP."""
        self.sock.settimeout(2)
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    self.log("* ", "TLS close_notify from client")
                    try:
                        self.sock = self.sock.unwrap()
                    except (ssl.SSLError, OSError):
                        pass
                    return
                self.log("!DATA_AFTER_QUIT ", show(data[:80]))
        except socket.timeout:
            self.log("* ", "client still connected 2 s after QUIT")
        except ssl.SSLError as e:
            if isinstance(e, ssl.SSLEOFError) or "UNEXPECTED_EOF" in str(e):
                self.log("!TLS_NO_CLOSE_NOTIFY ",
                         "client closed TCP without close_notify")
            else:
                self.log("* ", "after QUIT: %s" % e)
        except OSError as e:
            self.log("* ", "after QUIT: %s" % e)

    def drain(self):
        """Keep reading and logging without ever answering."""
        while True:
            raw = self.readline()
            self.log("C: ", show(self.check_line(raw, "command")))


class Server:
    def __init__(self, args):
        self.args = args
        self.ctx = None
        if args.cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(args.cert, args.key or args.cert)
            # Report a TCP close without close_notify as the error it is.
            self.ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
            self.ctx.sni_callback = self.log_sni
        self.script = Script.load(args.script, self.ctx is not None)
        self.transcript = Transcript(args.transcript)
        self.datadir = args.data_dir
        if self.datadir:
            os.makedirs(self.datadir, exist_ok=True)
        self.msgno = 0

    def log_sni(self, sslobj, server_name, ctx):
        self.transcript.log("* ", "SNI %s" % (server_name or "(none)"))
        return None

    def store(self, content):
        self.msgno += 1
        if not self.datadir:
            return
        path = os.path.join(self.datadir, "msg-%d.eml" % self.msgno)
        tmp = os.path.join(self.datadir, ".msg-%d.tmp" % self.msgno)
        with open(tmp, "wb") as fh:
            fh.write(content)
        os.rename(tmp, path)
        self.transcript.log("* ", "stored msg-%d.eml (%d bytes)"
                            % (self.msgno, len(content)))

    def serve(self):
        family = socket.AF_INET6 if ":" in self.args.host else socket.AF_INET
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.script.rcvbuf:    # inherited by accepted sockets
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                          self.script.rcvbuf)
        ls.bind((self.args.host, 0))
        ls.listen(8)
        port = ls.getsockname()[1]
        tmp = self.args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % port)
        os.rename(tmp, self.args.port_file)
        connno = 0
        while True:
            sock, peer = ls.accept()
            connno += 1
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.script.rcvbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                self.script.rcvbuf)
            self.transcript.log("* ", "CONNECT %d from %s" % (connno, peer[0]))
            sess = Session(self, sock, connno)
            try:
                sess.run()
            except Hangup:
                pass
            finally:
                try:
                    sess.sock.close()
                except OSError:
                    pass
                self.transcript.log("* ", "DISCONNECT %d" % connno)


def main():
    ap = argparse.ArgumentParser(
        description="scripted SMTP server for tests",
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--script", help="script file (see below)")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--transcript")
    ap.add_argument("--data-dir")
    ap.add_argument("--lifetime", type=int, default=600,
                    help="exit after this many seconds even if nobody kills "
                         "the server (0: never; default 600)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.lifetime > 0:
        signal.signal(signal.SIGALRM, lambda *_: sys.exit(0))
        signal.alarm(args.lifetime)
    try:
        server = Server(args)
    except ScriptError as e:
        sys.exit("fakesmtpd: script: %s" % e)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
