#include "bench/loadgen/worker.h"

#include <liburing.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "bench/loadgen/connection.h"
#include "core/log/log.h"

namespace ringmx::loadgen {
namespace {

// user_data: operation in the top 8 bits, generation in the next 24, slot
// in the low 32, so a completion for a reused slot is recognised and dropped.
enum class Op : std::uint8_t { connect = 1, recv, send, poll };

std::uint64_t pack(Op op, std::uint32_t slot, std::uint32_t generation) {
  return (std::uint64_t{static_cast<std::uint8_t>(op)} << 56) |
         (std::uint64_t{generation & 0xFFFFFF} << 32) | slot;
}
Op op_of(std::uint64_t data) {
  return static_cast<Op>(data >> 56);
}
std::uint32_t generation_of(std::uint64_t data) {
  return (data >> 32) & 0xFFFFFF;
}
std::uint32_t slot_of(std::uint64_t data) {
  return static_cast<std::uint32_t>(data);
}

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : fmt::format("errno{}", err);
}

std::uint64_t nanos(Clock::duration d) {
  auto n = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return n < 0 ? 0 : static_cast<std::uint64_t>(n);
}

}  // namespace

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
  if (draining) return;
  if (hold_mode()) {
    // Open at most kOpening at a time, so a burst does not overflow the
    // listener's backlog by itself; --hold-idle measures memory, not accept.
    constexpr unsigned kOpening = 256;
    while (!free_slots.empty() && held_total + setting_up < setup.connections &&
           setting_up < kOpening)
      open_connection(now);
    return;
  }
  if (!open_loop()) {
    // Closed loop: every slot carries sessions back to back; a new session
    // starts only with a message taken for it.
    while (!free_slots.empty() && setup.budget->take())
      open_connection(now);
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
  while (!free_slots.empty() && scheduled.size() > setting_up)
    open_connection(now);
}

void Worker::Impl::open_connection(Clock::time_point now) {
  auto slot = free_slots.back();
  free_slots.pop_back();
  auto& c = slots[slot];
  ++c.generation;
  c.stage = Connection::Stage::connecting;
  c.reserved_message = !hold_mode() && !open_loop();
  c.setting_up = true;
  ++setting_up;
  c.held = false;
  c.abortive_close = false;
  c.wire.clear();
  c.sending.clear();
  c.sent = 0;
  c.tls.reset();
  ++open;

  auto fail = [&](const char* what, int err) {
    stats.connect_failures.add();
    stats.error(fmt::format("connect {} {}", what, errno_name(err)));
    c.abortive_close = true;
    close_connection(c, slot);
  };
  c.fd = socket(options.target.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return fail("socket", errno);
  int one = 1;
  // Commands go out as whole groups already: Nagle would only add delay.
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!options.source_addresses.empty()) {
    const auto& source = options.source_addresses[source_next++ % options.source_addresses.size()];
    // Let connect() pick the port per destination, not bind() per source:
    // otherwise each source address is limited to one range of ports overall.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(c.fd, source.sockaddr_ptr(), source.length) < 0) return fail("bind", errno);
  }
  auto* s = sqe();
  io_uring_prep_connect(s, c.fd, options.target.sockaddr_ptr(), options.target.length);
  io_uring_sqe_set_data64(s, pack(Op::connect, slot, c.generation));
  ++c.inflight;
  c.connect_started = now;
  update_deadline(c, slot, now);
}

void Worker::Impl::on_connect(Connection& c, std::uint32_t slot, int res, Clock::time_point now) {
  if (res < 0) {
    stats.connect_failures.add();
    stats.error(fmt::format("connect {}", errno_name(-res)));
    c.abortive_close = true;
    close_connection(c, slot);
    return;
  }
  c.stage = Connection::Stage::open;
  c.connected = now;
  stats.phase(Phase::connect).record(nanos(now - c.connect_started));
  bool implicit = options.tls == TlsMode::implicit;
  c.session.reset(implicit);
  if (implicit) {
    c.tls = std::make_unique<TlsClient>(*tls_context, options.sni);
    c.tls_started = now;
    if (c.tls->handshake() == TlsClient::Result::failed)
      c.session.abort("tls " + c.tls->last_error());
  }
  handle_session(c, slot, now);
}

