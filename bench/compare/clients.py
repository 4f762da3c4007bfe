"""Workloads and the load generators that run them, each client a function
returning the same Result, so servers are compared on the client's clock
and the kernel's CPU accounting, not on what each client prints."""

import dataclasses
import json
import os
import subprocess
import sys
import time

from servers import HOST, MAIL_DOMAIN


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    size: int  # message payload bytes
    reuse: bool  # many messages per session (smtp-source -d)
    recipients: int = 1
    protocol: str = "smtp"  # smtp | lmtp
    tls: bool = False  # STARTTLS before MAIL
    messages: int = 20000  # at scale 1.0
    sessions: int = 50

    def protocol_key(self):
        return "starttls" if self.tls else self.protocol

    def scaled_messages(self, scale):
        return max(self.sessions * 2, int(self.messages * scale))


# The six workloads of issue 8. 100 KiB and STARTTLS send fewer messages so a
# slow server still finishes each measurement in seconds, not minutes.
WORKLOADS = [
    Workload("1k-single", 1024, reuse=False),
    Workload("1k-reuse", 1024, reuse=True),
    Workload("100k", 100 * 1024, reuse=True, messages=4000),
    Workload("5rcpt", 1024, reuse=True, recipients=5),
    Workload("lmtp", 1024, reuse=True, protocol="lmtp"),
    Workload("starttls", 1024, reuse=False, tls=True, messages=4000),
    # Issue 6: bulk throughput over STARTTLS with 10 MiB messages.
    Workload("10m-tls", 10 * 1024 * 1024, reuse=True, tls=True, messages=60, sessions=6),
]


@dataclasses.dataclass
class Result:
    ok: bool
    seconds: float  # wall time of the client run
    messages: int  # messages the client asked for (all of them, when ok)
    client_cpu_s: float
    error: str = ""
    client_json: dict = None


def _run(argv, timeout_s, log_path):
    """Run a client; wall time on our clock, its CPU from wait4()."""
    start = time.monotonic()
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = start + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, 9)
                pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return False, time.monotonic() - start, usage, f"timeout after {timeout_s}s"
            time.sleep(0.005)
    seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return False, seconds, usage, f"exit {proc.returncode} (see {os.path.basename(log_path)})"
    return True, seconds, usage, ""


def can_run(client, workload):
    if client == "tlsclient":
        return workload.tls  # STARTTLS only
    return not (client == "smtp-source" and workload.tls)


def smtp_source(workload, port, messages, timeout_s, log_path):
    """Postfix's smtp-source: one thread per session, waits for every reply
    (no pipelining), no TLS. Aborts on any unexpected reply code."""
    if workload.tls:
        return None  # smtp-source cannot STARTTLS
    argv = ["smtp-source", "-s", str(workload.sessions), "-m", str(messages),
            "-l", str(workload.size), "-r", str(workload.recipients),
            "-M", f"client.{MAIL_DOMAIN}", "-f", f"sender@{MAIL_DOMAIN}",
            "-t", f"rcpt@{MAIL_DOMAIN}"]
    if workload.reuse:
        argv.append("-d")
    if workload.protocol == "lmtp":
        argv.append("-L")
    argv.append(f"{HOST}:{port}")
    ok, seconds, usage, error = _run(argv, timeout_s, log_path)
    return Result(ok, seconds, messages, usage.ru_utime + usage.ru_stime, error)


def _run_with_report(argv, timeout_s, log_path, json_path):
    """_run, plus the JSON report the client wrote to json_path (None when it
    wrote none), which is then removed."""
    ok, seconds, usage, error = _run(argv, timeout_s, log_path)
    report = None
    try:
        with open(json_path) as f:
            report = json.load(f)
        os.unlink(json_path)
    except (OSError, ValueError):
        pass
    return ok, seconds, usage, error, report


