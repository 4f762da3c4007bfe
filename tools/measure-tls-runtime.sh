#!/bin/sh
# TLS of issue 6, ringmx against Postfix on this machine in one run:
#   handshakes: sessions/s of EHLO, STARTTLS, TLS 1.3 handshake, QUIT, with an
#     ECDSA P-256 certificate (client's default groups, and P-256 only) and an
#     RSA 2048 one, and the same sessions without TLS;
#   bulk: MB/s of the body phase of 10 MiB messages over STARTTLS in one
#     session, ringmx with its durable spool and in discard mode, with the
#     client sending one record per send (bulk-tls) or 256 KiB of records per
#     send (bulk-tls-256k), and the same without TLS; one untimed 10 MiB
#     message first on every server;
#   libcrypto's AES-128/256-GCM on one core (`openssl speed`), every round.
# Server CPU per session and per MiB from /proc (whole process tree), rounds
# alternated (order reversed every round), medians. The client is
# bench/compare/tlsclient.py (Python's ssl = OpenSSL with AES-NI), not
# ringmx-bench, whose wolfSSL has no AES-NI. Needs root (Postfix's master).
#
# Usage: tools/measure-tls-runtime.sh [BUILD_DIR] [ROUNDS] [tls_measure.py options...]
#   e.g. tools/measure-tls-runtime.sh build 5 --perf     (perf record ringmx in round 1)
# Writes bench/compare/out/tls-<UTC time>/TLS.md (tables), runs.jsonl, perf-*.txt.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-3}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
echo "uptime: $(uptime)"
exec python3 "$root/bench/compare/tls_measure.py" --ringmx "$build/core/ringmx" \
  --rounds "$rounds" "$@"
