"""Medians, ratios, the Markdown table, the gnuplot chart and RESULTS.md."""

import os
import platform
import statistics
import subprocess

# Each ringmx mode against the peer doing the same work.
PEER_OF = {"ringmx-discard": "smtp-sink", "ringmx-spool": "postfix"}
SERVER_ORDER = ["smtp-sink", "ringmx-discard", "postfix", "ringmx-spool"]
CLIENT_ORDER = ["smtp-source", "ringmx-bench", "tlsclient"]
CLIENT_LABEL = {"smtp-source": "src", "ringmx-bench": "rbench", "tlsclient": "pyssl"}


def summarize(rows):
    """rows: one dict per measurement. Returns {(workload, client, server): stats}."""
    groups = {}
    for r in rows:
        groups.setdefault((r["workload"], r["client"], r["server"]), []).append(r)
    summary = {}
    for key, runs in groups.items():
        good = [r for r in runs if r["ok"]]
        summary[key] = {
            "runs": len(runs),
            "ok": len(good),
            "errors": sorted({r["error"] for r in runs if not r["ok"]}),
            "rate": statistics.median(r["rate"] for r in good) if good else None,
            "cpu_us": statistics.median(r["cpu_us"] for r in good) if good else None,
            "client_cpu_pct": statistics.median(r["client_cpu_pct"] for r in good) if good else None,
            "rates": [round(r["rate"]) for r in good],
        }
    return summary


def _fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}x"


def table(summary, workloads):
    lines = [
        "| workload | client | server | msg/s (median) | MB/s | server CPU µs/msg | client CPU | "
        "msg/s vs peer | CPU/msg vs peer | runs ok |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in workloads:
        for client in CLIENT_ORDER:
            for server in SERVER_ORDER:
                s = summary.get((w.name, client, server))
                if not s:
                    continue
                peer = summary.get((w.name, client, PEER_OF.get(server)))
                rate_ratio = _ratio(s["rate"], peer["rate"]) if peer else ""
                cpu_ratio = _ratio(s["cpu_us"], peer["cpu_us"]) if peer else ""
                client_cpu = "–" if s["client_cpu_pct"] is None else f"{s['client_cpu_pct']:.0f}%"
                mbps = None if s["rate"] is None else s["rate"] * w.size / 1e6
                lines.append(
                    f"| {w.name} | {client} | {server} | {_fmt(s['rate'])} | {_fmt(mbps, 1)} | "
                    f"{_fmt(s['cpu_us'], 1)} | {client_cpu} | {rate_ratio} | {cpu_ratio} | "
                    f"{s['ok']}/{s['runs']} |")
    return "\n".join(lines)


def targets(summary, idle):
    """Issue 8's targets (reported, not asserted), each with its figures."""
    def ratio(workload, client, key, server):
        a = summary.get((workload, client, server))
        b = summary.get((workload, client, PEER_OF[server]))
        if not a or not b or a[key] is None or b[key] is None or not b[key]:
            return None
        return a[key] / b[key]

    lines = ["| target | measured | met |", "|---|---|---|"]

    def row(text, value, good, unit="x"):
        shown = "not measured" if value is None else f"{value:.2f}{unit}"
        verdict = "–" if value is None else ("yes" if good(value) else "**no**")
        lines.append(f"| {text} | {shown} | {verdict} |")

    row("ringmx-bench, 1k-reuse: ringmx discard msg/s ≥ 2x smtp-sink",
        ratio("1k-reuse", "ringmx-bench", "rate", "ringmx-discard"), lambda v: v >= 2)
    row("ringmx-bench, 1k-reuse: ringmx durable msg/s ≥ 20x Postfix",
        ratio("1k-reuse", "ringmx-bench", "rate", "ringmx-spool"), lambda v: v >= 20)
    for w in ("1k-single", "1k-reuse"):
        row(f"smtp-source, {w}: ringmx discard CPU/msg ≤ 0.5x smtp-sink",
            ratio(w, "smtp-source", "cpu_us", "ringmx-discard"), lambda v: v <= 0.5)
    for e in idle:
        if e.get("server") == "ringmx-discard" and "bytes_per_connection" in e:
            row(f"ringmx RSS per idle connection < 4 KiB ({e['held']:,} held)",
                e["bytes_per_connection"] / 1024, lambda v: v < 4, unit=" KiB")
    return "\n".join(lines)


def chart(summary, workloads, out_dir, gp_script):
    """Two panels, grouped bars per workload and client: msg/s and CPU/msg."""
    data = os.path.join(out_dir, "chart.dat")
    with open(data, "w") as f:
        f.write("label " + " ".join(SERVER_ORDER) + " " + " ".join(SERVER_ORDER) + "\n")
        for w in workloads:
            for client in CLIENT_ORDER:
                stats = [summary.get((w.name, client, s)) for s in SERVER_ORDER]
                if not any(st and st["rate"] for st in stats):
                    continue
                label = f"{w.name}\\n({CLIENT_LABEL[client]})"
                rates = [_num(st, "rate") for st in stats]
                cpus = [_num(st, "cpu_us") for st in stats]
                f.write(f'"{label}" ' + " ".join(rates + cpus) + "\n")
    png = os.path.join(out_dir, "results.png")
    subprocess.run(["gnuplot", "-e", f"datafile='{data}'; outfile='{png}'", gp_script],
                   check=True, capture_output=True)
    return png


def _num(stats, key):
    if not stats or stats[key] is None:
        return "-"
    return f"{stats[key]:.3f}"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "cpu": model,
        "postfix": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "postfix"],
                                  capture_output=True, text=True).stdout or "?",
    }


