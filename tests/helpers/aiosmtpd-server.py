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
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP


def write_atomic(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, path)


class Recorder:
    """aiosmtpd handler: accept everything, store what arrives."""

    def __init__(self, outdir, drop_capas):
        self.outdir = outdir
        self.drop_capas = drop_capas
        self.count = 0

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
        }
        base = os.path.join(self.outdir, "msg-%d" % n)
        write_atomic(base + ".eml", bytes(envelope.original_content))
        write_atomic(base + ".json",
                     (json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
                     .encode("utf-8"))
        return "250 2.0.0 Ok: queued as %d" % n


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(args):
    loop = asyncio.get_running_loop()
    os.makedirs(args.outdir, exist_ok=True)
    drop = set()
    if args.no_8bitmime:
        drop.add("8BITMIME")
    if args.no_smtputf8:
        drop.add("SMTPUTF8")
    handler = Recorder(args.outdir, drop)

    tls_ctx = None
    if args.mode in ("starttls", "implicit"):
        if not (args.cert and args.key):
            sys.exit("aiosmtpd-server: --cert and --key are required for mode %s"
                     % args.mode)
        tls_ctx = server_context(args.cert, args.key)

    def factory():
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
