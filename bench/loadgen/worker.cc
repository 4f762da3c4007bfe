#include "bench/loadgen/worker.h"

#include <liburing.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "bench/loadgen/worker_impl.h"
#include "core/log/log.h"

namespace ringmx::loadgen {

void Worker::Impl::init_ring() {
  unsigned n = setup.connections;
  io_uring_params p{};
  // Each connection has at most a connect, or a read (recv/poll) and a send,
  // in flight: size the completion queue for all of them at once.
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = std::clamp(4 * n, 1024u, 65536u);
  // One thread submits and reaps: SINGLE_ISSUER and DEFER_TASKRUN (6.1) let
  // the kernel run completions only when we wait, without interrupts.
  unsigned tries[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                      IORING_SETUP_COOP_TASKRUN, 0};
  int rc = -EINVAL;
  for (unsigned extra : tries) {
    io_uring_params q = p;
    q.flags |= extra;
    rc = io_uring_queue_init_params(1024, &ring, &q);
    if (rc == 0) break;
    log::info("loadgen.ring_downgrade", "worker={} flags={:#x} error={}", setup.index, extra,
              errno_name(-rc));
  }
  if (rc < 0) throw std::runtime_error(fmt::format("io_uring_queue_init: {}", strerror(-rc)));
}

io_uring_sqe* Worker::Impl::sqe() {
  auto* s = io_uring_get_sqe(&ring);
  if (!s) {
    io_uring_submit(&ring);  // the SQ is full: hand it over and take a fresh one
    s = io_uring_get_sqe(&ring);
  }
  if (!s) throw std::runtime_error("io_uring: no SQE after submit");
  return s;
}

void Worker::Impl::run() {
  init_ring();
  if (options.tls != TlsMode::none) tls_context = std::make_unique<TlsContext>();
  slots.reserve(setup.connections);
  for (unsigned i = 0; i < setup.connections; ++i)
    slots.emplace_back(setup.plan);
  for (unsigned i = setup.connections; i > 0; --i)
    free_slots.push_back(i - 1);
  if (open_loop()) {
    interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / setup.rate));
    // Stagger the workers' schedules so that together they tick evenly.
    unsigned threads = options.threads ? options.threads : 1;
    next_arrival = setup.start + interval * setup.index / threads;
  }

  while (true) {
    auto now = Clock::now();
    if (!draining &&
        ((setup.deadline && now >= *setup.deadline) || setup.stop->load(std::memory_order_relaxed)))
      start_draining();
    // Closed loop and open loop alike: once every message is taken, the
    // sessions left idle say QUIT.
    if (!draining && !hold_mode() && setup.budget->exhausted() && scheduled.empty())
      start_draining();
    admit(now);
    expire(now);
    if (open == 0 && (draining || (!hold_mode() && setup.budget->exhausted() && scheduled.empty())))
      break;

    auto wake = next_wakeup(now);
    auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now);
    __kernel_timespec ts{};
    ts.tv_sec = wait.count() / 1'000'000'000;
    ts.tv_nsec = wait.count() % 1'000'000'000;
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
      throw std::runtime_error(fmt::format("io_uring_submit_and_wait: {}", strerror(-rc)));

    now = Clock::now();
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      auto data = cqe->user_data;
      auto slot = slot_of(data);
      auto& c = slots[slot];
      --c.inflight;
      Op op = op_of(data);
      if (op == Op::recv || op == Op::poll) c.recv_armed = false;
      if (op == Op::send) c.send_armed = false;
      if (c.stage == Connection::Stage::closing ||
          generation_of(data) != (c.generation & 0xFFFFFF)) {
        if (c.stage == Connection::Stage::closing && c.inflight == 0) release(c, slot);
        continue;
      }
      switch (op) {
        case Op::connect:
          on_connect(c, slot, cqe->res, now);
          break;
        case Op::recv:
          on_recv(c, slot, cqe->res, now);
          break;
        case Op::poll:
          arm_read(c, slot, true);
          break;  // readable: take a buffer and read
        case Op::send:
          on_send(c, slot, cqe->res);
          break;
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_queue_exit(&ring);
}

