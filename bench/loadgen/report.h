// The end-of-run table, its JSON twin, and the live progress line.
// Pure formatting: the numbers are gathered by main.cc.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bench/loadgen/histogram.h"
#include "core/netstat.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/stats.h"

namespace ringmx::loadgen {

using core::ListenCounters;
using core::read_listen_counters;

struct Totals {
  double elapsed_seconds = 0;
  std::uint64_t messages_ok = 0;
  std::uint64_t messages_failed = 0;
  std::uint64_t messages_unstarted = 0;
  std::uint64_t sessions = 0;
  std::uint64_t tls_record_layer = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t errors = 0;
  std::uint64_t held = 0;
  std::map<std::string, std::uint64_t> errors_by_key;
  std::array<Histogram, kPhases> latency;
  std::optional<ListenCounters> listen_delta;  // nullopt: /proc/net/netstat unreadable
  double cpu_user_seconds = 0;                 // this process, all threads
  double cpu_system_seconds = 0;
  unsigned threads = 0;

  void add(const WorkerStats& w);  // counters, errors and histograms
};

std::string format_table(const Totals& t, const Options& o);
std::string format_json(const Totals& t, const Options& o);
// One line, no newline: "12.0s  20,113 msg/s  errors 0  p50 1.234ms  p99 5.678ms",
// with the rate and percentiles of the last interval (`earlier` is the
// transaction histogram as it was at the previous line).
std::string format_progress(double elapsed, double messages_per_second, std::uint64_t errors,
                            const Histogram& transaction, const Histogram& earlier,
                            std::optional<std::uint64_t> held);

}  // namespace ringmx::loadgen
