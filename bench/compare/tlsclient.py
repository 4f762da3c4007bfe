#!/usr/bin/env python3
"""A STARTTLS load client on libcrypto (Python's ssl is OpenSSL), so that the
client's AES-GCM and key exchange are not the limit the way ringmx-bench's
wolfSSL (no AES-NI in Debian's build) is.

    tlsclient.py --port P --procs 4 --sessions 2000 --per-session 0   # handshakes
    tlsclient.py --port P --procs 1 --sessions 1 --per-session 20 --size 10M   # bulk

Each worker process opens its share of --sessions one after another:
greeting, EHLO (must offer STARTTLS), STARTTLS, TLS handshake (certificate
not verified: the bench certificates are self-signed), then --per-session
messages (EHLO, MAIL, RCPT, DATA, body, every reply checked), then QUIT and
its 221 over TLS, which also proves the server finished its side of the
handshake. --per-session 0 measures handshakes only.

The body phase of each message is timed from the first body byte sent to
the 250 after the final dot, so MB/s of the body phase excludes the
handshake and the envelope. --json FILE gets the totals; the exit status is
1 if any session failed (the errors are counted by kind and printed).
"""

import argparse
import json
import multiprocessing
import os
import socket
import ssl
import sys
import time

HOST = "127.0.0.1"
DOMAIN = "example.test"


class ReplyError(Exception):
    pass


