// What one worker counts during a run. Single writer (the worker), read
// live by the progress line and summed at the end by the report.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "bench/loadgen/histogram.h"

namespace ringmx::loadgen {

// A counter with one writer: relaxed load+store, no locked instruction.
class Counter {
 public:
  void add(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Latency phases: connect (connect submitted to connected), greeting
// (connected to 220), tls (handshake start to finish), transaction (message
// started, or scheduled under --rate, to its final reply).
enum class Phase : std::uint8_t { connect, greeting, tls, transaction };
inline constexpr std::size_t kPhases = 4;
inline constexpr std::array<const char*, kPhases> kPhaseNames = {"connect", "greeting", "tls",
                                                                 "transaction"};

struct WorkerStats {
  Counter messages_ok;
  Counter messages_failed;
  Counter messages_unstarted;  // --rate: due, but no session took them before the end
  Counter sessions;            // connections that reached the greeting
  Counter tls_record_layer;    // TLS sessions whose records tls::RecordLayer took over
  Counter connect_failures;    // connect() refused, timed out or failed to start
  Counter bytes_sent;          // on the wire (ciphertext under TLS)
  Counter bytes_received;
  Counter errors;  // every error, also counted by key below
  Counter held;    // --hold-idle: sessions idle right now
  std::array<Histogram, kPhases> latency;
  // Only the worker touches this; the report reads it after join().
  std::map<std::string, std::uint64_t> errors_by_key;

  Histogram& phase(Phase p) { return latency[static_cast<std::size_t>(p)]; }
  void error(const std::string& key) {
    errors.add();
    ++errors_by_key[key];
  }
};

}  // namespace ringmx::loadgen
