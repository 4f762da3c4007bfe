#!/usr/bin/env python3
"""Runs smtp_bench and prints body-scan throughput beside memchr, with ratios.

  bench/smtp/compare.py build-smtp/bench/smtp/smtp_bench [--repetitions 5]

Medians over the repetitions; GB/s are 10^9 bytes per second.
"""
import json
import subprocess
import sys


def main():
    binary = sys.argv[1]
    reps = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--repetitions" else "5"
    out = subprocess.run(
        [binary, "--benchmark_format=json", f"--benchmark_repetitions={reps}",
         "--benchmark_report_aggregates_only=true"],
        check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            medians[b["run_name"]] = b
    print(f"{'size':>10} {'scan GB/s':>10} {'memchr GB/s':>12} {'lines GB/s':>11} "
          f"{'memchr/scan':>12} {'lines/scan':>11}")
    for size in ("1024", "65536", "10485760"):
        scan = medians[f"BodyScan/{size}"]["bytes_per_second"] / 1e9
        mem = medians[f"Memchr/{size}"]["bytes_per_second"] / 1e9
        lines = medians[f"MemchrLines/{size}"]["bytes_per_second"] / 1e9
        print(f"{size:>10} {scan:>10.2f} {mem:>12.2f} {lines:>11.2f} {mem / scan:>11.2f}x "
              f"{lines / scan:>10.2f}x")
    p = medians["Pipelined"]
    print(f"pipelined: {p['items_per_second']:.0f} messages/s, "
          f"{p['commands/s']:.0f} commands/s, {p['bytes_per_second'] / 1e6:.0f} MB/s")


if __name__ == "__main__":
    main()
