#!/usr/bin/python3
"""Time one small STARTTLS message: smtpsend vs curl vs msmtp.

Called by bench/run.sh once it has a STARTTLS server listening; can also be
run by hand against any server that accepts mail for the given recipient:

    bench.py --port N --cafile CA [--host 127.0.0.1] [--rounds 30]
             [--smtpsend ./smtpsend] [--workdir DIR]

Every tool sends the same small message over STARTTLS with the server
certificate verified against --cafile.  The tools take turns: each round
runs each tool once, and the order rotates from round to round so that no
tool is always the one that goes first after a pause.  Two warm-up rounds
are not counted.

Each timed run is started with posix_spawn and reaped with wait4, and its
wall time (perf_counter around spawn..reap) includes process start-up and
exit, as a script calling the tool sees it.  Peak memory is measured in a
separate, shorter pass under `/usr/bin/time -f %M` (Debian package "time"):
the kernel's maxrss of a child that Python spawns directly would include
Python's own resident set, which a child forked by the small time(1)
process does not (its floor is about 1 MiB).

BENCH_RAW=1 in the environment also prints every sample (milliseconds).

Each tool runs with its own defaults apart from what the comparison needs
(server, STARTTLS, CA file, envelope), e.g. its own choice of EHLO name.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

SENDER = "bench@example.com"
RCPT = "sink@example.com"
BODY = "Nightly backup finished without errors.\n"


def write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.chmod(path, mode)


def prepare(workdir, args):
    """Write the inputs each tool needs; return {name: (argv, stdin)}."""
    body = os.path.join(workdir, "body.txt")
    write(body, BODY)

    # curl and msmtp send a complete message as given; smtpsend builds its
    # own header from the options.  Keep the two of similar size.
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    eml = os.path.join(workdir, "message.eml")
    write(eml, "\r\n".join([
        "From: " + SENDER,
        "To: " + RCPT,
        "Subject: bench",
        "Date: " + date,
        "Message-ID: <bench.%d@example.com>" % os.getpid(),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
        "",
        BODY.rstrip("\n"),
        "",
    ]))

    rc = os.path.join(workdir, "msmtprc")
    write(rc, "\n".join([
        "defaults",
        "syslog off",
        "logfile",
        "account bench",
        "host " + args.host,
        "port %d" % args.port,
        "from " + SENDER,
        "auth off",
        "tls on",
        "tls_starttls on",
        "tls_trust_file " + args.cafile,
        "account default : bench",
        "",
    ]), 0o600)

    tools = {}
    tools["smtpsend"] = ([
        args.smtpsend, "--host", args.host, "--port", str(args.port),
        "--tls", "starttls", "--cafile", args.cafile, "--timeout", "20",
        "-f", SENDER, "-s", "bench", RCPT,
    ], body)
    if shutil.which("curl"):
        tools["curl"] = ([
            shutil.which("curl"), "-sS", "--ssl-reqd",
            "--cacert", args.cafile, "--max-time", "20",
            "--mail-from", SENDER, "--mail-rcpt", RCPT,
            "--upload-file", eml,
            "smtp://%s:%d" % (url_host(args.host), args.port),
        ], os.devnull)
    if shutil.which("msmtp"):
        tools["msmtp"] = ([
            shutil.which("msmtp"), "-C", rc, "-a", "bench", RCPT,
        ], eml)
    return tools


def url_host(host):
    return "[%s]" % host if ":" in host else host


def run_once(argv, stdin, log):
    """Run argv; return (exit status, wall seconds)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
         0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter()
    return os.waitstatus_to_exitcode(status), t1 - t0


TIME = "/usr/bin/time"


