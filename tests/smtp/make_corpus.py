#!/usr/bin/env python3
"""Writes the fuzz_smtp seed corpus (tests/smtp/corpus/): real conversations
encoded as fuzzer events. See fuzz_smtp.cc for the encoding."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

def feed(stream: bytes) -> bytes:
    out = bytearray()
    while stream:
        n = min(125, len(stream))
        n -= (n - 1) % 4  # sizes are 4k+1
        out.append((n - 1) // 4)
        out += stream[:n]
        stream = stream[n:]
    return bytes(out)

COMMIT = bytes([0xA0])  # committed
NO_SPACE = bytes([0xA1])
TLS_DONE = bytes([0xC0])
SHUTDOWN = bytes([0xE2])

TX = b"MAIL FROM:<a@example.org> SIZE=100\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
SEEDS = {
    "smtp": bytes([0]) + feed(b"EHLO c\r\n" + TX + b"Received: x\r\n\r\n..x\r\nbare\nlf\r\n.\r\nQUIT\r\n") + COMMIT,
    "smuggle": bytes([2]) + feed(b"EHLO c\r\n" + TX + b"x\n.\nMAIL FROM:<e@f.g>\r\n\r.\r\n.\r\n") + NO_SPACE,
    "bdat": bytes([0]) + feed(b"EHLO c\r\nMAIL FROM:<> BODY=BINARYMIME\r\nRCPT TO:<b@example.com>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\nRSET\r\n") + COMMIT,
    "lmtp": bytes([1]) + feed(b"LHLO c\r\n" + TX.replace(b"DATA", b"RCPT TO:<c@example.com>\r\nDATA") + b"hi\r\n.\r\n") + COMMIT,
    "starttls": bytes([4]) + feed(b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<x@y.z>\r\n") + TLS_DONE + feed(b"EHLO c\r\n" + TX + b".\r\n") + COMMIT,
    "limits": bytes([32 | 64]) + feed(b"EHLO c\r\n" + TX + b"x" * 1100 + b"\r\n.\r\n" + b"NOOP " + b"y" * 600 + b"\r\nRCPT TO:<z@example.org>\r\n") + SHUTDOWN,
}

for name, data in SEEDS.items():
    with open(os.path.join(HERE, "corpus", name), "wb") as f:
        f.write(data)
