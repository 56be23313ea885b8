#!/usr/bin/python3
"""binparts.py — a byte-exact MIME splitter for messages with binary parts.

Usage:
  binparts.py FILE                  describe the message
  binparts.py FILE --save DIR       also write each leaf's decoded content
                                    to DIR/N (N counts leaves from 1)

Python's email package reads a message as lines, which is right for text
but not for Content-Transfer-Encoding: binary (RFC 3030), where a CR or LF
is just an octet.  This splits the octets themselves, as RFC 2046 section
5.1.1 defines it: a body part ends where CRLF "--" boundary begins, and
that CRLF belongs to the delimiter.  Prints one line per leaf,
tab-separated:

  part N  content-type  cte  size  sha256  eol

size and sha256 are of the decoded content (base64 decoded, anything
else as it is).  eol is "crlf" when every line end in the leaf's header,
and in its content unless it is binary, is CRLF, else "bare".  A line
"preamble-eol crlf|bare" covers the message header and the multipart
delimiters.  Exit status 1 when the message cannot be split.
"""

import argparse
import base64
import hashlib
import os
import re
import sys


class Bad(Exception):
    pass


def crlf_only(data):
    """True when every CR and LF in data is part of a CRLF pair."""
    return data.count(b"\r") == data.count(b"\n") == data.count(b"\r\n")


def split_header(data):
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if data.startswith(b"\r\n"):
            return b"", data[2:]
        raise Bad("no end of header")
    return data[:end + 2], data[end + 4:]


def fields(head):
    """Unfolded header fields, names in lower case."""
    out = {}
    text = re.sub(rb"\r\n[ \t]", b" ", head).decode("utf-8", "replace")
    for line in text.split("\r\n"):
        if ":" in line:
            name, value = line.split(":", 1)
            out.setdefault(name.strip().lower(), value.strip())
    return out


def boundary_of(ctype):
    m = re.search(r'boundary="([^"]+)"', ctype) or \
        re.search(r"boundary=([^;\s]+)", ctype)
    if not m:
        raise Bad("multipart without boundary")
    return m.group(1).encode()


def split_multipart(body, boundary):
    """The body parts between the delimiters, and the octets around them
    that are not part content (for the line-end check)."""
    dash = b"--" + boundary
    delim = b"\r\n" + dash
    if body.startswith(dash):
        pos = len(dash)
        around = [dash]
    else:
        pos = body.find(delim)
        if pos < 0:
            raise Bad("no first delimiter")
        around = [body[:pos + len(delim)]]
        pos += len(delim)
    parts = []
    while True:
        if body.startswith(b"--", pos):
            around.append(body[pos:])
            return parts, around
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise Bad("delimiter line without CRLF")
        start = eol + 2
        end = body.find(delim, start)
        if end < 0:
            raise Bad("no closing delimiter")
        parts.append(body[start:end])
        around.append(body[pos:start])
        pos = end + len(delim)


def walk(entity, leaves, around):
    head, body = split_header(entity)
    f = fields(head)
    ctype = f.get("content-type", "text/plain")
    if ctype.lower().startswith("multipart/"):
        around.append(head)
        parts, extra = split_multipart(body, boundary_of(ctype))
        around.extend(extra)
        for p in parts:
            walk(p, leaves, around)
        return
    leaves.append((head, f, body))


def main():
    ap = argparse.ArgumentParser(usage="%(prog)s FILE [--save DIR]")
    ap.add_argument("file")
    ap.add_argument("--save")
    args = ap.parse_args()
    with open(args.file, "rb") as fh:
        data = fh.read()
    leaves, around = [], []
    try:
        walk(data, leaves, around)
    except Bad as e:
        print("binparts: %s" % e, file=sys.stderr)
        return 1
    print("preamble-eol %s" % ("crlf" if all(crlf_only(a) for a in around)
                               else "bare"))
    for n, (head, f, body) in enumerate(leaves, 1):
        cte = f.get("content-transfer-encoding", "7bit").lower()
        content = base64.b64decode(body) if cte == "base64" else body
        ok = crlf_only(head) and (cte == "binary" or crlf_only(body))
        print("part\t%d\t%s\t%s\t%d\t%s\t%s" % (
            n, f.get("content-type", "text/plain").split(";")[0].strip(),
            cte, len(content), hashlib.sha256(content).hexdigest(),
            "crlf" if ok else "bare"))
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            with open(os.path.join(args.save, str(n)), "wb") as fh:
                fh.write(content)
    return 0


if __name__ == "__main__":
    sys.exit(main())
