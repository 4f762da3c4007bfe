#!/usr/bin/env bash
# Resident memory per idle connection: ringmx with N connections open, each
# greeted and then silent. Prints the server's VmRSS before and after and
# the difference per connection (user memory; the kernel's socket memory is
# not in RSS).
#
#   tools/measure-runtime-idle-memory.sh [BUILD_DIR] [N]     (default N = 20000)
#
# Needs RLIMIT_NOFILE above N for the server and the client: run as root
# (the script raises the hard limit) or with a hard limit already high enough.
set -euo pipefail

build=${1:-build-core}
n=${2:-20000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/core/ringmx"
[ -x "$bin" ] || bin="$root/$build/tests/core/ringmx_core_serve"
[ -x "$bin" ] || { echo "no ringmx binary under $root/$build (build it first)" >&2; exit 1; }
ulimit -Hn $((n * 2 + 1024)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -le $((n + 256)) ]; then
  # Without CAP_SYS_RESOURCE the hard limit cannot be raised: measure as
  # many connections as it permits.
  n=$(( $(ulimit -n) - 256 ))
  echo "# RLIMIT_NOFILE $(ulimit -n) (hard limit not raisable here): measuring $n connections" >&2
fi
work=$(mktemp -d /tmp/ringmx-idle-XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/ringmx.toml" <<TOML
[server]
shards = 0
hostname = "mx.measure"
max-connections = $((n + 1000))
[server.log]
level = "warn"
[server.listener.smtp]
bind = "127.0.0.1:$port"
[delivery]
mode = "discard"
[spool]
path = "$work/spool"
TOML
"$bin" --config "$work/ringmx.toml" 2>"$work/ringmx.log" &
server_pid=$!

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }

# The client connects N times, reads each greeting (so every session
# exists), reports, and holds the connections until told to close them.
python3 - "$port" "$n" "$work" "$server_pid" <<'PY'
import os, socket, sys, time
port, n, work, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
# Wait (bounded) until the server accepts.
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
# One connection opened and closed above: allocator and ring warm.
probe = socket.create_connection(("127.0.0.1", port)); probe.recv(512); probe.close()
time.sleep(0.5)
before = rss()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
    if len(socks) % 256 == 0:
        for t in socks[-256:]:
            assert t.recv(512).startswith(b"220")
for t in socks[len(socks) - len(socks) % 256:]:
    assert t.recv(512).startswith(b"220")
time.sleep(1.0)  # let the server finish its bookkeeping before reading RSS
after = rss()
print(f"connections={n} rss_before_kib={before} rss_after_kib={after} "
      f"per_connection_bytes={(after - before) * 1024 / n:.0f}")
for s in socks:
    s.close()
PY
