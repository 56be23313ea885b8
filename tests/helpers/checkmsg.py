#!/usr/bin/python3
"""checkmsg.py — strict checks on a message file as delivered.

Usage:
  checkmsg.py FILE [options]

Always checked (exit 1, reason on stderr, when violated):
  * Python's email parser (policy=default) reports no defect on the message,
    on any MIME part, or on any header value;
  * no line longer than 998 octets (line end not counted);
  * no bare LF, no bare CR and no NUL anywhere in the raw bytes;
  * the message ends with CRLF;
  * the header section is pure ASCII (unless --allow-8bit-headers).

Options:
  --expect-header 'Name=value'   the decoded (Unicode) value of header Name,
                                 unfolded, equals value exactly (repeatable)
  --expect-header-re 'Name=RE'   the decoded value matches RE (re.fullmatch)
  --no-header Name               header Name must be absent (repeatable)
  --expect-body TEXT             the decoded body equals TEXT (CRLF and LF
                                 treated alike)
  --expect-body-file FILE        the decoded body equals FILE's bytes (CRLF
                                 and LF treated alike)
  --dump-body FILE               write the decoded body (bytes) to FILE
  --fold-limit N                 every header line is at most N octets
  --ascii-only                   the whole message is 7-bit
  --check-date                   Date is present, RFC 5322 (English names)
                                 and within ten minutes of now (so a wrong
                                 zone offset shows)
  --allow-8bit-headers           accept raw UTF-8 in the header section
                                 (RFC 6532): the header section must then
                                 be valid UTF-8; it is parsed as text, and
                                 a non-ASCII local part is not a defect
  --allow-2047-name              accept the two defects Python reports for
                                 an RFC 2047 encoded name= parameter of
                                 Content-Type ("encoded word inside quoted
                                 string"), which smtpsend writes on purpose
                                 for readers that know no RFC 2231 (Outlook);
                                 every other defect still fails
  --quiet                        print nothing on success

On success, prints the decoded headers, one per line.
"""

import argparse
import datetime
import email.errors
import email.parser
import email.policy
import email.utils
import re
import sys


class Failed(Exception):
    pass


def fail(msg):
    raise Failed(msg)


def norm(b):
    return b.replace(b"\r\n", b"\n")


def split_header_section(raw):
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return raw, b""
    return raw[:end + 2], raw[end + 4:]


def raw_checks(raw, args):
    if not raw:
        fail("message is empty")
    for i, line in enumerate(raw.split(b"\r\n"), 1):
        if b"\n" in line:
            fail("bare LF in line %d: %r" % (i, line[:80]))
        if b"\r" in line:
            fail("bare CR in line %d: %r" % (i, line[:80]))
        if b"\0" in line:
            fail("NUL octet in line %d: %r" % (i, line[:80]))
        if len(line) > 998:
            fail("line %d is %d octets long (limit 998)" % (i, len(line)))
    if not raw.endswith(b"\r\n"):
        fail("message does not end with CRLF")
    head, _ = split_header_section(raw)
    if not args.allow_8bit_headers:
        for i, line in enumerate(head.split(b"\r\n"), 1):
            if any(c > 127 for c in line):
                fail("8-bit octets in header line %d: %r" % (i, line[:80]))
    if args.fold_limit is not None:
        for i, line in enumerate(head.split(b"\r\n"), 1):
            if len(line) > args.fold_limit:
                fail("header line %d is %d octets (limit %d): %r"
                     % (i, len(line), args.fold_limit, line[:100]))
    if args.ascii_only:
        for i, line in enumerate(raw.split(b"\r\n"), 1):
            if any(c > 127 for c in line):
                fail("8-bit octets in line %d although --ascii-only: %r"
                     % (i, line[:80]))


EW_NAME_DEFECTS = ("encoded word inside quoted string",
                   "missing trailing whitespace after encoded-word")


def tolerated(name, raw, defect, args):
    """The one known, deliberate defect: RFC 2047 inside name="..."."""
    if not args.allow_2047_name or name.lower() != "content-type":
        return False
    raw = re.sub(r"\s+", "", raw)
    return str(defect) in EW_NAME_DEFECTS and re.search(
        r';name="=\?[^"]*\?="(;|$)', raw) is not None


def defect_checks(msg, args, skip_top_headers=False):
    for part in msg.walk():
        where = part.get_content_type()
        if part.defects:
            fail("defects in %s part: %s" % (where, part.defects))
        if skip_top_headers and part is msg:
            continue
        for (name, value), (_, raw) in zip(part.items(), part.raw_items()):
            d = [x for x in getattr(value, "defects", ())
                 if not tolerated(name, raw, x, args)]
            if d:
                fail("defects in header %s: %s (value %r)" % (name, d, str(value)))


