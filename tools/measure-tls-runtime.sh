#!/bin/sh
# Measures TLS in the running ringmx (issue 6), all in one run so ratios
# compare like with like:
#   handshakes: sessions/s over implicit TLS 1.3 (one handshake, one 1 KiB
#     message, QUIT per session), ECDSA P-256 and RSA 2048 certificates,
#     against the same sessions without TLS;
#   bulk: MB/s of 10 MiB messages over STARTTLS (sessions kept), against the
#     same without TLS, and libcrypto's AES-128-GCM on one core
#     (`openssl speed`), the issue's yardstick.
# The server's CPU time is printed per series: on a shared machine the
# client (ringmx-bench, whose wolfSSL has no AES-NI) and other load can
# cap the rate, and CPU seconds per byte say what the server itself costs.
# Medians of RUNS runs. Usage: tools/measure-tls-runtime.sh [BUILD_DIR] [RUNS]
# BUILD_DIR has tests/core/ringmx_core_serve; ringmx-bench is taken from
# build-loadgen (override with BENCH=path).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build-tlsrt}" && pwd)
runs=${2:-3}
serve=$build/tests/core/ringmx_core_serve
bench=${BENCH:-$root/build-loadgen/bench/loadgen/ringmx-bench}
work=$(mktemp -d /tmp/ringmx-tls-measure.XXXXXX)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key \
  -out ec.pem -subj /CN=mx.test -days 2 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem -subj /CN=mx.test \
  -days 2 2>/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p_plain=$(port); p_start=$(port); p_ec=$(port); p_rsa=$(port)
cat > ringmx.toml <<TOML
[server]
shards = 2
hostname = "mx.test"
[server.listener.plain]
bind = "127.0.0.1:$p_plain"
[server.listener.starttls]
bind = "127.0.0.1:$p_start"
tls.enable = true
tls.certificate = "ec"
[server.listener.ec]
bind = "127.0.0.1:$p_ec"
tls.implicit = true
tls.certificate = "ec"
tls.protocols = ["TLSv1.3"]
[server.listener.rsa]
bind = "127.0.0.1:$p_rsa"
tls.implicit = true
tls.certificate = "rsa"
tls.protocols = ["TLSv1.3"]
[certificate.ec]
cert = "file://ec.pem"
private-key = "file://ec.key"
[certificate.rsa]
cert = "file://rsa.pem"
private-key = "file://rsa.key"
[spool]
path = "spool"
TOML
"$serve" --config ringmx.toml > server.log 2>&1 &
pid=$!
i=0
until grep -q 'event=ready' server.log; do
  i=$((i + 1)); [ $i -lt 100 ] || { cat server.log; exit 1; }
  sleep 0.1  # startup poll in a script, not a test
done
grep -o 'event=tls.ktls.*' server.log

# One ringmx-bench run; prints FIELD of its JSON.
one() { field=$1; shift
  "$bench" "$@" --json r.json > /dev/null 2>&1 || true
  python3 -c "import json,sys; print(json.load(open('r.json'))['$field'])"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# The server's CPU seconds so far (user+system, all shards), from /proc.
cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$pid/stat"; }
series() { label=$1; field=$2; shift 2
  c0=$(cpu)
  v=$(for r in $(seq "$runs"); do one "$field" "$@"; done | median)
  c1=$(cpu)
  printf '%-44s %10s   (server CPU %s s over %s runs)\n' "$label" "$v" \
    "$(python3 -c "print(round($c1 - $c0, 2))")" "$runs"; echo "$v" > "$(echo "$label" | tr -c 'A-Za-z0-9\n' _).v"; }

sess="--messages 3000 --connections 32 --per-connection 1 --size 1k"
series "sessions/s plain (baseline)" messages_per_second --target 127.0.0.1:$p_plain $sess
series "sessions/s implicit TLS1.3 ECDSA P-256" messages_per_second --target 127.0.0.1:$p_ec --tls implicit $sess
series "sessions/s implicit TLS1.3 RSA 2048" messages_per_second --target 127.0.0.1:$p_rsa --tls implicit $sess
bulk="--messages 60 --connections 2 --per-connection 0 --size 10M"
series "MB/s 10 MiB plain (baseline)" megabytes_per_second --target 127.0.0.1:$p_plain $bulk
series "MB/s 10 MiB STARTTLS" megabytes_per_second --target 127.0.0.1:$p_start --tls starttls $bulk
aes=$(openssl speed -evp aes-128-gcm -seconds 2 -bytes 16384 2>/dev/null | awk '/^AES-128-GCM|^aes-128-gcm/ {print $NF}' | tr -d k)
printf '%-44s %10s\n' "libcrypto AES-128-GCM 16 KiB, 1 core, MB/s" "$(python3 -c "print(round($aes*1000/1e6))")"
python3 - <<PY
import re
r = lambda n: float(open(re.sub(r"[^A-Za-z0-9]", "_", n) + ".v").read())
print("ratio ECDSA/plain sessions: %.2f" % (r("sessions/s implicit TLS1.3 ECDSA P-256") / r("sessions/s plain (baseline)")))
print("ratio RSA/plain sessions:   %.2f" % (r("sessions/s implicit TLS1.3 RSA 2048") / r("sessions/s plain (baseline)")))
print("ratio STARTTLS/plain bulk:  %.2f" % (r("MB/s 10 MiB STARTTLS") / r("MB/s 10 MiB plain (baseline)")))
PY
grep -c 'event=tls.handshake_failed' server.log | sed 's/^/handshake failures in log: /'