class Conn:
    """Reads SMTP replies from a plain or TLS socket, keeping what follows."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def reply(self, want):
        """The next complete reply; raises unless its code starts with want."""
        lines = []
        while True:
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ReplyError(f"closed waiting for {want}")
                self.buf += chunk
                continue
            line, self.buf = self.buf[:nl], self.buf[nl + 2:]
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                break
        if not lines[-1].startswith(want.encode()):
            raise ReplyError(f"{lines[-1][:3].decode(errors='replace')} for {want}")
        return lines


class MemoryTls:
    """TLS on memory BIOs over a plain socket, so that a body leaves in
    sends of write_size bytes (many records each) rather than one send per
    16 KiB record as SSLSocket.sendall does: a sender that writes in big
    pieces, like a kTLS sender or an MTA with a big output buffer."""

    def __init__(self, ctx, sock, server_hostname, write_size):
        self.sock, self.write_size = sock, write_size
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        self._flush()

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ssl.SSLEOFError("closed during TLS")
        self.incoming.write(data)

    def sendall(self, data):
        view = memoryview(data)
        for start in range(0, len(view), self.write_size):
            self.obj.write(view[start:start + self.write_size])
            self._flush()

    def recv(self, size):
        while True:
            try:
                return self.obj.read(size)
            except ssl.SSLWantReadError:
                self._fill()
            except ssl.SSLZeroReturnError:
                return b""

    def cipher(self):
        return self.obj.cipher()

    def version(self):
        return self.obj.version()

    def close(self):
        self.sock.close()


def make_body(size):
    """About `size` bytes: headers, then 76-character lines, then the dot.
    No line starts with '.', so no dot-stuffing is needed."""
    head = (f"From: <sender@{DOMAIN}>\r\nTo: <rcpt@{DOMAIN}>\r\n"
            f"Subject: tls bulk\r\nMessage-ID: <tls@{DOMAIN}>\r\n\r\n").encode()
    line = (b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab"
            b"cd\r\n")
    lines = max(1, (size - len(head)) // len(line))
    return head + line * lines + b".\r\n"


def context(group=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if group:
        # The only group offered, so the key share is on it (OpenSSL's default
        # order puts X25519 first; a server takes the share it is sent).
        ctx.set_ecdh_curve(group)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    # No session is ever resumed (wrap_socket gets no session=), so every
    # handshake is a full one; no ticket is asked for either.
    ctx.options |= ssl.OP_NO_TICKET
    return ctx


def session(ctx, port, per_session, body, stats, plain=False, write_size=0):
    sock = socket.create_connection((HOST, port), timeout=60)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(sock)
        c.reply("220")
        sock.sendall(f"EHLO client.{DOMAIN}\r\n".encode())
        ehlo = c.reply("250")
        if plain:
            tls = sock  # the baseline: the same session without TLS
        else:
            if not any(l[4:].upper().startswith(b"STARTTLS") for l in ehlo):
                raise ReplyError("no STARTTLS in EHLO")
            sock.sendall(b"STARTTLS\r\n")
            c.reply("220")
            if c.buf:
                raise ReplyError("bytes after the STARTTLS reply")
            if write_size:
                tls = MemoryTls(ctx, sock, f"mx.{DOMAIN}", write_size)
            else:
                tls = ctx.wrap_socket(sock, server_hostname=f"mx.{DOMAIN}")
            sock = tls
            stats["cipher"] = tls.cipher()[0]
            stats["version"] = tls.version()
            c = Conn(tls)
            if per_session:
                tls.sendall(f"EHLO client.{DOMAIN}\r\n".encode())
                c.reply("250")
        for _ in range(per_session):
            tls.sendall(f"MAIL FROM:<sender@{DOMAIN}>\r\nRCPT TO:<rcpt@{DOMAIN}>\r\n"
                        "DATA\r\n".encode())
            c.reply("250")
            c.reply("250")
            c.reply("354")
            t0 = time.perf_counter()
            tls.sendall(body)
            c.reply("250")
            stats["body_seconds"] += time.perf_counter() - t0
            stats["messages"] += 1
            stats["body_bytes"] += len(body)
        tls.sendall(b"QUIT\r\n")
        c.reply("221")
        stats["sessions"] += 1
    finally:
        sock.close()


def worker(args, counts, queue):
    """Runs one session per entry of counts (its number of messages)."""
    ctx = context(args.group)
    body = make_body(args.size) if any(counts) else b""
    stats = {"sessions": 0, "messages": 0, "body_bytes": 0, "body_seconds": 0.0,
             "errors": {}, "cipher": None, "version": None}
    for per_session in counts:
        try:
            session(ctx, args.port, per_session, body, stats, args.plain, args.write_size)
        except (OSError, ReplyError, ssl.SSLError) as e:
            key = f"{type(e).__name__}: {e}"[:120]
            stats["errors"][key] = stats["errors"].get(key, 0) + 1
    queue.put(stats)


def parse_size(text):
    units = {"k": 1024, "m": 1024 * 1024}
    if text[-1].lower() in units:
        return int(float(text[:-1]) * units[text[-1].lower()])
    return int(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--procs", type=int, default=1, help="worker processes (sessions at once)")
    ap.add_argument("--sessions", type=int, required=True, help="sessions in all")
    ap.add_argument("--per-session", type=int, default=0, help="messages per session")
    ap.add_argument("--messages", type=int,
                    help="messages in all, split over the sessions (instead of --per-session)")
    ap.add_argument("--size", type=parse_size, default=1024, help="message bytes (10M, 1k, ...)")
    ap.add_argument("--group", help="offer only this key-exchange group (prime256v1, X25519); "
                    "default: OpenSSL's list, X25519 first")
    ap.add_argument("--plain", action="store_true",
                    help="no STARTTLS: the same sessions in clear, for a baseline")
    ap.add_argument("--write-size", type=parse_size, default=0,
                    help="after STARTTLS, encrypt into memory and send this many bytes of "
                    "plaintext per send (256k, ...); default 0: one send per record (SSLSocket)")
    ap.add_argument("--json", help="write the totals here")
    args = ap.parse_args()
    if args.messages is not None:  # split as evenly as the sessions allow
        counts = [args.messages // args.sessions + (i < args.messages % args.sessions)
                  for i in range(args.sessions)]
    else:
        counts = [args.per_session] * args.sessions
    procs = max(1, min(args.procs, args.sessions))
    queue = multiprocessing.Queue()
    start = time.monotonic()
    workers = [multiprocessing.Process(target=worker, args=(args, counts[i::procs], queue))
               for i in range(procs)]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    seconds = time.monotonic() - start
    total = {"sessions": 0, "messages": 0, "body_bytes": 0, "body_seconds": 0.0, "errors": {}}
    for r in results:
        for k in ("sessions", "messages", "body_bytes", "body_seconds"):
            total[k] += r[k]
        for k, v in r["errors"].items():
            total["errors"][k] = total["errors"].get(k, 0) + v
        total["cipher"] = total.get("cipher") or r["cipher"]
        total["version"] = total.get("version") or r["version"]
    total["seconds"] = seconds
    total["sessions_per_second"] = total["sessions"] / seconds
    # Body phase: bytes over the summed per-message body time of one stream;
    # with several processes the streams overlap, so also the wall-clock rate.
    total["body_mb_per_second"] = (total["body_bytes"] / total["body_seconds"] / 1e6
                                   if total["body_seconds"] else None)
    total["wall_mb_per_second"] = total["body_bytes"] / seconds / 1e6
    usage = os.times()
    total["client_cpu_seconds"] = (usage.children_user + usage.children_system
                                   + usage.user + usage.system)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(total, f)
    print(json.dumps(total))
    wanted = sum(counts)
    return 1 if total["errors"] or total["sessions"] != args.sessions or \
        total["messages"] != wanted else 0


if __name__ == "__main__":
    sys.exit(main())