def peak_rss(argv, stdin, log, workdir):
    """Peak RSS in KiB of one run under time(1), or None."""
    out = os.path.join(workdir, "rss")
    code, _ = run_once([TIME, "-f", "%M", "-o", out] + argv, stdin, log)
    if code != 0:
        return None
    try:
        with open(out, encoding="ascii") as fh:
            return int(fh.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def p90(values):
    """Nearest-rank 90th percentile."""
    s = sorted(values)
    k = max(0, -(-9 * len(s) // 10) - 1)
    return s[k]


def version(name, argv0):
    try:
        out = subprocess.run([argv0, "--version"], capture_output=True,
                             text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    line = out.splitlines()[0] if out else "?"
    return line if len(line) <= 72 else line[:69] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--smtpsend", default="./smtpsend")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--server", default="?", help="label for the report")
    args = ap.parse_args()
    args.smtpsend = os.path.abspath(args.smtpsend)
    args.cafile = os.path.abspath(args.cafile)

    workdir = args.workdir or os.path.join(os.getcwd(), "bench-work")
    os.makedirs(workdir, exist_ok=True)
    tools = prepare(workdir, args)
    names = list(tools)
    missing = [n for n in ("curl", "msmtp") if n not in tools]

    # Warm-up rounds, which also prove that every tool can deliver.
    broken = []
    for name in names:
        argv, stdin = tools[name]
        log = os.path.join(workdir, name + ".log")
        for _ in range(max(1, args.warmup)):
            code, _ = run_once(argv, stdin, log)
            if code != 0:
                with open(log, encoding="utf-8", errors="replace") as fh:
                    out = fh.read().strip()
                print("bench: %s failed in warm-up (exit %d): %s"
                      % (name, code, out or "(no output)"), file=sys.stderr)
                broken.append(name)
                break
    if "smtpsend" in broken:
        return 1
    names = [n for n in names if n not in broken]

    wall = {n: [] for n in names}
    rss = {n: [] for n in names}
    fails = {n: 0 for n in names}
    for r in range(args.rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            argv, stdin = tools[name]
            code, secs = run_once(argv, stdin,
                                  os.path.join(workdir, name + ".log"))
            if code != 0:
                fails[name] += 1
                continue
            wall[name].append(secs * 1000.0)

    have_time = os.access(TIME, os.X_OK)
    if have_time:
        for _ in range(3):
            for name in names:
                argv, stdin = tools[name]
                kib = peak_rss(argv, stdin,
                               os.path.join(workdir, name + ".log"), workdir)
                if kib is not None:
                    rss[name].append(kib)

    print("One small message over STARTTLS, certificate verified, "
          "%d rounds (+%d warm-up), tools alternating" % (args.rounds,
                                                          args.warmup))
    print("server: %s on %s port %d; %d CPUs"
          % (args.server, args.host, args.port, os.cpu_count() or 0))
    for name in names:
        print("  %-9s %s" % (name, version(name, tools[name][0][0])))
    for name in missing:
        print("  %-9s not installed: skipped" % name)
    for name in broken:
        print("  %-9s failed in warm-up: skipped (see above)" % name)
    if not have_time:
        print("  (no %s: install Debian's \"time\" package for peak RSS)"
              % TIME)
    print()
    print("%-9s %9s %9s %9s %9s %10s %6s"
          % ("tool", "median", "p90", "min", "max", "peak RSS", "fails"))
    med = {}
    for name in names:
        w = wall[name]
        if not w:
            print("%-9s %9s %9s %9s %9s %10s %6d"
                  % (name, "-", "-", "-", "-", "-", fails[name]))
            continue
        med[name] = statistics.median(w)
        mem = "%7.1fMiB" % (max(rss[name]) / 1024.0) if rss[name] else "-"
        print("%-9s %7.1fms %7.1fms %7.1fms %7.1fms %10s %6d"
              % (name, med[name], p90(w), min(w), max(w), mem, fails[name]))
    print()
    if "smtpsend" in med:
        for other in ("curl", "msmtp"):
            if other in med:
                print("smtpsend/%-5s median %.2fx   p90 %.2fx"
                      % (other, med["smtpsend"] / med[other],
                         p90(wall["smtpsend"]) / p90(wall[other])))
    if os.environ.get("BENCH_RAW"):
        for name in names:
            print(name, " ".join("%.0f" % v for v in wall[name]))
    return 1 if any(fails.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
