#!/usr/bin/python3
"""ocspresp.py - a DER OCSP response with the dates a test asks for.

    ocspresp.py CA.pem CA-KEY.pem CERT.pem OUT.der THIS NEXT

Says "good" about CERT (issued by CA), signed by the CA itself, with
thisUpdate and nextUpdate THIS and NEXT days from now (negative: in the
past).  `openssl ocsp` always dates a response now, so a stale or a
future-dated response (RFC 6960 section 4.2.2.1) is made here with
Python's cryptography package.
"""
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp


def main(argv):
    if len(argv) != 7:
        sys.exit(__doc__)
    ca_pem, key_pem, cert_pem, out, this_days, next_days = argv[1:]
    with open(ca_pem, "rb") as fh:
        ca = x509.load_pem_x509_certificate(fh.read())
    with open(key_pem, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), None)
    with open(cert_pem, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    now = datetime.datetime.utcnow().replace(microsecond=0)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=ca, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now + datetime.timedelta(days=float(this_days)),
        next_update=now + datetime.timedelta(days=float(next_days)),
        revocation_time=None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.NAME, ca).certificates([ca])
    resp = builder.sign(key, hashes.SHA256())
    with open(out, "wb") as fh:
        fh.write(resp.public_bytes(serialization.Encoding.DER))


if __name__ == "__main__":
    main(sys.argv)