Clock::time_point Worker::Impl::next_wakeup(Clock::time_point now) const {
  if (admit_pending) return now;  // more connects to open: just reap and come back
  // Wake at least every 100 ms to notice the stop flag.
  auto wake = now + std::chrono::milliseconds(100);
  if (setup.deadline && !draining && *setup.deadline < wake) wake = *setup.deadline;
  if (open_loop() && !draining && !setup.budget->exhausted() && next_arrival < wake)
    wake = next_arrival;
  if (auto first = deadlines.first(); first != kNoSlot && slots[first].deadline < wake)
    wake = slots[first].deadline;
  return wake < now ? now : wake;
}

void Worker::Impl::start_draining() {
  draining = true;
  // Open loop: messages that fell due but found no session before the end
  // are reported, not dropped: under overload they are the queue. That
  // includes those due since the loop last looked at the schedule.
  if (open_loop()) {
    auto end = setup.deadline ? std::min(Clock::now(), *setup.deadline) : Clock::now();
    while (next_arrival <= end && setup.budget->take()) {
      scheduled.push_back(next_arrival);
      next_arrival += interval;
    }
  }
  stats.messages_unstarted.add(scheduled.size());
  scheduled.clear();
  for (std::uint32_t i = 0; i < slots.size(); ++i) {
    auto& c = slots[i];
    if (c.stage != Connection::Stage::open || !c.session.idle()) continue;
    c.session.quit();
    flush(c, i);
    update_deadline(c, i, Clock::now());
  }
  idle_slots.clear();
}

void Worker::Impl::admit(Clock::time_point now) {
  admit_pending = false;
  if (draining) return;
  // At most kOpensPerTurn connects per turn of the loop, then reap: a
  // burst of thousands submitted at once would be timed as one batch (on
  // loopback the kernel does each handshake inside our submit).
  constexpr unsigned kOpensPerTurn = 64;
  unsigned opened = 0;
  auto may_open = [&] {
    if (free_slots.empty()) return false;
    if (opened == kOpensPerTurn) {
      admit_pending = true;
      return false;
    }
    return true;
  };
  auto open_one = [&] {
    ++opened;
    open_connection(now);
  };
  if (hold_mode()) {
    // Open at most kOpening at a time, so a burst does not overflow the
    // listener's backlog by itself; --hold-idle measures memory, not accept.
    constexpr unsigned kOpening = 256;
    while (held_total + setting_up < setup.connections && setting_up < kOpening && may_open())
      open_one();
    return;
  }
  if (!open_loop()) {
    // Closed loop: every slot carries sessions back to back; a new session
    // starts only with a message taken for it.
    while (may_open() && setup.budget->take())
      open_one();
    return;
  }
  // Open loop: messages are due on the schedule whether or not a session is
  // free; the wait for one is part of their latency.
  while (next_arrival <= now && setup.budget->take()) {
    scheduled.push_back(next_arrival);
    next_arrival += interval;
  }
  while (!scheduled.empty() && !idle_slots.empty()) {
    auto slot = idle_slots.back();
    idle_slots.pop_back();
    auto& c = slots[slot];
    if (c.stage != Connection::Stage::open || !c.session.idle()) continue;
    begin(c, scheduled.front());
    scheduled.pop_front();
    flush(c, slot);
    update_deadline(c, slot, now);
  }
  // Sessions being set up will each take one scheduled message.
  while (scheduled.size() > setting_up && may_open())
    open_one();
}

void Worker::Impl::expire(Clock::time_point now) {
  for (auto slot = deadlines.first(); slot != kNoSlot && slots[slot].deadline <= now;
       slot = deadlines.first()) {
    auto& c = slots[slot];
    deadlines.disarm(slot);
    if (c.stage == Connection::Stage::connecting) {
      stats.connect_failures.add();
      stats.error("connect timeout");
      c.abortive_close = true;
      close_connection(c, slot);
      continue;
    }
    if (c.session.state() == ClientSession::State::done) {
      close_connection(c, slot);  // 221 came but the server never closed
      continue;
    }
    c.session.abort("timeout");
    handle_session(c, slot, now);
  }
}

Worker::Worker(const WorkerSetup& setup, WorkerStats& stats)
    : impl_(std::make_unique<Impl>(setup, stats)) {}
Worker::~Worker() = default;
void Worker::run() {
  impl_->run();
}

}  // namespace ringmx::loadgen
