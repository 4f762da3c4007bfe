#!/usr/bin/env python3
"""A small SMTP/LMTP server for ringmx-bench's TLS and BDAT tests.

smtp-sink offers neither STARTTLS nor CHUNKING, so this one does: EHLO/LHLO
with PIPELINING, CHUNKING and (in plain mode) STARTTLS, MAIL, RCPT, DATA,
BDAT, RSET, NOOP, QUIT, and implicit TLS. Pipelined commands are read in
order from the stream. It counts accepted messages and the SNI names it was
offered and the client addresses it saw, and writes "messages=N sni=a,b
peers=x,y" to --report when it gets SIGTERM.

usage: tls_smtp_server.py --port P --cert C --key K --mode starttls|implicit --report FILE
"""
import argparse
import asyncio
import signal
import ssl

MESSAGES = 0
SNI = set()
PEERS = set()


async def session(reader, writer, args, tls_context):
    global MESSAGES
    PEERS.add(writer.get_extra_info("peername")[0])
    tls_on = args.mode == "implicit"
    lmtp = args.lmtp
    rcpts = 0

    async def reply(text):
        writer.write(text.encode())
        await writer.drain()

    await reply("220 tls-test ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line.endswith(b"\r\n"):
            break  # end of stream, or a bare LF: either way the session is over
        verb = line[:4].upper().decode(errors="replace")
        if verb in ("EHLO", "LHLO"):
            caps = ["tls-test", "PIPELINING", "CHUNKING", "8BITMIME"]
            if not tls_on:
                caps.append("STARTTLS")
            await reply("".join(f"250-{c}\r\n" for c in caps[:-1]) + f"250 {caps[-1]}\r\n")
        elif verb == "STAR" and not tls_on:
            await reply("220 2.0.0 go ahead\r\n")
            await writer.start_tls(tls_context)
            tls_on = True
        elif verb == "MAIL":
            rcpts = 0
            await reply("250 2.1.0 Ok\r\n")
        elif verb == "RCPT":
            rcpts += 1
            await reply("250 2.1.5 Ok\r\n")
        elif verb == "DATA":
            await reply("354 go ahead\r\n")
            while (await reader.readline()) != b".\r\n":
                pass
            MESSAGES += 1
            await reply("250 2.0.0 Ok\r\n" * (rcpts if lmtp else 1))
        elif verb == "BDAT":
            parts = line.decode().split()
            await reader.readexactly(int(parts[1]))
            if len(parts) > 2 and parts[2].upper() == "LAST":
                MESSAGES += 1
                await reply("250 2.0.0 Ok\r\n" * (rcpts if lmtp else 1))
            else:
                await reply("250 2.0.0 chunk Ok\r\n")
        elif verb == "QUIT":
            await reply("221 2.0.0 Bye\r\n")
            break
        else:
            await reply("250 Ok\r\n")
    writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mode", choices=["starttls", "implicit"], required=True)
    p.add_argument("--lmtp", action="store_true")
    p.add_argument("--report", required=True)
    args = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)

    def on_sni(sslobj, name, _ctx):
        SNI.add(name or "")

    ctx.sni_callback = on_sni
    server = await asyncio.start_server(
        lambda r, w: session(r, w, args, ctx), "127.0.0.1", args.port,
        ssl=ctx if args.mode == "implicit" else None, backlog=512)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    with open(args.report, "w") as f:
        f.write(f"messages={MESSAGES} sni={','.join(sorted(SNI))} "
                f"peers={','.join(sorted(PEERS))}\n")


asyncio.run(main())
