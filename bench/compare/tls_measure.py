#!/usr/bin/env python3
"""TLS of issue 6, ringmx against Postfix on the same machine in one run:
TLS 1.3 handshakes per second (ECDSA P-256 and RSA 2048 certificates) and
bulk throughput of 10 MiB messages over STARTTLS, beside libcrypto's
AES-GCM on one core (`openssl speed`), the issue's yardstick.

    sudo bench/compare/tls_measure.py                    # 3 rounds
    sudo bench/compare/tls_measure.py --rounds 5 --perf  # and profile ringmx in round 1

The client is tlsclient.py (Python's ssl: OpenSSL with AES-NI), so neither
the client's record crypto nor its key exchange is Debian's wolfSSL. Every
measurement starts a fresh server, reads the CPU time of its process tree
from /proc before and after one client run (procstat.py), and stops it.
Within a series the servers take turns, and the order is reversed every
round (A B, B A, ...), so drift on a shared machine hits both. Medians of
the rounds; ratios are ringmx over Postfix from the same run.

Series:
  hs-ecdsa        per session: EHLO, STARTTLS, TLS 1.3 handshake, QUIT (its
                  221 over TLS); ECDSA P-256 certificate; the client offers
                  OpenSSL's default groups (X25519 key share, as most MTAs)
  hs-ecdsa-p256   the same with only P-256 offered (ECDHE on P-256 too)
  hs-rsa          the same with an RSA 2048 certificate
  hs-plain        the same sessions without STARTTLS (the baseline)
  bulk-tls        --bulk-messages messages of 10 MiB (20 per session) over
                  STARTTLS; MB/s of the body phase (first body byte to the
                  250) and server CPU per MiB
  bulk-tls-256k   the same, the client encrypting into memory and sending
                  256 KiB of body per send(), many records at once (as a
                  sender with a big output buffer or kTLS does), where
                  bulk-tls sends each 16 KiB record on its own
  bulk-plain      the same without TLS
Every bulk run starts with one untimed 10 MiB message on the same server
(postfix too), so that what a server does once in its life (processes
started, buffer memory first touched) is not counted in its CPU per MiB.
ringmx runs with its durable spool (write + fdatasync before 250, like
Postfix's queue file) and, for bulk, also with delivery.mode = "discard".
"""

import argparse
import atexit
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import binaries  # noqa: E402
import procstat  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402

TLSCLIENT = os.path.join(HERE, "tlsclient.py")
LIVE = []

# name: (certificate kind, client arguments, servers, unit)
SERIES = {
    "hs-ecdsa": ("ec", [], ("postfix", "ringmx-spool"), "session"),
    "hs-ecdsa-p256": ("ec", ["--group", "prime256v1"], ("postfix", "ringmx-spool"), "session"),
    "hs-rsa": ("rsa", [], ("postfix", "ringmx-spool"), "session"),
    "hs-plain": ("ec", ["--plain"], ("postfix", "ringmx-spool"), "session"),
    "bulk-tls": ("ec", [], ("postfix", "ringmx-spool", "ringmx-discard"), "MiB"),
    "bulk-tls-256k": ("ec", ["--write-size", "256k"], ("postfix", "ringmx-spool", "ringmx-discard"),
                      "MiB"),
    "bulk-plain": ("ec", ["--plain"], ("postfix", "ringmx-spool", "ringmx-discard"), "MiB"),
}


def stop_all():
    while LIVE:
        LIVE.pop().stop()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--series", default=",".join(SERIES))
    ap.add_argument("--handshakes", type=int, default=1500, help="sessions per handshake run")
    ap.add_argument("--procs", type=int, default=6,
                    help="client processes (sessions at once) for handshakes")
    ap.add_argument("--bulk-messages", type=int, default=20, help="10 MiB messages per bulk run")
    ap.add_argument("--ringmx", help="path (default: newest optimized build*/core/ringmx)")
    ap.add_argument("--shards", type=int, default=0, help="ringmx server.shards (0: one per CPU)")
    ap.add_argument("--tmpfs", action="store_true",
                    help="queue and spool in /dev/shm instead of the disk under /tmp")
    ap.add_argument("--perf", action="store_true",
                    help="perf record ringmx in round 1 (hs-ecdsa, hs-ecdsa-p256, bulk-tls) "
                    "and keep the top costs in the output folder")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per client run")
    ap.add_argument("--out", help="default bench/compare/out/tls-<UTC time>")
    return ap.parse_args()


