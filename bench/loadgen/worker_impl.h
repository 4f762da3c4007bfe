// Worker internals shared by worker.cc (the ring loop, admission of new
// sessions and messages, deadlines) and connection_io.cc (what happens to
// one connection on each completion). Not part of the loadgen interface.
#pragma once

#include <liburing.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/worker.h"

namespace ringmx::loadgen {

// user_data: operation in the top 8 bits, generation in the next 24, slot
// in the low 32, so a completion for a reused slot is recognised and dropped.
enum class Op : std::uint8_t { connect = 1, recv, send, poll };

inline std::uint64_t pack(Op op, std::uint32_t slot, std::uint32_t generation) {
  return (std::uint64_t{static_cast<std::uint8_t>(op)} << 56) |
         (std::uint64_t{generation & 0xFFFFFF} << 32) | slot;
}
inline Op op_of(std::uint64_t data) {
  return static_cast<Op>(data >> 56);
}
inline std::uint32_t generation_of(std::uint64_t data) {
  return (data >> 32) & 0xFFFFFF;
}
inline std::uint32_t slot_of(std::uint64_t data) {
  return static_cast<std::uint32_t>(data);
}

inline std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : fmt::format("errno{}", err);
}

inline std::uint64_t nanos(Clock::duration d) {
  auto n = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return n < 0 ? 0 : static_cast<std::uint64_t>(n);
}

struct Worker::Impl {
  Impl(const WorkerSetup& s, WorkerStats& st)
      : setup(s), options(*s.options), stats(st), deadlines(slots), random(s.index + 1) {}

  const WorkerSetup& setup;
  const Options& options;
  WorkerStats& stats;
  io_uring ring{};
  std::vector<Connection> slots;
  DeadlineList deadlines;
  std::vector<std::uint32_t> free_slots;
  std::unique_ptr<TlsContext> tls_context;
  Random random;
  std::size_t source_next = 0;

  unsigned open = 0;        // slots not free
  unsigned setting_up = 0;  // opened, not yet idle for the first time
  unsigned held_total = 0;  // --hold-idle: sessions that reached idle
  bool draining = false;
  bool admit_pending = false;  // admit() stopped at its per-turn cap
  // Open loop: scheduled start times of messages not yet begun.
  std::deque<Clock::time_point> scheduled;
  Clock::time_point next_arrival;
  Clock::duration interval{};
  std::vector<std::uint32_t> idle_slots;  // open loop: sessions waiting for a message

  bool hold_mode() const { return options.hold_idle.has_value(); }
  bool open_loop() const { return setup.rate > 0; }

  void init_ring();
  io_uring_sqe* sqe();
  void run();
  void admit(Clock::time_point now);
  void start_draining();
  void open_connection(Clock::time_point now);
  void on_connect(Connection& c, std::uint32_t slot, int res, Clock::time_point now);
  void on_recv(Connection& c, std::uint32_t slot, int res, Clock::time_point now);
  void on_send(Connection& c, std::uint32_t slot, int res);
  void arm_read(Connection& c, std::uint32_t slot, bool readable = false);
  void flush(Connection& c, std::uint32_t slot);
  void handle_session(Connection& c, std::uint32_t slot, Clock::time_point now);
  void next_message(Connection& c, std::uint32_t slot, Clock::time_point now);
  void begin(Connection& c, Clock::time_point started);
  void close_connection(Connection& c, std::uint32_t slot);
  void release(Connection& c, std::uint32_t slot);
  void update_deadline(Connection& c, std::uint32_t slot, Clock::time_point now);
  void expire(Clock::time_point now);
  Clock::time_point next_wakeup(Clock::time_point now) const;
};

}  // namespace ringmx::loadgen