def utf8_header_checks(raw):
    """RFC 6532: parse the top-level header section as UTF-8 text (a bytes
    parser cannot decode it) and check its fields; a non-ASCII local part
    is allowed there, so that one 'defect' is not one."""
    head, _ = split_header_section(raw)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("header section is not valid UTF-8: %s" % e)
    hmsg = email.parser.Parser(policy=email.policy.default).parsestr(
        text, headersonly=True)
    for name, value in hmsg.items():
        d = [x for x in getattr(value, "defects", ())
             if not isinstance(x, email.errors.NonASCIILocalPartDefect)]
        if d:
            fail("defects in header %s: %s (value %r)" % (name, d, str(value)))
    return hmsg


def body_bytes(msg):
    """Decoded body of a single-part message (or the first text part)."""
    part = msg
    if msg.is_multipart():
        for p in msg.walk():
            if not p.is_multipart():
                part = p
                break
    payload = part.get_payload(decode=True)
    return payload if payload is not None else b""


def header_value(msg, name):
    values = msg.get_all(name)
    if values is None:
        return None
    if len(values) > 1:
        fail("header %s appears %d times" % (name, len(values)))
    return str(values[0])


def check_date(msg):
    value = header_value(msg, "Date")
    if value is None:
        fail("no Date header")
    raw = value
    m = re.fullmatch(r"(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?"
                     r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                     r" \d{4} \d{2}:\d{2}(?::\d{2})? [+-]\d{4}", raw)
    if not m:
        fail("Date is not RFC 5322 with English names: %r" % raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError) as e:
        fail("Date does not parse: %r (%s)" % (raw, e))
    now = datetime.datetime.now(datetime.timezone.utc)
    if abs((when - now).total_seconds()) > 600:
        fail("Date %r is more than ten minutes away from now (%s UTC)"
             % (raw, now.strftime("%Y-%m-%d %H:%M:%S")))


def main():
    ap = argparse.ArgumentParser(usage="%(prog)s FILE [options]")
    ap.add_argument("file")
    ap.add_argument("--expect-header", action="append", default=[])
    ap.add_argument("--expect-header-re", action="append", default=[])
    ap.add_argument("--no-header", action="append", default=[])
    ap.add_argument("--expect-body")
    ap.add_argument("--expect-body-file")
    ap.add_argument("--dump-body")
    ap.add_argument("--fold-limit", type=int)
    ap.add_argument("--ascii-only", action="store_true")
    ap.add_argument("--check-date", action="store_true")
    ap.add_argument("--allow-8bit-headers", action="store_true")
    ap.add_argument("--allow-2047-name", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    try:
        with open(args.file, "rb") as fh:
            raw = fh.read()
        raw_checks(raw, args)
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
        defect_checks(msg, args, skip_top_headers=args.allow_8bit_headers)
        # Header values come from the text parse when headers are UTF-8.
        hmsg = utf8_header_checks(raw) if args.allow_8bit_headers else msg

        for spec in args.expect_header:
            name, sep, want = spec.partition("=")
            if not sep:
                fail("bad --expect-header %r (want Name=value)" % spec)
            got = header_value(hmsg, name)
            if got is None:
                fail("header %s missing (expected %r)" % (name, want))
            if got != want:
                fail("header %s: got %r, expected %r" % (name, got, want))
        for spec in args.expect_header_re:
            name, sep, pattern = spec.partition("=")
            if not sep:
                fail("bad --expect-header-re %r (want Name=regex)" % spec)
            got = header_value(hmsg, name)
            if got is None:
                fail("header %s missing (expected /%s/)" % (name, pattern))
            if not re.fullmatch(pattern, got):
                fail("header %s: got %r, expected to match /%s/"
                     % (name, got, pattern))
        for name in args.no_header:
            if msg.get_all(name) is not None:
                fail("header %s present but must not be: %r"
                     % (name, str(msg[name])))
        if args.check_date:
            check_date(msg)

        body = body_bytes(msg)
        if args.dump_body:
            with open(args.dump_body, "wb") as fh:
                fh.write(body)
        if args.expect_body is not None:
            want = args.expect_body.encode("utf-8")
            if norm(body) != norm(want):
                fail("body mismatch:\n  got      %r\n  expected %r"
                     % (norm(body)[:300], norm(want)[:300]))
        if args.expect_body_file is not None:
            with open(args.expect_body_file, "rb") as fh:
                want = fh.read()
            if norm(body) != norm(want):
                a, b = norm(body), norm(want)
                i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]),
                         min(len(a), len(b)))
                fail("body differs from %s (%d vs %d octets after LF "
                     "normalisation); first difference at offset %d: got %r, "
                     "expected %r" % (args.expect_body_file, len(a), len(b), i,
                                      a[i:i + 40], b[i:i + 40]))
    except Failed as e:
        print("checkmsg: %s: %s" % (args.file, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("checkmsg: %s" % e, file=sys.stderr)
        return 2

    if not args.quiet:
        for name, value in hmsg.items():
            print("%s: %s" % (name, value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