def ringmx_bench(binary, workload, port, messages, timeout_s, log_path):
    """ringmx's own io_uring load generator, with pipelining on: it can send
    faster than smtp-source, so the server rather than the client is the
    limit. Its threads are pinned one per CPU (--pin on) for every server
    alike: a client thread that stays on its CPU is what lets a server that
    steers connections by CPU (ringmx's default) keep a connection's packets,
    client and shard on one CPU. Its JSON report is kept beside our own
    figures."""
    json_path = log_path + f".{time.monotonic_ns()}.json"
    per_connection = 0 if workload.reuse else 1  # 0: unlimited
    argv = [binary, "--target", f"{HOST}:{port}", "--connections", str(workload.sessions),
            "--messages", str(messages), "--size", str(workload.size),
            "--recipients", str(workload.recipients), "--per-connection", str(per_connection),
            "--pipelining", "on", "--pin", "on", "--protocol", workload.protocol,
            "--tls", "starttls" if workload.tls else "none", "--json", json_path]
    ok, seconds, usage, error, report = _run_with_report(argv, timeout_s, log_path, json_path)
    if report and report.get("errors_by_key"):
        error = f"{error}: {report['errors_by_key']}"
    if ok and (report is None or report.get("messages_ok") != messages):
        ok, error = False, f"ringmx-bench report: {report and report.get('errors_by_key')}"
    return Result(ok, seconds, messages, usage.ru_utime + usage.ru_stime, error, report)


TLSCLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tlsclient.py")
TLSCLIENT_PROCS = 8  # sessions at once for one-message sessions: enough to keep a server busy


def tlsclient(workload, port, messages, timeout_s, log_path):
    """tlsclient.py: STARTTLS on OpenSSL (Python's ssl), with libcrypto's
    AES-NI AES-GCM, so the client's record crypto is not the limit. Sessions
    reused: one process per session, the messages split over them;
    otherwise one message per session."""
    json_path = log_path + f".{time.monotonic_ns()}.json"
    if workload.reuse:
        procs = sessions = workload.sessions
    else:
        procs, sessions = min(TLSCLIENT_PROCS, messages), messages
    argv = [sys.executable, TLSCLIENT, "--port", str(port), "--procs", str(procs),
            "--sessions", str(sessions), "--messages", str(messages),
            "--size", str(workload.size), "--json", json_path]
    ok, seconds, usage, error, report = _run_with_report(argv, timeout_s, log_path, json_path)
    if report and report.get("errors"):
        error = f"{error}: {report['errors']}"
    if ok and (report is None or report.get("messages") != messages):
        ok, error = False, f"tlsclient report: {report and report.get('errors')}"
    return Result(ok, seconds, messages, usage.ru_utime + usage.ru_stime, error, report)


def bench_burst(binary, port, connections, log_path):
    """The backlog burst driven by ringmx-bench: every connection opened at
    once, one message each. Returned in burst.py's shape."""
    json_path = log_path + f".{time.monotonic_ns()}.json"
    argv = [binary, "--target", f"{HOST}:{port}", "--connections", str(connections),
            "--messages", str(connections), "--per-connection", "1", "--size", "1024",
            "--reply-timeout", "15s", "--json", json_path]
    _run(argv, 120, log_path)  # exit 1 when connects fail: that is a result here
    with open(json_path) as f:
        report = json.load(f)
    os.unlink(json_path)
    ms = lambda phase, p: round(report["latency_ns"][phase][p] / 1e6, 2)
    failures = dict(report.get("errors_by_key") or {})
    return {
        "connections": connections,
        "ok": report["messages_ok"],
        "failed": connections - report["messages_ok"],
        "failures": failures,
        "connect_failures": report["connect_failures"],
        "elapsed_s": report["elapsed_seconds"],
        "connect_ms": {p: ms("connect", p) for p in ("p50", "p90", "p99", "p99.9", "max")},
        "greeting_ms": {p: ms("greeting", p) for p in ("p50", "p90", "p99", "p99.9", "max")},
        "listen_overflows": report["listen_overflows_delta"],
        "listen_drops": report["listen_drops_delta"],
    }


def hold_idle(binary, port, connections, seconds, log_path):
    """ringmx-bench --hold-idle: N sessions opened, EHLO'd and left idle for
    the duration. Returns the Popen; the caller samples the server meanwhile."""
    argv = [binary, "--target", f"{HOST}:{port}", "--hold-idle", str(connections),
            "--duration", f"{int(seconds)}s", "--reply-timeout", "30s"]
    log = open(log_path, "ab")
    log.write(("$ " + " ".join(argv) + "\n").encode())
    log.flush()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    return proc