def openssl_speed(cipher):
    """MB/s of libcrypto's AES-GCM on one core, 16 KiB blocks (a full TLS record)."""
    out = subprocess.run(["openssl", "speed", "-evp", cipher, "-seconds", "2", "-bytes",
                          "16384"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.lower().startswith(cipher):
            return float(line.split()[-1].rstrip("k")) * 1000 / 1e6
    raise RuntimeError(f"no {cipher} line in openssl speed's output")


def openssl_sign_speed():
    """Signatures per second on one core in libcrypto: RSA 2048 and ECDSA
    P-256, the private-key operation of every server handshake."""
    out = subprocess.run(["openssl", "speed", "-seconds", "1", "rsa2048", "ecdsap256"],
                         capture_output=True, text=True).stdout
    speeds = {}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("rsa 2048 bits"):
            speeds["rsa2048 sign/s"] = float(parts[-2])
        elif "ecdsa (nistp256)" in line:
            speeds["ecdsa-p256 sign/s"] = float(parts[-2])
    return speeds


def make_server(name, workdir, cert, key, shards):
    if name == "postfix":
        return servers.Postfix(workdir, cert, key)
    return servers.Ringmx(workdir, RINGMX, name.split("-", 1)[1], cert, key, shards=shards)


def perf_start(pid, path):
    return subprocess.Popen(["perf", "record", "-g", "-F", "8000", "-o", path, "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_finish(proc, path):
    """Stops perf and writes the costs by library and the top symbols beside
    the data; returns the share of samples per library."""
    proc.send_signal(signal.SIGINT)
    proc.wait()
    run = lambda *a: subprocess.run(["perf", "report", "-i", path, "--stdio", *a],
                                    capture_output=True, text=True).stdout
    by_dso = run("--no-children", "--sort", "dso", "-g", "none")
    with open(path + ".txt", "w") as f:
        f.write(by_dso)
        f.write(run("--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.7"))
        f.write(run("--children", "--sort", "sym", "-g", "none", "--percent-limit", "2"))
    shares = {}
    for line in by_dso.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith("%"):
            shares[parts[1]] = float(parts[0].rstrip("%"))
    return shares


def measure(args, workdir, certs, series, name, round_no, out_dir):
    kind, client_args, _, unit = SERIES[series]
    cert, key = certs[kind]
    server = make_server(name, workdir, cert, key, args.shards)
    LIVE.append(server)
    row = {"series": series, "server": name, "round": round_no, "ok": False}
    try:
        server.start()
        port = server.ports["smtp" if "--plain" in client_args else "starttls"]
        json_path = os.path.join(workdir, "client.json")
        argv = [sys.executable, TLSCLIENT, "--port", str(port), "--json", json_path]
        if unit == "session":
            argv += ["--procs", str(args.procs), "--sessions", str(args.handshakes)]
        else:
            # 20 messages (200 MiB) per session: under ringmx's default
            # session.transfer-limit (250 MiB); more messages, more sessions
            # one after the other, for a finer CPU reading (10 ms ticks).
            sessions = max(1, (args.bulk_messages + 19) // 20)
            argv += ["--procs", "1", "--sessions", str(sessions), "--messages",
                     str(args.bulk_messages), "--size", "10M"]
        argv += client_args
        if unit != "session":
            # The warm-up message (see the docstring), not counted.
            warm = [sys.executable, TLSCLIENT, "--port", str(port), "--sessions", "1",
                    "--messages", "1", "--size", "10M"] + client_args
            subprocess.run(warm, capture_output=True, timeout=args.timeout, check=True)
        perf = None
        if args.perf and round_no == 1 and name.startswith("ringmx") and series in (
                "hs-ecdsa", "hs-ecdsa-p256", "hs-rsa", "bulk-tls", "bulk-tls-256k", "bulk-plain"):
            perf_path = os.path.join(out_dir, f"perf-{series}-{name}.data")
            perf = perf_start(server.pid, perf_path)
            time.sleep(0.5)  # perf attaches
        cpu0 = procstat.tree_cpu_seconds(server.pid)
        start = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout)
        seconds = time.monotonic() - start
        cpu1 = procstat.tree_cpu_seconds(server.pid)
        if perf:
            row["perf_dso_percent"] = perf_finish(perf, perf_path)
        client = json.loads(proc.stdout.strip().splitlines()[-1])
        row.update(ok=proc.returncode == 0, error=str(client["errors"]) if client["errors"]
                   else "", cipher=client.get("cipher"), server_cpu_s=cpu1 - cpu0,
                   client_cpu_pct=100 * client["client_cpu_seconds"] / seconds)
        if unit == "session":
            row["rate"] = client["sessions_per_second"]
            row["server_cpu_per_unit"] = (cpu1 - cpu0) * 1e6 / client["sessions"]  # µs
        else:
            mib = client["body_bytes"] / 2**20
            row["rate"] = client["body_mb_per_second"]  # MB/s of the body phase
            row["wall_rate"] = client["wall_mb_per_second"]
            row["server_cpu_per_unit"] = (cpu1 - cpu0) * 1e3 / mib  # ms per MiB
            if name == "postfix" and row["ok"]:
                held = server.queued()
                if held != args.bulk_messages + 1:  # every 250 a queue file, warm-up too
                    row.update(ok=False, error=f"{held} of {args.bulk_messages + 1} queued")
    except Exception as e:  # a failed row, not a crash
        row["error"] = f"{type(e).__name__}: {e}"
    finally:
        LIVE.remove(server)
        server.stop()
    return row


def summarize(rows, speeds):
    groups = {}
    for r in rows:
        groups.setdefault((r["series"], r["server"]), []).append(r)
    summary = {}
    for key, runs in groups.items():
        good = [r for r in runs if r["ok"]]
        med = lambda k: statistics.median(r[k] for r in good) if good else None
        summary[key] = {"runs": len(runs), "ok": len(good), "rate": med("rate"),
                        "cpu": med("server_cpu_per_unit"), "client_cpu_pct": med("client_cpu_pct"),
                        "rates": [round(r["rate"], 1) for r in good],
                        "cipher": good[0].get("cipher") if good else None,
                        "errors": sorted({r.get("error", "") for r in runs if not r["ok"]})}
    summary["speed"] = {c: statistics.median(v) for c, v in speeds.items() if v}
    return summary


def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    return "–" if a is None or b is None or not b else f"{a / b:.2f}x"


def table(summary, wanted):
    lines = ["| series | server | rate (median) | server CPU | per server CPU-second | "
             "client CPU | rate vs Postfix | CPU vs Postfix | TLS cipher | runs ok |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for series in wanted:
        unit = SERIES[series][3]
        for name in SERIES[series][2]:
            s = summary.get((series, name))
            if not s:
                continue
            peer = summary.get((series, "postfix")) if name != "postfix" else None
            if unit == "session":
                rate = f"{fmt(s['rate'])} sessions/s"
                cpu = f"{fmt(s['cpu'])} µs/session"
                cap = f"{fmt(1e6 / s['cpu'])} sessions" if s["cpu"] else "–"
            else:
                rate = f"{fmt(s['rate'])} MB/s"
                cpu = f"{fmt(s['cpu'], 2)} ms/MiB"
                cap = f"{fmt(1.048576e3 / s['cpu'])} MB" if s["cpu"] else "–"
            lines.append(
                f"| {series} | {name} | {rate} | {cpu} | {cap} | "
                f"{fmt(s['client_cpu_pct'])}% | {ratio(s['rate'], peer['rate']) if peer else ''} | "
                f"{ratio(s['cpu'], peer['cpu']) if peer else ''} | {s['cipher'] or '–'} | "
                f"{s['ok']}/{s['runs']} |")
    speed = summary["speed"]
    for cipher, mbps in speed.items():
        lines.append(f"| openssl speed | libcrypto {cipher.upper()}, 16 KiB, 1 core | "
                     f"{fmt(mbps)} MB/s | | | | | | | |")
    for what, rate in summary.get("sign", {}).items():
        lines.append(f"| openssl speed | libcrypto {what}, 1 core | {fmt(rate)} | "
                     f"{fmt(1e6 / rate)} µs each | | | | | | |")
    return "\n".join(lines)


def targets(summary):
    lines = ["| target (issue 6) | measured | met |", "|---|---|---|"]

    def get(series, name, key):
        s = summary.get((series, name))
        return s[key] if s else None

    for series, what in (("hs-ecdsa", "ECDSA P-256"), ("hs-ecdsa-p256", "ECDSA P-256, P-256 "
                                                                           "key share"),
                         ("hs-rsa", "RSA 2048")):
        r, p = get(series, "ringmx-spool", "rate"), get(series, "postfix", "rate")
        rc, pc = get(series, "ringmx-spool", "cpu"), get(series, "postfix", "cpu")
        if r and p:
            lines.append(f"| handshakes/s ≥ 2x Postfix, {what} | {r / p:.2f}x measured "
                         f"(shared machine, client ≥ server CPU); {pc / rc:.2f}x per server "
                         f"CPU-second | "
                         f"{'yes' if r / p >= 2 else '**no**'} measured, "
                         f"{'yes' if pc / rc >= 2 else '**no**'} per CPU |")
    aes = summary["speed"].get("aes-128-gcm")  # ringmx's suite; Postfix picks AES-256
    for series, name in ((s, n) for s in ("bulk-tls", "bulk-tls-256k")
                         for n in ("ringmx-spool", "ringmx-discard")):
        r, c = get(series, name, "rate"), get(series, name, "cpu")
        if r and aes:
            cap = 1.048576e3 / c
            lines.append(f"| bulk ≥ ½ libcrypto AES-128-GCM ({aes / 2:,.0f} MB/s), {series}, "
                         f"{name} | "
                         f"{r:,.0f} MB/s measured; {cap:,.0f} MB/s per server CPU-second | "
                         f"{'yes' if r >= aes / 2 else '**no**'} measured, "
                         f"{'yes' if cap >= aes / 2 else '**no**'} per CPU |")
    return "\n".join(lines)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    global RINGMX
    args = parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: Postfix's master starts as root")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    out_dir = args.out or os.path.join(HERE, "out", f"tls-{stamp}")
    os.makedirs(out_dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="ringmx-tls-", dir="/dev/shm" if args.tmpfs else None)
    os.chmod(workdir, 0o755)
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _f: (stop_all(), sys.exit(128 + signum)))
    source = args.ringmx or binaries.newest("build*/core/ringmx")
    if not source:
        raise SystemExit("no optimized ringmx built (build*/core/ringmx)")
    RINGMX = binaries.snapshot(source, workdir)
    certs = {kind: servers.make_cert(workdir, kind) for kind in ("ec", "rsa")}
    wanted = [s for s in SERIES if s in args.series.split(",")]
    load_start, started = loadavg(), time.monotonic()
    rows, speeds = [], {"aes-128-gcm": [], "aes-256-gcm": []}
    sign = openssl_sign_speed() if any(s.startswith("hs-") for s in wanted) else {}
    print(f"openssl speed: {sign}", flush=True)
    with open(os.path.join(out_dir, "runs.jsonl"), "w") as jsonl:
        for round_no in range(1, args.rounds + 1):
            for cipher in speeds:
                speeds[cipher].append(openssl_speed(cipher))
                print(f"[round {round_no}] openssl speed {cipher}: {speeds[cipher][-1]:,.0f} MB/s",
                      flush=True)
            for series in wanted:
                names = list(SERIES[series][2])
                if round_no % 2 == 0:
                    names.reverse()
                for name in names:
                    row = measure(args, workdir, certs, series, name, round_no, out_dir)
                    rows.append(row)
                    jsonl.write(json.dumps(row) + "\n")
                    jsonl.flush()
                    unit = "sessions/s" if SERIES[series][3] == "session" else "MB/s"
                    cpu = "µs/session" if unit == "sessions/s" else "ms/MiB"
                    shown = (f"{row['rate']:,.1f} {unit}, server {row['server_cpu_per_unit']:,.2f} "
                             f"{cpu}, client CPU {row['client_cpu_pct']:.0f}%, {row['cipher']}"
                             if row["ok"] else f"FAILED {row.get('error')}")
                    print(f"[round {round_no}] {series:13} {name:15} {shown}"
                          + (f"  perf: {row['perf_dso_percent']}" if "perf_dso_percent" in row
                             else ""), flush=True)
    summary = summarize(rows, speeds)
    summary["sign"] = sign
    info = report.machine()
    info.update(date=stamp, minutes=round((time.monotonic() - started) / 60, 1),
                loadavg_start=load_start, loadavg_end=loadavg(), ringmx=source,
                command=" ".join(["bench/compare/tls_measure.py"] + sys.argv[1:]),
                spool="/dev/shm (tmpfs)" if args.tmpfs else "/tmp (disk)")
    md = [f"TLS run {stamp}: `{info['command']}`, {args.rounds} rounds, {info['minutes']} min; "
          f"{info['nproc']} CPUs ({info['cpu']}), Linux {info['kernel']}, Postfix "
          f"{info['postfix']}; load average {info['loadavg_start']} at the start, "
          f"{info['loadavg_end']} at the end; ringmx `{source}`; queue and spool on "
          f"{info['spool']}; {args.handshakes} sessions x {args.procs} client processes per "
          f"handshake run, {args.bulk_messages} x 10 MiB (20 per session) per bulk run.", "",
          targets(summary), "", table(summary, wanted), ""]
    for (series, name), s in sorted((k, v) for k, v in summary.items()
                                    if isinstance(k, tuple)):
        if s["errors"]:
            md.append(f"- {series} / {name}: {s['ok']}/{s['runs']} ok; {'; '.join(s['errors'])}")
    text = "\n".join(md)
    with open(os.path.join(out_dir, "TLS.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump({"info": info, "summary": {f"{k[0]}/{k[1]}" if isinstance(k, tuple) else k: v
                                             for k, v in summary.items()}}, f, indent=2)
    print("\n" + text + f"\n\n{out_dir}/TLS.md")


if __name__ == "__main__":
    main()
