#!/usr/bin/python3
"""Independent SMTP server for smtpsend's happy-path tests.

Built on aiosmtpd (Debian's python3-aiosmtpd); run it with /usr/bin/python3.
It listens on a kernel-chosen loopback port, writes that port number to
--port-file once it is accepting connections, and stores every accepted
message as two files in --outdir:

    msg-N.eml   the DATA content exactly as received (CRLF line ends,
                dot-stuffing removed, nothing else touched)
    msg-N.json  {"mail_from", "rcpt_tos", "mail_options", "rcpt_options",
                 "helo", "tls", "tls_version", "peer"}

Both are written to a temporary name and renamed, .json last, so a reader
that waits for msg-N.json always sees a complete pair.

With --auth-mechs the server offers SASL authentication (RFC 4954) with
those mechanisms (PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS XOAUTH2 OAUTHBEARER EXTERNAL), checking
--auth-user/--auth-password (or --auth-token for the OAuth ones; EXTERNAL
accepts any verified client certificate).  The -PLUS mechanisms check
tls-unique channel binding (Python cannot compute tls-exporter: use
--tls-max 1.2).  msg-N.json then also records "auth_mech" and "auth_login".
--client-ca makes the TLS context ask for (--client-cert optional) or
require a client certificate signed by that CA; "client_cert" records the
subject of the one presented.

Modes:
    plain     no TLS at all
    starttls  STARTTLS advertised (add --require-starttls to refuse mail
              before it)
    implicit  TLS from the first byte (SMTPS)

Runs in the foreground until SIGTERM or SIGINT, or until --lifetime seconds
have passed (default 600; a safety net against servers orphaned by an
interrupted test run).
"""

import argparse
import asyncio
import base64
import collections
import hashlib
import hmac
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, MISSING

ALL_MECHS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
             "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "XOAUTH2",
             "OAUTHBEARER", "EXTERNAL")


def write_atomic(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, path)