void Worker::Impl::arm_read(Connection& c, std::uint32_t slot, bool readable) {
  if (c.recv_armed || c.stage != Connection::Stage::open) return;
  auto* s = sqe();
  if (c.held && c.session.idle() && !readable) {
    // A held session waits on a poll and owns no buffer: 50,000 of them
    // would otherwise pin 200 MB of receive buffers doing nothing.
    c.recv_buffer.reset();
    io_uring_prep_poll_add(s, c.fd, POLLIN | POLLRDHUP);
    io_uring_sqe_set_data64(s, pack(Op::poll, slot, c.generation));
  } else {
    if (!c.recv_buffer) c.recv_buffer = std::make_unique<char[]>(kRecvBufferBytes);
    io_uring_prep_recv(s, c.fd, c.recv_buffer.get(), kRecvBufferBytes, 0);
    io_uring_sqe_set_data64(s, pack(Op::recv, slot, c.generation));
  }
  c.recv_armed = true;
  ++c.inflight;
}

void Worker::Impl::on_recv(Connection& c, std::uint32_t slot, int res, Clock::time_point now) {
  if (res <= 0) {
    if (res == 0)
      c.session.on_peer_closed();
    else
      c.session.abort("recv " + errno_name(-res));
    // A clean end after 221 is the server closing first, as we want.
    if (c.session.state() != ClientSession::State::done) c.abortive_close = true;
    close_connection(c, slot);
    handle_session(c, slot, now);  // counts what the session reported; sends nothing
    return;
  }
  stats.bytes_received.add(static_cast<std::uint64_t>(res));
  std::string_view bytes(c.recv_buffer.get(), static_cast<std::size_t>(res));
  if (!c.tls) {
    c.session.on_bytes(bytes);
  } else {
    c.tls->feed(bytes);
    bool was_established = c.tls->established();
    auto r = c.tls->handshake();
    if (r == TlsClient::Result::done && !was_established) {
      stats.phase(Phase::tls).record(nanos(now - c.tls_started));
      c.session.on_tls_ready();  // STARTTLS: EHLO again; implicit: nothing to do
    }
    if (r == TlsClient::Result::done) {
      c.plaintext.clear();
      r = c.tls->read(c.plaintext);
      if (!c.plaintext.empty()) c.session.on_bytes(c.plaintext);
      // close_notify after 221 is the server ending the session cleanly.
      if (r == TlsClient::Result::failed && c.session.state() != ClientSession::State::done)
        c.session.abort("tls read " + c.tls->last_error());
    } else if (r == TlsClient::Result::failed) {
      c.session.abort("tls handshake " + c.tls->last_error());
    }
  }
  handle_session(c, slot, now);
}

void Worker::Impl::on_send(Connection& c, std::uint32_t slot, int res) {
  if (res < 0) {
    c.session.abort("send " + errno_name(-res));
    c.abortive_close = true;
    handle_session(c, slot, Clock::now());
    return;
  }
  stats.bytes_sent.add(static_cast<std::uint64_t>(res));
  c.sent += static_cast<std::size_t>(res);
  if (c.sent == c.sending.size()) {
    c.sending.clear();
    c.sent = 0;
  }
  flush(c, slot);
}

// Moves the session's output (through TLS when it is up) to the socket;
// one send in flight at a time, later output queued behind it.
void Worker::Impl::flush(Connection& c, std::uint32_t slot) {
  auto& out = c.session.output();
  if (!out.empty()) {
    if (c.tls && c.tls->established()) {
      if (c.tls->write(out) == TlsClient::Result::failed) c.session.abort("tls write");
    } else {
      c.wire += out;
    }
    out.clear();
  }
  if (c.tls && !c.tls->wire_output().empty()) {
    c.wire += c.tls->wire_output();
    c.tls->wire_output().clear();
  }
  if (c.send_armed || c.stage != Connection::Stage::open) return;
  if (c.sending.empty()) {
    if (c.wire.empty()) return;
    std::swap(c.sending, c.wire);
    c.sent = 0;
  }
  auto* s = sqe();
  io_uring_prep_send(s, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, pack(Op::send, slot, c.generation));
  c.send_armed = true;
  ++c.inflight;
}