def burst_table(bursts):
    lines = [
        "| server | backlog | client | sessions ok | failed | connect p50 / p90 / p99 / max (ms) | "
        "220 greeting p50 / p99 (ms) | ListenOverflows Δ |",
        "|---|---:|---|---:|---|---|---|---:|",
    ]
    for b in bursts:
        r = b["result"]
        if r is None:
            lines.append(f"| {b['server']} | {b['backlog']} | {b['client']} | – | – | "
                         f"{b.get('error', '')} | | |")
            continue
        c, g = r["connect_ms"], r["greeting_ms"]
        failed = f"{r['failed']}" + (f" ({', '.join(f'{k} {v}' for k, v in r['failures'].items())})"
                                     if r["failures"] else "")
        lines.append(
            f"| {b['server']} | {b['backlog']} | {b['client']} | {r['ok']} | {failed} | "
            f"{c['p50']} / {c['p90']} / {c['p99']} / {c['max']} | {g['p50']} / {g['p99']} | "
            f"{r['listen_overflows']} |")
    return "\n".join(lines)


METHOD = """\
## How it is measured

- One command, `bench/compare/run` (root; loopback only; everything it starts is
  stopped on exit, /etc/postfix and port 25 untouched). Each measurement starts
  a fresh server, reads the CPU time (utime+stime, plus cutime+cstime of reaped
  children) of the server's whole process tree from `/proc/<pid>/stat` before
  and after one client run, then stops it. msg/s = messages / client wall time.
- Rounds alternate peer and ringmx (A/B/A/B); every figure is the median of
  the rounds. "vs peer" is ringmx divided by its peer measured in the same run:
  ringmx `delivery.mode = "discard"` against **smtp-sink** (`-u nobody`,
  backlog 4096), ringmx with its durable spool against **Postfix**.
- Postfix is a private instance (own `config_directory`, `queue_directory`,
  `data_directory` in a temporary directory, `inet_interfaces = loopback-only`,
  chroot off, logging to a file through postlogd). Mail for `example.test` is
  accepted, `cleanup` writes the queue file and fsyncs it before `smtpd` answers
  250 (that is Postfix's durability point), and `smtpd_data_restrictions =
  check_client_access static:HOLD` parks it in the hold queue, so the queue
  manager never delivers it. Postfix therefore does receive + queue write +
  fsync and no delivery work, as ringmx's spool does; every 250 is checked
  against the count of queue files. All transports are `discard:` as a second
  guard: nothing can leave the machine.
- Workloads: `1k-single` 1 KiB, one message per session; `1k-reuse` 1 KiB,
  sessions reused (smtp-source `-d`); `100k` 100 KiB, reused; `5rcpt` 1 KiB,
  5 recipients, reused; `lmtp` 1 KiB over LMTP, reused; `starttls` 1 KiB,
  STARTTLS then one message per session (a TLS 1.3 handshake per message,
  ECDSA P-256 certificate); `10m-tls` 10 MiB messages over STARTTLS, 6
  sessions reused. 50 sessions; 20,000 messages (4,000 for 100k and
  starttls, 60 for 10m-tls) at `--scale 1`.
- Clients: Postfix's `smtp-source` (one thread per session, no pipelining, no
  TLS), `ringmx-bench` (io_uring, pipelining on; its TLS is Debian's wolfSSL,
  without AES-NI) when it is built, and for the STARTTLS workloads
  `tlsclient` (`bench/compare/tlsclient.py`: Python's ssl, i.e. OpenSSL with
  AES-NI; 8 processes for one-message sessions, one per session for 10m-tls;
  every reply checked). "client CPU" is the client's own CPU use during the
  run (100% = one core): near 100% on this 2-core machine the client, not the
  server, is the limit.
"""


def idle_table(idle):
    lines = ["| server | idle sessions held | RSS before (KiB) | RSS held (KiB) | "
             "bytes per connection |", "|---|---:|---:|---:|---:|"]
    for e in idle:
        if "error" in e:
            lines.append(f"| {e['server']} | – | – | – | {e['error']} |")
        else:
            lines.append(f"| {e['server']} | {e['held']:,} of {e['connections']:,} | "
                         f"{e['rss_before_kib']:,} | {e['rss_held_kib']:,} | "
                         f"{e['bytes_per_connection']:,} |")
    return "\n".join(lines)


