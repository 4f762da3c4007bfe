#!/usr/bin/env python3
"""A burst of simultaneous connects against one listener, to make the listen
backlog visible: connect latency percentiles, time to the 220 greeting,
failed connects, and the kernel's ListenOverflows delta for the burst.

When the accept queue is full Linux drops the SYN (ListenOverflows and
ListenDrops count it) and the client retries after 1 s, 3 s, 7 s: a backlog
too small shows as a connect p99 of one second or more, not as errors.

    bench/compare/burst.py --port 2525 [--connections 2000] [--timeout 15]
"""

import argparse
import asyncio
import errno
import json
import resource
import socket
import time

from procstat import tcp_ext


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def _one(loop, host, port, start_gate, timeout_s, held):
    await start_gate.wait()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    held.append(sock)  # kept open until every connect is done
    t0 = time.monotonic()
    phase = "connect"
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout_s)
        t1 = time.monotonic()
        phase = "greeting"
        data = b""
        while b"\n" not in data:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 512), timeout_s)
            if not chunk:
                return ("closed", t1 - t0, None)
            data += chunk
        if not data.startswith(b"220"):
            return ("refused:" + data[:3].decode(errors="replace"), t1 - t0, None)
        return ("ok", t1 - t0, time.monotonic() - t0)
    except asyncio.TimeoutError:
        return (f"{phase}-timeout", None, None)
    except OSError as e:
        return (f"{phase}-error:{errno.errorcode.get(e.errno, e.errno)}", None, None)


async def _burst(host, port, connections, timeout_s):
    loop = asyncio.get_running_loop()
    gate = asyncio.Event()
    held = []
    tasks = [asyncio.create_task(_one(loop, host, port, gate, timeout_s, held))
             for _ in range(connections)]
    await asyncio.sleep(0)
    overflows0, drops0 = tcp_ext("ListenOverflows"), tcp_ext("ListenDrops")
    started = time.monotonic()
    gate.set()
    results = await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    overflows1, drops1 = tcp_ext("ListenOverflows"), tcp_ext("ListenDrops")
    for sock in held:
        sock.close()
    return results, elapsed, overflows1 - overflows0, drops1 - drops0


def run(port, connections=2000, timeout_s=15.0, host="127.0.0.1"):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    results, elapsed, overflows, drops = asyncio.run(_burst(host, port, connections, timeout_s))
    connect = sorted(r[1] for r in results if r[1] is not None)
    greeting = sorted(r[2] for r in results if r[2] is not None)
    failures = {}
    for status, _, _ in results:
        if status != "ok":
            failures[status] = failures.get(status, 0) + 1
    ms = lambda v: None if v is None else round(v * 1000, 2)
    return {
        "connections": connections,
        "ok": connections - sum(failures.values()),
        "failed": sum(failures.values()),
        "failures": failures,
        "elapsed_s": round(elapsed, 3),
        "connect_ms": {f"p{p}": ms(percentile(connect, p)) for p in (50, 90, 99, 99.9)}
        | {"max": ms(connect[-1] if connect else None)},
        "greeting_ms": {f"p{p}": ms(percentile(greeting, p)) for p in (50, 90, 99, 99.9)}
        | {"max": ms(greeting[-1] if greeting else None)},
        "listen_overflows": overflows,
        "listen_drops": drops,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=15.0)
    args = ap.parse_args()
    print(json.dumps(run(args.port, args.connections, args.timeout, args.host), indent=2))


if __name__ == "__main__":
    main()
