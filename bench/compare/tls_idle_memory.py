#!/usr/bin/env python3
"""Resident memory per idle TLS session: ringmx with N STARTTLS sessions
open, each past its handshake and a second EHLO, then silent. Prints the
server's VmRSS before and after and the difference per session, for the
record layer ringmx uses after the handshake (default) and for wolfSSL's
(RINGMX_TLS_RECORDS=wolfssl), alternated, medians.

    bench/compare/tls_idle_memory.py --ringmx build/core/ringmx --sessions 1000 --rounds 3
"""

import argparse
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

CONFIG = """
[server]
shards = 1
hostname = "mx.test"
max-connections = 100000
[server.listener.smtp]
bind = "127.0.0.1:{port}"
tls.enable = true
tls.certificate = "mx"
[certificate.mx]
cert = "file://{dir}/cert.pem"
private-key = "file://{dir}/key.pem"
[spool]
path = "{dir}/spool"
[delivery]
mode = "discard"
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reply(f):
    while True:
        line = f.readline()
        if len(line) < 4 or line[3:4] != b"-":
            return line


def open_session(port, ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO client.test\r\n")
    reply(f)
    s.sendall(b"STARTTLS\r\n")
    reply(f)
    t = ctx.wrap_socket(s)
    t.sendall(b"EHLO client.test\r\n")
    tf = t.makefile("rb")
    if not reply(tf).startswith(b"250 "):
        raise RuntimeError("EHLO over TLS failed")
    return t, tf


def measure(args, workdir, mode):
    port = free_port()
    conf = os.path.join(workdir, "ringmx.toml")
    with open(conf, "w") as f:
        f.write(CONFIG.format(port=port, dir=workdir))
    env = dict(os.environ)
    if mode == "wolfssl":
        env["RINGMX_TLS_RECORDS"] = "wolfssl"
    server = subprocess.Popen([args.ringmx, "--config", conf], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)  # start-up
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        warm = [open_session(port, ctx) for _ in range(50)]  # buffers and caches in place
        before = rss_kib(server.pid)
        held = [open_session(port, ctx) for _ in range(args.sessions)]
        after = rss_kib(server.pid)
        for t, _ in held + warm:
            t.close()
        return (after - before) * 1024 / args.sessions
    finally:
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ringmx", required=True)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                        os.path.join(workdir, "key.pem"), "-out",
                        os.path.join(workdir, "cert.pem"), "-days", "2", "-subj", "/CN=mx.test"],
                       check=True, capture_output=True)
        results = {"userspace": [], "wolfssl": []}
        for r in range(args.rounds):
            order = ["userspace", "wolfssl"] if r % 2 == 0 else ["wolfssl", "userspace"]
            for mode in order:
                per = measure(args, workdir, mode)
                results[mode].append(per)
                print(f"round {r + 1}: {mode:9s} {per:8.0f} bytes of RSS per idle TLS session",
                      flush=True)
        for mode, values in results.items():
            print(f"median {mode:9s} {statistics.median(values):8.0f} bytes per idle TLS session "
                  f"({args.sessions} sessions, {args.rounds} rounds)")


if __name__ == "__main__":
    sys.exit(main())
