#!/usr/bin/env python3
"""ringmx-bench against Postfix's smtp-source, both driving one smtp-sink.

Runs each workload with each client in turn (A/B/A/B...), several rounds,
and reports medians: messages/s (wall clock of the client process), the
client's own CPU time (user+system, from wait4's rusage) per message, and
smtp-sink's CPU per message (from /proc/PID/stat). smtp-sink's own message
counter (-c) is read before and after each run, so both clients are judged
by what the server counted, not by what they claim.

Loopback only. Every run is bounded by --messages and a timeout.

usage: compare_smtp_source.py --bench build/bench/loadgen/ringmx-bench
           [--messages 20000] [--sessions 50] [--size 1024] [--rounds 3]
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, tries=500):
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.01)
    sys.exit(f"smtp-sink did not listen on {port}")


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def sink_messages(path):
    with open(path, "rb") as f:
        counts = re.findall(rb"mesg=(\d+)", f.read())
    return int(counts[-1]) if counts else 0


def run_client(argv, timeout):
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"timeout: {' '.join(argv)}")
        time.sleep(0.005)
    wall = time.monotonic() - start
    rc = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    return wall, usage.ru_utime + usage.ru_stime, rc, err


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", required=True, help="path of ringmx-bench")
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--timeout", type=float, default=300)
    a = p.parse_args()

    workdir = tempfile.mkdtemp(prefix="ringmx-compare-")
    port = free_port()
    sink_out = os.path.join(workdir, "sink.out")
    sink_argv = [SMTP_SINK, "-c"]
    if os.geteuid() == 0:
        sink_argv += ["-u", "nobody"]
    sink_argv += [f"127.0.0.1:{port}", "1024"]
    sink = subprocess.Popen(sink_argv, stdout=open(sink_out, "wb"), stderr=subprocess.DEVNULL)
    wait_for_port(port)

    target = f"127.0.0.1:{port}"
    n, s = str(a.messages), str(a.sessions)
    # ringmx-bench --size counts the whole message; smtp-source -l counts the
    # payload only and adds a few short headers.
    workloads = {
        "1 KiB, one message per session": {
            "ringmx-bench": [a.bench, "--target", target, "--messages", n, "--connections", s,
                             "--size", str(a.size), "--per-connection", "1"],
            "smtp-source": [SMTP_SOURCE, "-s", s, "-m", n, "-l", str(a.size), target],
        },
        "1 KiB, sessions reused": {
            "ringmx-bench": [a.bench, "--target", target, "--messages", n, "--connections", s,
                             "--size", str(a.size), "--per-connection", "0"],
            "smtp-source": [SMTP_SOURCE, "-d", "-s", s, "-m", n, "-l", str(a.size), target],
        },
    }
    results = {}  # (workload, client) -> list of (msg/s, client cpu/msg, server cpu/msg)
    try:
        for r in range(a.rounds):
            for wname, clients in workloads.items():
                order = list(clients) if r % 2 == 0 else list(reversed(clients))
                for client in order:
                    before_msgs = sink_messages(sink_out)
                    before_cpu = proc_cpu_seconds(sink.pid)
                    wall, cpu, rc, err = run_client(clients[client], a.timeout)
                    # smtp-sink updates its counter as each session ends.
                    time.sleep(0.2)
                    got = sink_messages(sink_out) - before_msgs
                    server_cpu = proc_cpu_seconds(sink.pid) - before_cpu
                    if rc != 0 or got != a.messages:
                        print(f"warning: {client} {wname}: rc={rc} server counted {got}: {err[-300:]}",
                              file=sys.stderr)
                    results.setdefault((wname, client), []).append(
                        (got / wall, cpu / max(got, 1) * 1e6, server_cpu / max(got, 1) * 1e6))
                    print(f"round {r + 1} {wname:34} {client:13} {got / wall:9.0f} msg/s  "
                          f"client {cpu:6.3f} s CPU  server {server_cpu:6.3f} s CPU", file=sys.stderr)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait()

    print(f"\nMedians of {a.rounds} alternating rounds, {a.messages} messages, "
          f"{a.sessions} parallel sessions, against smtp-sink on loopback ({os.cpu_count()} CPUs).\n")
    print("| workload | client | messages/s | client CPU µs/msg | smtp-sink CPU µs/msg |")
    print("|---|---|---:|---:|---:|")
    for wname in workloads:
        med = {}
        for client in workloads[wname]:
            rows = results[(wname, client)]
            med[client] = [statistics.median(col) for col in zip(*rows)]
            m = med[client]
            print(f"| {wname} | {client} | {m[0]:.0f} | {m[1]:.1f} | {m[2]:.1f} |")
        rb, ss = med["ringmx-bench"], med["smtp-source"]
        print(f"| {wname} | ratio ringmx-bench/smtp-source | {rb[0] / ss[0]:.2f}x | "
              f"{rb[1] / ss[1]:.2f}x | {rb[2] / ss[2]:.2f}x |")


if __name__ == "__main__":
    main()
