#!/usr/bin/env bash
# Throughput and server CPU per message: ringmx (delivery.mode = discard)
# against Postfix's smtp-sink, both driven by smtp-source in the same run.
#
#   [RINGMX_SHARDS=N] [RINGMX_STEERING=cpu|hash] tools/measure-runtime-throughput.sh [BUILD_DIR] [RUNS]
#
# For each server and each mode (one message per connection; -d: connections
# reused), RUNS runs (default 3) of `smtp-source -s 50 -m 20000 -l 1024`.
# Prints, per run and as medians: messages/s (wall clock of smtp-source) and
# server CPU microseconds per message (utime+stime from /proc/<pid>/stat,
# read before and after), then the ringmx/smtp-sink ratios.
set -euo pipefail

build=${1:-build-core}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/core/ringmx"
[ -x "$bin" ] || bin="$root/$build/tests/core/ringmx_core_serve"
[ -x "$bin" ] || { echo "no ringmx binary under $root/$build (build it first)" >&2; exit 1; }
sessions=50 messages=20000 size=1024
tck=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/ringmx-measure-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_port() {  # bounded: until something accepts on the port
  for _ in $(seq 1 200); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
    python3 -c 'import select; select.select([],[],[],0.05)'
  done
  return 1
}

# RINGMX_SHARDS: server.shards for ringmx (0 = one per CPU). On a 2-CPU
# machine that also runs the client, 1 leaves a CPU to smtp-source.
shards=${RINGMX_SHARDS:-0}
# RINGMX_STEERING: server.connection-steering (default cpu). smtp-source is one
# process: with "cpu" its connections go to the shard on its CPU.
steering=${RINGMX_STEERING:-cpu}
ringmx_port=$(free_port)
cat > "$work/ringmx.toml" <<TOML
[server]
shards = $shards
connection-steering = "$steering"
hostname = "mx.measure"
max-connections = 20000
[server.log]
level = "warn"
[server.listener.smtp]
bind = "127.0.0.1:$ringmx_port"
[session.data.limits]
messages = 100000  # -d sends 400 messages per connection
[delivery]
mode = "discard"
[spool]
path = "$work/spool"
TOML
"$bin" --config "$work/ringmx.toml" 2>"$work/ringmx.log" &
ringmx_pid=$!
pids+=("$ringmx_pid")

sink_port=$(free_port)
sink_user=()
[ "$(id -u)" = 0 ] && sink_user=(-u nobody)  # smtp-sink refuses to run as root
smtp-sink "${sink_user[@]}" "127.0.0.1:$sink_port" 1024 &
sink_pid=$!
pids+=("$sink_pid")

wait_port "$ringmx_port" || { cat "$work/ringmx.log"; exit 1; }
wait_port "$sink_port"

# One measurement: prints "msgs_per_s cpu_us_per_msg".
measure() {  # pid port extra-flags
  local pid=$1 port=$2 flags=$3
  local c0 c1 t0 t1
  c0=$(cpu_ticks "$pid")
  t0=$(date +%s.%N)
  smtp-source $flags -s $sessions -m $messages -l $size -f from@measure.test -t to@mx.measure \
    "127.0.0.1:$port" >/dev/null
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "$pid")
  awk -v m=$messages -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v tck="$tck" \
    'BEGIN { printf "%.0f %.2f\n", m / (t1 - t0), (c1 - c0) / tck * 1e6 / m }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "# smtp-source -s $sessions -m $messages -l $size; $runs runs each; $(nproc) CPUs; ringmx shards = $shards (0 = CPUs), discard, log level warn"
printf "%-10s %-16s %12s %16s\n" server mode msgs_per_s cpu_us_per_msg
for mode in "per-connection" "reuse(-d)"; do
  flags=""
  [ "$mode" = "reuse(-d)" ] && flags="-d"
  for server in ringmx smtp-sink; do
    if [ $server = ringmx ]; then pid=$ringmx_pid port=$ringmx_port; else pid=$sink_pid port=$sink_port; fi
    : > "$work/$server-$mode"
    for _ in $(seq 1 "$runs"); do
      r=$(measure "$pid" "$port" "$flags")
      echo "$r" >> "$work/$server-$mode"
      printf "%-10s %-16s %12s %16s\n" $server "$mode" $r
    done
  done
done
echo
echo "# medians and ratios (ringmx / smtp-sink)"
printf "%-16s %14s %14s %10s %16s %16s %10s\n" mode ringmx_msg/s sink_msg/s ratio ringmx_us/msg sink_us/msg ratio
for mode in "per-connection" "reuse(-d)"; do
  rm_=$(awk '{print $1}' "$work/ringmx-$mode" | median)
  sm_=$(awk '{print $1}' "$work/smtp-sink-$mode" | median)
  rc_=$(awk '{print $2}' "$work/ringmx-$mode" | median)
  sc_=$(awk '{print $2}' "$work/smtp-sink-$mode" | median)
  awk -v mode="$mode" -v rm="$rm_" -v sm="$sm_" -v rc="$rc_" -v sc="$sc_" \
    'BEGIN { printf "%-16s %14.0f %14.0f %10.2f %16.2f %16.2f %10.2f\n", mode, rm, sm, rm / sm, rc, sc, (sc > 0 ? rc / sc : 0) }'
done
