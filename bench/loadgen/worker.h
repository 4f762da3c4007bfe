// One load-generating thread: its own io_uring, its share of the
// connections, and its own stats. Workers share nothing but the message
// budget (one atomic) and the stop flag.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "bench/loadgen/client_session.h"
#include "bench/loadgen/message_catalog.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/stats.h"

namespace ringmx::loadgen {

using Clock = std::chrono::steady_clock;

// Messages still to start, over all workers. Each start (or failed
// connect, which stands for the message it would have carried) takes one.
class MessageBudget {
 public:
  explicit MessageBudget(std::optional<std::uint64_t> total)
      : left_(total ? static_cast<std::int64_t>(*total) : INT64_MAX) {}
  bool take() { return left_.fetch_sub(1, std::memory_order_relaxed) > 0; }
  bool exhausted() const { return left_.load(std::memory_order_relaxed) <= 0; }

 private:
  std::atomic<std::int64_t> left_;
};

struct WorkerSetup {
  const Options* options = nullptr;
  const SessionPlan* plan = nullptr;
  const MessageCatalog* catalog = nullptr;
  MessageBudget* budget = nullptr;
  const std::atomic<bool>* stop = nullptr;  // set on SIGINT: finish as at the deadline
  unsigned index = 0;
  unsigned connections = 0;  // this worker's share of --connections or --hold-idle
  double rate = 0;           // this worker's share of --rate, 0: closed loop
  Clock::time_point start;
  std::optional<Clock::time_point> deadline;
};

class Worker {
 public:
  Worker(const WorkerSetup& setup, WorkerStats& stats);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until the budget or the duration is spent and every session closed.
  // Throws std::runtime_error if the ring cannot be set up.
  void run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmx::loadgen
