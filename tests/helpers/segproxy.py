#!/usr/bin/python3
"""segproxy — a TCP relay that hands the server's bytes to the client one
octet per TCP segment.

    segproxy.py --upstream PORT --port-file FILE [--gap-ms MS]

Listens on a kernel-chosen loopback port (written to FILE once listening).
Each client connection is relayed to 127.0.0.1:PORT: what the client sends
goes through unchanged; what the server sends goes back one octet per send()
with TCP_NODELAY, MS milliseconds apart (default 1).  Unlike fakesmtpd's SPLIT
this also cuts up what the server's TLS layer writes, so a client's handshake
and record reassembly get exercised too.  Standard library only.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time


def pump(src, dst, gap):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if gap is None:
                dst.sendall(data)
                continue
            for i in range(len(data)):
                dst.sendall(data[i:i + 1])
                if gap:
                    time.sleep(gap)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(client, upstream, gap):
    try:
        server = socket.create_connection(("127.0.0.1", upstream))
    except OSError:
        client.close()
        return
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = threading.Thread(target=pump, args=(client, server, None), daemon=True)
    t.start()
    pump(server, client, gap)
    t.join(5)
    client.close()
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--gap-ms", type=float, default=1.0)
    ap.add_argument("--lifetime", type=int, default=600)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.lifetime > 0:
        signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
        signal.alarm(args.lifetime)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, args.port_file)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=relay, args=(c, args.upstream, args.gap_ms / 1000.0),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
