// The shard's thread, ring loop, mailbox, reload and drain. Accepting,
// connections and the spool are in shard_accept.cc, shard_connection.cc
// and shard_spool.cc.
#include "core/shard.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <fmt/format.h>

#include "core/env_count.h"
#include "core/listen_socket.h"
#include "core/log/log.h"
#include "core/ring_setup.h"
#include "core/ring_wait.h"
#include "core/user_data.h"

namespace ringmx::core {
namespace {

std::uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000 +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace

smtp::MessageTicket Shard::Ids::next() {
  delivery::MessageId id = sink->begin();
  return smtp::MessageTicket{id, sink->queue_id(id)};
}

Shard::Shard(ShardOptions options) : options_(std::move(options)) {}

Shard::~Shard() {
  join();
}

void Shard::start() {
  thread_ = std::thread([this] { main(); });
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::main() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(options_.cpu, &set);
  if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0)
    log::warn("shard.pin_failed", "shard={} cpu={} error={}", options_.index, options_.cpu,
              log::quote(std::strerror(rc)));
  pthread_setname_np(pthread_self(), fmt::format("ringmx-shard{}", options_.index).c_str());

  if (std::string why = init(); !why.empty()) {
    // Nobody will accept on this shard's sockets: close them now.
    for (const ListenSocket& s : options_.listeners->sockets)
      if (s.shard == options_.index) ::close(s.fd);
    if (ring_ok_) io_uring_queue_exit(&ring_);
    options_.events->post(ServerEvent{ServerEvent::Kind::failed, options_.index, why});
    // Wait for the drain the server sends to every shard, then leave.
    return;
  }
  options_.events->post(ServerEvent{ServerEvent::Kind::ready, options_.index, {}});
  loop();
  release_thread_tls_caches();
  sink_.reset();
  tls_buffers_.reset();
  buffers_.reset();
  io_uring_queue_exit(&ring_);
  options_.events->post(
      ServerEvent{ServerEvent::Kind::stopped, options_.index,
                  fmt::format("accepted={} rejected={} closed={} committed={} commit_failed={}",
                              stats_.accepted, stats_.rejected, stats_.closed, stats_.committed,
                              stats_.commit_failed)});
}

std::uint32_t ShardLimits::tls_buffers() {
  static const std::uint32_t count =
      env_count("RINGMX_TLS_RECV_BUFFERS", kTlsBuffers, 32768, /*power_of_two=*/true);
  return count;
}

std::uint32_t ShardLimits::stream_linger_us() {
  static const std::uint32_t us =
      env_count("RINGMX_STREAM_LINGER_US", kStreamLingerUs, 100000, false, /*min=*/0);
  return us;
}

std::string Shard::init() {
  std::string mode;
  if (int rc = setup_ring(&ring_, ShardLimits::kRingEntries, &mode); rc < 0)
    return fmt::format("io_uring_queue_init: {}", std::strerror(-rc));
  ring_ok_ = true;
  linger_us_ = ring_can_linger(&ring_) ? ShardLimits::stream_linger_us() : 0;
  log::info("shard.ring", "shard={} cpu={} flags={} stream_linger_us={}", options_.index,
            options_.cpu, mode, linger_us_);
  std::string error;
  buffers_ = BufferRing::create(&ring_, ShardLimits::kBufferGroup, ShardLimits::kBuffers,
                                ShardLimits::kBufferSize, &error);
  if (!buffers_) return error;
  tls_buffers_ =
      BufferRing::create(&ring_, ShardLimits::kTlsBufferGroup, ShardLimits::tls_buffers(),
                         ShardLimits::kTlsBufferSize, &error);
  if (!tls_buffers_) return error;
  now_ms_ = monotonic_ms();
  wheel_ = std::make_unique<TimerWheel>(ShardLimits::kTickMs, ShardLimits::kWheelSlots, now_ms_);
  tick_ts_.tv_sec = 0;
  tick_ts_.tv_nsec = static_cast<long>(ShardLimits::kTickMs) * 1000000;
  reflect_tos_ = kernel_reflects_tos();
  const config::Config& cfg = *options_.listeners->config;
  try {
    sink_ = delivery::make_sink(cfg.delivery_mode == config::DeliveryMode::discard
                                    ? delivery::SinkMode::discard
                                    : delivery::SinkMode::spool,
                                cfg.spool_path, options_.index, cfg.segment_size);
  } catch (const std::exception& e) {
    return fmt::format("spool {}: {}", cfg.spool_path, e.what());
  }
  ids_.sink = sink_.get();
  metrics_ = options_.control->metrics[options_.index].get();
  management_ =
      std::make_unique<Management>(*options_.control, options_.index, listeners_, draining_);
  drain_timer_.kind = kDrainTimer;
  arm_mailbox();
  apply_listeners(options_.listeners);
  io_uring_submit(&ring_);
  return {};
}

io_uring_sqe* Shard::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (!s) {
    io_uring_submit(&ring_);  // SQ full: hand the batch to the kernel, then go on
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void Shard::loop() {
  for (;;) {
    drive_sink();
    buffers_->publish();
    tls_buffers_->publish();
    rearm_starved();
    if (draining_ && !management_closed_) close_management();
    if (draining_ && finished()) break;
    const unsigned linger_us = streaming_ ? linger_us_ : 0;
    if (linger_us > 0) bump(metrics_->ring_lingers);
    streaming_ = false;
    int rc = submit_and_wait(&ring_, linger_us, ShardLimits::kStreamLingerBatch);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      log::error("shard.ring_failed", "shard={} error={}", options_.index,
                 log::quote(std::strerror(-rc)));
      break;
    }
    if (rc > 0) bump(metrics_->ring_submissions, static_cast<std::uint64_t>(rc));
    now_ms_ = monotonic_ms();
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      dispatch(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    bump(metrics_->ring_completions, seen);
  }
}

bool Shard::finished() const {
  for (const AcceptEntry& a : accepts_)
    if (a.fd >= 0) return false;
  return live_ == 0 && sink_->in_flight() == 0;
}

void Shard::dispatch(const io_uring_cqe* cqe) {
  const UserData u = decode(cqe->user_data);
  switch (u.op) {
    case Op::accept:
      on_accept(u.slot, cqe);
      return;
    case Op::accept_close:
      on_accept_close(u.slot);
      return;
    case Op::recv:
      if (cqe->res >= static_cast<int>(ShardLimits::kStreamRecvBytes)) streaming_ = true;
      if (Connection* c = lookup(u.slot, u.generation)) on_recv(*c, cqe);
      return;
    case Op::send:
      if (Connection* c = lookup(u.slot, u.generation)) on_send(*c, cqe->res);
      return;
    case Op::cancel:
      if (Connection* c = lookup(u.slot, u.generation)) on_cancel(*c);
      return;
    case Op::tick:
      on_tick();
      return;
    case Op::mailbox:
      on_mailbox();
      return;
    case Op::spool:
      on_spool(u.slot, cqe->res);
      return;
    case Op::none:
      return;
  }
}

void Shard::arm_mailbox() {
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, mailbox_.fd(), &mailbox_value_, sizeof mailbox_value_, 0);
  io_uring_sqe_set_data64(s, encode(Op::mailbox, 0));
}

void Shard::on_mailbox() {
  for (ShardMessage& m : mailbox_.take()) {
    switch (m.kind) {
      case ShardMessage::Kind::reload:
        if (!draining_) apply_listeners(m.listeners);
        options_.events->post(ServerEvent{ServerEvent::Kind::reloaded, options_.index, {}});
        break;
      case ShardMessage::Kind::drain:
        begin_drain();
        break;
      case ShardMessage::Kind::reload_result:
        on_reload_result(m);
        break;
    }
  }
  arm_mailbox();
}

ListenerView* Shard::view_for(const std::shared_ptr<const ListenerRuntime>& rt) {
  for (auto& v : views_)
    if (v && v->runtime == rt) return v.get();
  views_.push_back(std::make_unique<ListenerView>());
  views_.back()->runtime = rt;
  return views_.back().get();
}

void Shard::unuse(ListenerView* v) {
  if (--v->users != 0 || !v->retired) return;
  for (auto& p : views_)
    if (p.get() == v) p.reset();  // the last session of an old configuration ended
}

// Starts accepting on this shard's sockets of `set`, then stops the ones
// `set` no longer has: new sockets listen before old ones close.
void Shard::apply_listeners(const std::shared_ptr<const ListenerSet>& set) {
  std::vector<bool> kept(accepts_.size(), false);
  for (const ListenSocket& s : set->sockets) {
    if (s.shard != options_.index) continue;
    ListenerView* v = view_for(set->listeners[s.listener]);
    bool found = false;
    for (std::size_t i = 0; s.reused && i < accepts_.size(); ++i) {
      if (accepts_[i].fd != s.fd || accepts_[i].stopping) continue;
      if (accepts_[i].view != v) {  // same socket, new settings for new sessions
        ++v->users;
        unuse(accepts_[i].view);
        accepts_[i].view = v;
      }
      accepts_[i].address = s.address;
      kept[i] = true;
      found = true;
    }
    if (found) continue;
    AcceptEntry e;
    e.fd = s.fd;
    e.view = v;
    ++v->users;  // a socket keeps its view alive until it is closed
    e.address = s.address;
    accepts_.push_back(e);
    const auto index = static_cast<std::uint32_t>(accepts_.size() - 1);
    accepts_[index].backoff.kind = kAcceptTimer;
    accepts_[index].backoff.owner = index;
    kept.push_back(true);
    arm_accept(index);
  }
  for (std::size_t i = 0; i < kept.size(); ++i)
    if (!kept[i]) stop_accept(static_cast<std::uint32_t>(i));
  // Views no socket of the new set uses serve only established sessions now.
  for (auto& v : views_) {
    if (!v) continue;
    bool current = false;
    for (const auto& rt : set->listeners)
      current |= v->runtime == rt;
    if (!current) {
      v->retired = true;
      if (v->users == 0) v.reset();
    }
  }
  listeners_ = set;
  config_ = set->config;
}

void Shard::begin_drain() {
  if (draining_) return;
  draining_ = true;
  for (std::size_t i = 0; i < accepts_.size(); ++i)
    stop_accept(static_cast<std::uint32_t>(i));
  // Idle sessions get 421 4.3.2 now; the others finish their transaction.
  for (Connection& c : connections_) {
    if (!c.live()) continue;
    if (c.reason == CloseReason::none) c.reason = CloseReason::shutdown;
    if (c.http) continue;  // answers 503 to /readyz until the sessions are done
    if (!c.session) {      // a PROXY header still on its way
      begin_close(c, CloseReason::shutdown);
      continue;
    }
    out_.clear();
    c.session->shutdown(out_);
    handle_output(c);
  }
  wheel_->arm(&drain_timer_,
              now_ms_ + static_cast<std::uint64_t>(config_->shutdown_timeout.count()));
  arm_tick();
  log::info("shard.draining", "shard={} connections={}", options_.index, live_);
}

void Shard::arm_tick() {
  if (tick_armed_) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_timeout(s, &tick_ts_, 0, 0);
  io_uring_sqe_set_data64(s, encode(Op::tick, 0));
  tick_armed_ = true;
}

void Shard::on_tick() {
  tick_armed_ = false;
  wheel_->advance(now_ms_, [this](TimerNode* n) { on_timer(n); });
  if (!wheel_->empty()) arm_tick();
}

void Shard::on_timer(TimerNode* node) {
  switch (node->kind) {
    case kConnectionTimer: {
      Connection& c = connections_[node->owner];
      if (c.fd >= 0 && !c.closing) on_connection_timer(c);  // lingering ones too
      return;
    }
    case kAcceptTimer:
      if (node->owner < accepts_.size() && !accepts_[node->owner].stopping) arm_accept(node->owner);
      return;
    case kDrainTimer:
      // shutdown-timeout: whatever is still open gets 421 and is closed.
      for (Connection& c : connections_) {
        if (!c.live()) continue;
        if (!c.session) {
          begin_close(c, CloseReason::shutdown);
          continue;
        }
        queue_reply(c, fmt::format("421 4.3.2 {} Service shutting down\r\n",
                                   c.view->runtime->listener->hostname));
        c.close_after_send = true;
        c.reason = CloseReason::shutdown;
        flush(c);
      }
      log::warn("shard.drain_timeout", "shard={} forced={}", options_.index, live_);
      return;
  }
}

}  // namespace ringmx::core
