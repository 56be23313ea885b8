#!/usr/bin/python3
"""mimeparts.py — what a MIME parser makes of a message, for assertions.

Usage:
  mimeparts.py FILE                 describe the message
  mimeparts.py FILE --save DIR      also write each leaf's decoded content
                                    to DIR/N (N counts leaves from 1)

Parses FILE with Python's email package (policy=default) and prints:

  tree TYPE(CHILD,CHILD,...)        the structure, e.g.
                                    tree multipart/mixed(text/plain,image/png)
  part N                            one line per leaf, tab-separated fields:
       N  content-type  charset  cte  disposition  filename  name  cid
       size  sha256
                                    filename is what Content-Disposition
                                    decodes to (RFC 2231), name what
                                    Content-Type's name= decodes to (RFC
                                    2047), cid the Content-ID; "-" when
                                    absent.  size and sha256 are of the
                                    decoded content.

Decoded texts are bytes as transported (no charset decoding).
"""

import argparse
import email.parser
import email.policy
import hashlib
import os
import sys


def tree(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(),
                           ",".join(tree(p) for p in part.iter_parts()))
    return part.get_content_type()


def field(v):
    if v is None or v == "":
        return "-"
    return str(v).replace("\t", " ").replace("\n", " ")


def main():
    ap = argparse.ArgumentParser(usage="%(prog)s FILE [--save DIR]")
    ap.add_argument("file")
    ap.add_argument("--save")
    args = ap.parse_args()
    with open(args.file, "rb") as fh:
        msg = email.parser.BytesParser(policy=email.policy.default).parse(fh)
    print("tree " + tree(msg))
    n = 0
    for part in msg.walk():
        if part.is_multipart():
            continue
        n += 1
        data = part.get_payload(decode=True) or b""
        ctype = part.get("Content-Type")
        name = ctype.params.get("name") if ctype is not None else None
        disp = part.get_content_disposition()
        print("\t".join([
            "part", str(n), part.get_content_type(),
            field(part.get_param("charset")),
            field(part.get("Content-Transfer-Encoding")),
            field(disp), field(part.get_filename()), field(name),
            field(part.get("Content-ID")), str(len(data)),
            hashlib.sha256(data).hexdigest()]))
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            with open(os.path.join(args.save, str(n)), "wb") as fh:
                fh.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