// Acts on what the session reported, then sends, reads and re-arms its
// deadline: the one place a connection moves after any input.
void Worker::Impl::handle_session(Connection& c, std::uint32_t slot, Clock::time_point now) {
  bool finished = false;
  for (auto& ev : c.session.events()) {
    switch (ev.kind) {
      case SessionEvent::Kind::greeting:
        stats.sessions.add();
        stats.phase(Phase::greeting).record(nanos(now - c.connected));
        break;
      case SessionEvent::Kind::ready:
        if (c.setting_up) {
          c.setting_up = false;
          --setting_up;
        }
        if (hold_mode()) {
          c.held = true;
          ++held_total;
          stats.held.add();
        }
        break;
      case SessionEvent::Kind::start_tls:
        c.tls = std::make_unique<TlsClient>(*tls_context, options.sni);
        c.tls_started = now;
        if (c.tls->handshake() == TlsClient::Result::failed)
          c.session.abort("tls " + c.tls->last_error());
        break;
      case SessionEvent::Kind::message_done:
        if (ev.ok) {
          stats.messages_ok.add();
          stats.phase(Phase::transaction).record(nanos(now - c.message_started));
        } else {
          stats.messages_failed.add();
        }
        break;
      case SessionEvent::Kind::error:
        stats.error(ev.error);
        break;
      case SessionEvent::Kind::finished:
        finished = true;
        break;
    }
  }
  c.session.events().clear();
  if (c.stage != Connection::Stage::open) return;
  if (finished && c.session.state() == ClientSession::State::failed) {
    c.abortive_close = true;
    close_connection(c, slot);
    return;
  }
  // After 221 we wait for the server to close first, so that TIME_WAIT
  // stays on its side and our ephemeral ports are free for the next session.
  if (finished && c.tls && c.tls->established()) c.tls->shutdown();
  if (c.session.idle() && !c.held) next_message(c, slot, now);
  flush(c, slot);
  arm_read(c, slot);
  update_deadline(c, slot, now);
}

void Worker::Impl::next_message(Connection& c, std::uint32_t slot, Clock::time_point now) {
  if (open_loop()) {
    if (draining) {
      c.session.quit();
      return;
    }
    if (scheduled.empty()) {
      idle_slots.push_back(slot);
      return;
    }
    begin(c, scheduled.front());
    scheduled.pop_front();
    return;
  }
  if (c.reserved_message || (!draining && setup.budget->take())) {
    c.reserved_message = false;
    begin(c, now);
  } else {
    c.session.quit();
  }
}

void Worker::Impl::begin(Connection& c, Clock::time_point started) {
  c.message_started = started;
  c.session.begin_message(setup.catalog->text(setup.catalog->pick(random.next())));
}

void Worker::Impl::update_deadline(Connection& c, std::uint32_t slot, Clock::time_point now) {
  bool waiting =
      c.stage == Connection::Stage::connecting ||
      (c.stage == Connection::Stage::open &&
       (c.session.waiting_for_server() || c.session.state() == ClientSession::State::done));
  if (waiting)
    deadlines.arm(slot, now + options.reply_timeout);
  else
    deadlines.disarm(slot);
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

// Ends the connection. The kernel may still own a recv, poll, send or
// connect on it: shutdown() completes those, and the slot is released with
// the last of their completions.
void Worker::Impl::close_connection(Connection& c, std::uint32_t slot) {
  if (c.stage == Connection::Stage::closing || c.stage == Connection::Stage::free) return;
  deadlines.disarm(slot);
  if (c.setting_up) {
    c.setting_up = false;
    --setting_up;
    // Open loop: this session was to carry the oldest scheduled message;
    // it failed with it, or a dead server would be retried forever.
    if (open_loop() && !scheduled.empty()) {
      scheduled.pop_front();
      stats.messages_failed.add();
    }
  }
  if (c.reserved_message) {
    // The message taken for this session was never started: it failed.
    c.reserved_message = false;
    stats.messages_failed.add();
  }
  if (c.held) {
    if (!draining) stats.held.sub();  // the count reported is the one held at the end
    --held_total;
    c.held = false;
  }
  c.stage = Connection::Stage::closing;
  if (c.fd >= 0) {
    if (c.abortive_close) {
      linger l{1, 0};  // RST: a failed session leaves no TIME_WAIT behind
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    if (c.inflight > 0) shutdown(c.fd, SHUT_RDWR);
  }
  if (c.inflight == 0) release(c, slot);
}

void Worker::Impl::release(Connection& c, std::uint32_t slot) {
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.stage = Connection::Stage::free;
  c.tls.reset();
  c.recv_buffer.reset();
  --open;
  free_slots.push_back(slot);
}

Worker::Worker(const WorkerSetup& setup, WorkerStats& stats)
    : impl_(std::make_unique<Impl>(setup, stats)) {}
Worker::~Worker() = default;
void Worker::run() {
  impl_->run();
}

}  // namespace ringmx::loadgen