def results_md(info, summary, workloads, bursts, idle, missing, rows, chart_png):
    out = ["# ringmx benchmark results", ""]
    out.append(f"Latest run: {info['date']}, `{info['command']}`, {info['rounds']} rounds, "
               f"{info['minutes']} min.")
    out.append(f"Machine: {info['nproc']} CPUs ({info['cpu']}), Linux {info['kernel']}, "
               f"Postfix {info['postfix']} (Debian). Load average {info['loadavg_start']} at "
               f"the start and {info['loadavg_end']} at the end: the machine was shared with "
               "other builds, so read the ratios (same run, alternated) more than the "
               "absolute figures.")
    out.append("")
    out.append(f"Binaries: ringmx `{_rel(info['ringmx'])}`, ringmx-bench "
               f"`{_rel(info['ringmx_bench'])}` (run with `--pin on`), tree at commit "
               f"{info['commit']}.")
    out.append(f"ringmx's `server.connection-steering`: `{info.get('steering', 'cpu')}` for every "
               "client.")
    out.append("")
    if rows:
        out += ["## Targets of issue 8 (reported, not asserted)", "", targets(summary, idle), ""]
        out += ["## Messages per second and server CPU per message", "",
                table(summary, workloads), "", f"![chart]({chart_png})", ""]
    absent = list(missing)
    failed = [(k, s) for k, s in summary.items() if s["ok"] < s["runs"]]
    for (w, c, s), st in failed:
        absent.append((f"{w} / {c} / {s}", f"{st['runs'] - st['ok']} failed run(s): "
                       + "; ".join(st["errors"])))
    names = {w.name for w in workloads}
    tls = ", ".join(w.name for w in workloads if w.tls)
    if "lmtp" in names:
        absent.append(("lmtp / postfix", "Postfix has no LMTP server (its lmtp is a client)"))
    if tls:
        absent += [(f"{tls} / smtp-sink", "smtp-sink has no TLS; ringmx-discard runs them "
                    "for reference, without a peer"),
                   (f"{tls} / smtp-source", "smtp-source cannot STARTTLS: ringmx-bench and "
                    "tlsclient run them")]
    out += ["## Rows that are missing, and why", ""]
    out += [f"- {what}: {why}" for what, why in absent]
    out.append("")
    if bursts:
        out += ["## Backlog burst", "",
                f"{bursts[0]['result']['connections'] if bursts[0]['result'] else '2000'} "
                "simultaneous connects against one listener, by two clients: "
                "`bench/compare/burst.py` (Python asyncio; connect, read the 220, each "
                "connection held open until all are done) and `ringmx-bench --connections 2000 "
                "--messages 2000 --per-connection 1` (one full message per session); 15 s "
                "limit for connect and each reply) "
                "with backlog 16 and then 4096 (net.core.somaxconn = "
                f"{_read('/proc/sys/net/core/somaxconn')}, tcp_syncookies = "
                f"{_read('/proc/sys/net/ipv4/tcp_syncookies')}). When the accept queue is full "
                "Linux drops the SYN or the final ACK and counts a ListenOverflow; the client "
                "retries after 1 s, 3 s, ..., or sits \"connected\" without a greeting. "
                "ListenOverflows is namespace-wide: another program's overflows in the same "
                "second would count too. ringmx opens one SO_REUSEPORT socket per shard (2 "
                "here), each with the configured backlog, so `socket.backlog = 16` gives it "
                "2 x 16 queue slots; smtp-sink has one socket.", "",
                burst_table(bursts), ""]
    if idle:
        out += ["## Memory per idle connection", "",
                "`ringmx-bench --hold-idle N --duration T` opens N sessions, sends EHLO and "
                "keeps them idle; the server's resident memory (VmRSS of its process tree) is "
                "read before and while they are held. RSS is user-space memory: the kernel's "
                "socket memory is not in it.", "", idle_table(idle), ""]
    out.append(METHOD)
    return "\n".join(out)


# Sections of bench/RESULTS.md written by other scripts (the TLS figures of
# tls_measure.py): a --publish of this comparison keeps them as they are.
KEPT_SECTIONS = ("## TLS",)


def keep_sections(old_md, new_md):
    """new_md with every KEPT_SECTIONS section of old_md (heading to the next
    '## ' heading) put back before "## How it is measured"."""
    kept, take = [], False
    for line in old_md.splitlines():
        if line.startswith("## "):
            take = line.startswith(KEPT_SECTIONS)
        if take:
            kept.append(line)
    if not kept:
        return new_md
    block = "\n".join(kept).rstrip() + "\n\n"
    anchor = "## How it is measured"
    if anchor in new_md:
        return new_md.replace(anchor, block + anchor, 1)
    return new_md.rstrip() + "\n\n" + block


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "?"


def _rel(path):
    if not path:
        return "(not built)"
    return os.path.relpath(path, os.path.join(os.path.dirname(__file__), "..", ".."))