class Recorder:
    """aiosmtpd handler: accept everything, store what arrives."""

    def __init__(self, outdir, drop_capas, args=None):
        self.outdir = outdir
        self.drop_capas = drop_capas
        self.count = 0
        self.args = args

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not self.drop_capas:
            return responses
        kept = []
        for line in responses:
            keyword = line[4:].split(" ", 1)[0].upper()
            if keyword not in self.drop_capas:
                kept.append(line)
        # Re-punctuate the multi-line reply: '250-' on all but the last line.
        return ["250-" + l[4:] for l in kept[:-1]] + ["250 " + kept[-1][4:]]

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        sslobj = None
        if server.transport is not None:
            sslobj = server.transport.get_extra_info("ssl_object")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": list(envelope.rcpt_options),
            "helo": session.host_name,
            "tls": sslobj is not None,
            "tls_version": sslobj.version() if sslobj is not None else None,
            "peer": list(session.peer) if session.peer else None,
            "auth_mech": getattr(session, "auth_mech", None),
            "auth_login": getattr(session, "auth_login", None),
            "client_cert": peer_subject(sslobj),
            "tls_resumed": sslobj.session_reused if sslobj is not None else None,
        }
        base = os.path.join(self.outdir, "msg-%d" % n)
        write_atomic(base + ".eml", bytes(envelope.original_content))
        write_atomic(base + ".json",
                     (json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
                     .encode("utf-8"))
        return "250 2.0.0 Ok: queued as %d" % n


def peer_subject(sslobj):
    """The subject CN of the client certificate, or None."""
    if sslobj is None:
        return None
    cert = sslobj.getpeercert()
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return "?"


def server_context(cert, key, args=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if args is not None and args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = (ssl.CERT_OPTIONAL if args.client_cert_optional
                           else ssl.CERT_REQUIRED)
    if args is not None and args.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def b64(data):
    return base64.b64encode(data).decode("ascii")


class AuthSMTP(SMTP):
    """aiosmtpd's SMTP with the SASL mechanisms it lacks, server side."""

    command_size_limit = 65536
    line_length_limit = 65536
    command_size_limits = collections.defaultdict(lambda: 65536)

    def __init__(self, handler, args, **kw):
        self.args = args
        offered = set((args.auth_mechs or "").split())
        kw["auth_exclude_mechanism"] = [m for m in ALL_MECHS
                                        if m not in offered]
        kw["authenticator"] = self.check_password
        kw["auth_require_tls"] = not args.auth_clear
        kw["auth_required"] = args.require_auth
        super().__init__(handler, **kw)

    def succeed(self, mech, login):
        self.session.auth_mech = mech
        self.session.auth_login = login
        return AuthResult(success=True, auth_data=login)

    def check_password(self, server, session, envelope, mech, data):
        ok = (data.login.decode("utf-8", "replace") == self.args.auth_user
              and data.password.decode("utf-8", "replace")
              == self.args.auth_password)
        if not ok:
            return AuthResult(success=False, handled=False)
        session.auth_mech = mech
        session.auth_login = self.args.auth_user
        return AuthResult(success=True, auth_data=data)

    def sslobj(self):
        if self.transport is None:
            return None
        return self.transport.get_extra_info("ssl_object")

    async def initial(self, args):
        """The initial response, or one asked for with an empty 334."""
        if len(args) > 1:
            if args[1] == "=":
                return b""
            try:
                return base64.b64decode(args[1], validate=True)
            except Exception:
                await self.push("501 5.5.2 Can't decode base64")
                return MISSING
        return await self.challenge_auth("")

    async def auth_CRAM__MD5(self, server, args):
        challenge = "<%d.%s@aiosmtpd.test>" % (os.getpid(), b64(os.urandom(9)))
        resp = await self.challenge_auth(challenge)
        if resp is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = resp.decode("utf-8", "replace").rpartition(" ")
        want = hmac.new(self.args.auth_password.encode(), challenge.encode(),
                        hashlib.md5).hexdigest()
        if user == self.args.auth_user and hmac.compare_digest(digest, want):
            return self.succeed("CRAM-MD5", user)
        return AuthResult(success=False, handled=False)

    async def auth_SCRAM__SHA__1(self, server, args):
        return await self.scram(args, "sha1", False)

    async def auth_SCRAM__SHA__256(self, server, args):
        return await self.scram(args, "sha256", False)

    async def auth_SCRAM__SHA__1__PLUS(self, server, args):
        return await self.scram(args, "sha1", True)

    async def auth_SCRAM__SHA__256__PLUS(self, server, args):
        return await self.scram(args, "sha256", True)

    async def scram(self, args, hname, plus):
        """RFC 5802 (and RFC 7677) server side, with tls-unique for -PLUS."""
        mech = "SCRAM-SHA-%s%s" % ("1" if hname == "sha1" else "256",
                                   "-PLUS" if plus else "")
        first = await self.initial(args)
        if first is MISSING:
            return AuthResult(success=False, handled=True)
        first = first.decode("utf-8", "replace")
        parts = first.split(",")
        if len(parts) < 4:
            return AuthResult(success=False, handled=False)
        flag = parts[0]
        gs2 = ",".join(parts[:2]) + ","
        bare = ",".join(parts[2:])
        attrs = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        cbdata = b""
        if plus:
            sslobj = self.sslobj()
            if flag != "p=tls-unique" or sslobj is None:
                self.session.auth_note = "bad cb flag %s" % flag
                return AuthResult(success=False, handled=False)
            cbdata = sslobj.get_channel_binding("tls-unique") or b""
        elif flag.startswith("p="):
            return AuthResult(success=False, handled=False)
        salt = os.urandom(16)
        iters = 4096
        snonce = attrs.get("r", "") + b64(os.urandom(18))
        server_first = "r=%s,s=%s,i=%d" % (snonce, b64(salt), iters)
        final = await self.challenge_auth(server_first)
        if final is MISSING:
            return AuthResult(success=False, handled=True)
        final = final.decode("utf-8", "replace")
        without_proof, _, proof = final.rpartition(",p=")
        fattrs = dict(p.split("=", 1) for p in without_proof.split(",")
                      if "=" in p)
        if (fattrs.get("c") != b64(gs2.encode() + cbdata)
                or fattrs.get("r") != snonce):
            return AuthResult(success=False, handled=False)
        salted = hashlib.pbkdf2_hmac(hname, self.args.auth_password.encode(),
                                     salt, iters)
        client_key = hmac.new(salted, b"Client Key", hname).digest()
        stored = hashlib.new(hname, client_key).digest()
        auth_msg = ",".join((bare, server_first, without_proof)).encode()
        sig = hmac.new(stored, auth_msg, hname).digest()
        want = bytes(a ^ b for a, b in zip(client_key, sig))
        if (attrs.get("n") != self.args.auth_user
                or not hmac.compare_digest(b64(want), proof)):
            return AuthResult(success=False, handled=False)
        server_key = hmac.new(salted, b"Server Key", hname).digest()
        server_sig = hmac.new(server_key, auth_msg, hname).digest()
        if self.args.scram_bad_final:
            server_sig = bytes(len(server_sig))
        if not self.args.scram_no_final:
            resp = await self.challenge_auth("v=" + b64(server_sig))
            if resp is MISSING or resp != b"":
                return AuthResult(success=False, handled=True)
        return self.succeed(mech, self.args.auth_user)

    async def oauth_fail(self, mech):
        """RFC 7628 section 3.2.2: error in a 334, client answers, 535."""
        err = json.dumps({"status": "invalid_token", "schemes": "bearer"})
        resp = await self.challenge_auth(err)
        if resp is MISSING:
            return AuthResult(success=False, handled=True)
        want = b"\x01" if mech == "OAUTHBEARER" else b""
        if resp != want:
            self.session.auth_note = "bad error response %r" % resp
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, server, args):
        data = await self.initial(args)
        if data is MISSING:
            return AuthResult(success=False, handled=True)
        fields = dict(f.split("=", 1) for f in
                      data.decode("utf-8", "replace").split("\x01") if "=" in f)
        if (fields.get("user") == self.args.auth_user and
                fields.get("auth") == "Bearer %s" % self.args.auth_token):
            return self.succeed("XOAUTH2", fields["user"])
        return await self.oauth_fail("XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        data = await self.initial(args)
        if data is MISSING:
            return AuthResult(success=False, handled=True)
        text = data.decode("utf-8", "replace")
        gs2, _, rest = text.partition("\x01")
        user = None
        for f in gs2.split(","):
            if f.startswith("a="):
                user = f[2:]
        fields = dict(f.split("=", 1) for f in rest.split("\x01") if "=" in f)
        if (fields.get("auth") == "Bearer %s" % self.args.auth_token
                and fields.get("host") and fields.get("port")):
            return self.succeed("OAUTHBEARER", user)
        return await self.oauth_fail("OAUTHBEARER")

    async def auth_EXTERNAL(self, server, args):
        data = await self.initial(args)
        if data is MISSING:
            return AuthResult(success=False, handled=True)
        subject = peer_subject(self.sslobj())
        if subject is None:
            return AuthResult(success=False, handled=False)
        return self.succeed("EXTERNAL", subject)


async def serve(args):
    loop = asyncio.get_running_loop()
    os.makedirs(args.outdir, exist_ok=True)
    drop = set()
    if args.no_8bitmime:
        drop.add("8BITMIME")
    if args.no_smtputf8:
        drop.add("SMTPUTF8")
    handler = Recorder(args.outdir, drop, args)

    tls_ctx = None
    if args.mode in ("starttls", "implicit"):
        if not (args.cert and args.key):
            sys.exit("aiosmtpd-server: --cert and --key are required for mode %s"
                     % args.mode)
        tls_ctx = server_context(args.cert, args.key, args)

    def factory():
        if args.auth_mechs is not None:
            return AuthSMTP(
                handler, args,
                hostname="aiosmtpd.test",
                ident="aiosmtpd test server",
                decode_data=False,
                enable_SMTPUTF8=True,
                tls_context=tls_ctx if args.mode == "starttls" else None,
                require_starttls=args.require_starttls,
                timeout=60,
            )
        return SMTP(
            handler,
            hostname="aiosmtpd.test",
            ident="aiosmtpd test server",
            decode_data=False,          # keeps 8BITMIME advertised, bytes intact
            enable_SMTPUTF8=True,
            tls_context=tls_ctx if args.mode == "starttls" else None,
            require_starttls=args.require_starttls,
            timeout=60,
        )

    server = await loop.create_server(
        factory, host=args.host, port=0,
        ssl=tls_ctx if args.mode == "implicit" else None)
    port = server.sockets[0].getsockname()[1]
    write_atomic(args.port_file, ("%d\n" % port).encode())

    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if args.lifetime > 0:
        loop.call_later(args.lifetime,
                        lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("plain", "starttls", "implicit"),
                    default="plain")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--require-starttls", action="store_true")
    ap.add_argument("--no-8bitmime", action="store_true",
                    help="do not advertise 8BITMIME")
    ap.add_argument("--no-smtputf8", action="store_true",
                    help="do not advertise SMTPUTF8")
    ap.add_argument("--auth-mechs", help="offer these SASL mechanisms "
                    "(space-separated)")
    ap.add_argument("--auth-user", default="alice")
    ap.add_argument("--auth-password", default="")
    ap.add_argument("--auth-token", default="")
    ap.add_argument("--auth-clear", action="store_true",
                    help="offer AUTH before TLS too")
    ap.add_argument("--require-auth", action="store_true",
                    help="refuse MAIL before a successful AUTH")
    ap.add_argument("--scram-no-final", action="store_true",
                    help="SCRAM: say 235 without sending the server proof")
    ap.add_argument("--scram-bad-final", action="store_true",
                    help="SCRAM: send a wrong server signature")
    ap.add_argument("--client-ca", help="ask for client certificates "
                    "signed by this CA (required unless --client-cert-optional)")
    ap.add_argument("--client-cert-optional", action="store_true")
    ap.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3")
    ap.add_argument("--lifetime", type=int, default=600,
                    help="exit after this many seconds even if nobody kills "
                         "the server (0: never; default 600)")
    args = ap.parse_args()

    # Keep the output quiet: aiosmtpd logs every connection otherwise.
    logging.basicConfig(level=logging.CRITICAL)
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")

    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
