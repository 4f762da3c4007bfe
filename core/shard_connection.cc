// A connection's I/O: multishot recv from the buffer ring into the engine,
// one send per engine call, recv paused while too many replies wait for
// the client, and teardown in steps (FIN and read to EOF when the client may
// still be talking, cancel everything on the fd, close after the last
// completion, free then).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log/log.h"
#include "core/shard.h"
#include "core/user_data.h"

namespace ringmx::core {

const char* to_string(CloseReason r) {
  switch (r) {
    case CloseReason::none:
      return "unknown";
    case CloseReason::quit:
      return "quit";
    case CloseReason::protocol:
      return "protocol";
    case CloseReason::disconnect:
      return "disconnect";
    case CloseReason::io_error:
      return "io-error";
    case CloseReason::timeout:
      return "timeout";
    case CloseReason::duration:
      return "duration";
    case CloseReason::shutdown:
      return "shutdown";
    case CloseReason::unsupported:
      return "unsupported";
    case CloseReason::proxy_header:
      return "proxy-header";
    case CloseReason::tls_handshake:
      return "tls-handshake";
    case CloseReason::tls_timeout:
      return "tls-timeout";
    case CloseReason::count_:
      break;
  }
  return "unknown";
}

std::uint32_t Shard::slot_of(const Connection& c) const {
  return c.timer.owner;
}

Connection* Shard::lookup(std::uint32_t slot, std::uint32_t generation) {
  if (slot >= connections_.size()) return nullptr;
  Connection& c = connections_[slot];
  if (c.fd < 0 || (c.generation & kGenerationMask) != generation) return nullptr;
  return &c;
}

BufferRing& Shard::ring_of(std::uint16_t group) {
  return group == ShardLimits::kTlsBufferGroup ? *tls_buffers_ : *buffers_;
}

BufferRing& Shard::recv_ring(const Connection& c) {
  const bool ciphertext = c.tls && !c.proxy && c.tls->state != TlsStage::State::offered &&
                          !c.tls->kernel && !c.lingering;
  return ciphertext ? *tls_buffers_ : *buffers_;
}

void Shard::arm_recv(Connection& c) {
  if (c.recv_armed || c.fd < 0 || c.closing) return;
  if (!c.lingering && c.unsent() > ShardLimits::kMaxSendBacklog) {
    c.recv_paused = true;  // on_send arms it once the backlog drained
    return;
  }
  c.recv_paused = false;
  // kTLS recvmsg, or paused/switching (shard_tls.cc). Lingering after our
  // FIN only waits for EOF: the plain recv does that on a kTLS socket too
  // (a non-data record fails it, which ends the wait).
  if (c.tls && !c.lingering && arm_tls_recv(c)) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  c.recv_group = recv_ring(c).group();
  s->buf_group = c.recv_group;
  io_uring_sqe_set_data64(s, encode(Op::recv, slot_of(c), c.generation));
  c.recv_armed = true;
  ++c.inflight;
}

void Shard::on_recv(Connection& c, const io_uring_cqe* cqe) {
  const bool more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) {
    c.recv_armed = false;
    --c.inflight;
  }
  const int res = cqe->res;
  BufferRing& ring = ring_of(c.recv_group);
  if (c.lingering && !c.closing) {
    // After our FIN: input is dropped; EOF (or an error) ends the wait.
    if (res > 0) {
      const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
      ring.take(bid);
      ring.release(bid);
    } else if (res == -ENOBUFS) {
      starved_.push_back(slot_of(c));
      return;
    } else if (res != -ECANCELED) {
      close_now(c);
      return;
    }
    if (!more) arm_recv(c);
    return;
  }
  if (res > 0) {
    const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    ring.take(bid);
    const std::span<const char> bytes = ring.view(bid, static_cast<std::uint32_t>(res));
    if (c.live() && c.proxy) {
      on_proxy_bytes(c, bytes);
    } else if (c.live() && c.tls && c.tls->state != TlsStage::State::offered) {
      on_tls_bytes(c, bytes);  // ciphertext: copied into the session, the buffer goes back now
    } else if (c.live() && c.http) {
      c.idle_deadline_ms =
          now_ms_ + static_cast<std::uint64_t>(c.view->runtime->config->session.timeout.count());
      on_http_bytes(c, bytes);
    } else if (c.live() && !c.session->closed()) {
      c.idle_deadline_ms =
          now_ms_ + static_cast<std::uint64_t>(c.view->runtime->config->session.timeout.count());
      out_.clear();
      // Body chunks of this read take their own holds on the buffer
      // (append_chunk); the read's hold goes now, so a read the engine
      // consumed whole returns to the kernel at once.
      c.session->receive(bytes, out_);
      handle_output(c);
    }
    ring.release(bid);
    // After STARTTLS the multishot recv armed in the clear goes on reading
    // ciphertext into the main ring. Once a read fills a whole buffer (a
    // body is streaming), end it: on_recv re-arms at its last completion,
    // into the TLS ring. Sessions that only exchange commands never pay
    // the cancel.
    if (more && c.live() && static_cast<std::uint32_t>(res) == ring.buffer_size() &&
        c.recv_group != recv_ring(c).group()) {
      io_uring_sqe* s = sqe();
      io_uring_prep_cancel64(s, encode(Op::recv, slot_of(c), c.generation), 0);
      io_uring_sqe_set_data64(s, encode(Op::none, 0));
    }
  } else if (res == 0) {
    if (c.live() && c.proxy) refuse_proxy(c, ProxyRefusal::disconnect, "closed before the header");
    if (c.live()) begin_close(c, CloseReason::disconnect);
  } else if (res == -ENOBUFS) {
    // Every receive buffer is in use (bodies waiting for their spool
    // writes): back-pressure, not failure. Re-armed once buffers return.
    if (!starved_logged_) {
      log::warn("shard.buffers_exhausted", "shard={} buffers={} size={}", options_.index,
                ring.entries(), ring.buffer_size());
      starved_logged_ = true;
    }
    if (c.live()) starved_.push_back(slot_of(c));
    return;
  } else if (res != -ECANCELED) {
    if (c.live()) begin_close(c, CloseReason::io_error);
  }
  // -ECANCELED on a live connection: pause_recv's cancel (or a kernel
  // that ended the multishot): arm_recv decides whether it stays paused.
  // A TLS connection switching to kTLS goes on at its recv's last
  // completion, whatever it was (arm_tls_recv, shard_tls.cc).
  if (!more && c.live() && (res > 0 || res == -ECANCELED || (c.tls && c.tls->switching)))
    arm_recv(c);
  if (c.closing && c.inflight == 0) finish_close(c);
}

// Too many replies wait for a client that does not read: stop reading
// from it. Completions already on their way still reach the engine, so
// the backlog can pass the cap by the replies to what those carry.
void Shard::pause_recv(Connection& c) {
  if (!c.recv_armed || c.recv_paused || c.unsent() <= ShardLimits::kMaxSendBacklog) return;
  c.recv_paused = true;
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, encode(Op::recv, slot_of(c), c.generation), 0);
  io_uring_sqe_set_data64(s, encode(Op::cancel, slot_of(c), c.generation));
  ++c.inflight;
}

void Shard::rearm_starved() {
  if (starved_.empty()) return;
  std::vector<std::uint32_t> slots;
  slots.swap(starved_);
  for (std::uint32_t slot : slots) {
    Connection& c = connections_[slot];
    const BufferRing& ring = recv_ring(c);
    if (ring.outstanding() >= ring.entries())
      starved_.push_back(slot);  // that ring is still empty
    else
      arm_recv(c);
  }
  if (starved_.empty()) starved_logged_ = false;
}

// Acts on what the engine produced in out_: replies to the send buffer,
// body chunks and commits to the sink, close after the replies.
void Shard::handle_output(Connection& c) {
  if (!out_.replies.empty()) queue_reply(c, out_.replies);
  for (std::uint16_t code : out_.refusals)
    metrics_->record_refusal(code);
  for (const smtp::Action& a : out_.actions) {
    switch (a.kind) {
      case smtp::Action::Kind::message_begin:
        break;  // the sink began it (MessageIds::next)
      case smtp::Action::Kind::body_chunk:
        append_chunk(a);
        break;
      case smtp::Action::Kind::message_end: {
        const smtp::Envelope& e = *a.envelope;
        bump(metrics_->message_bytes, e.size);
        delivery::Envelope env;
        env.received_at = e.received_at;
        env.listener = e.listener;
        env.client = e.client;
        env.helo = e.helo;
        env.tls = e.tls;
        env.mail_from = e.mail_from;
        env.mail_params = e.mail_params;
        env.rcpt_to.reserve(e.rcpt_to.size());
        for (const smtp::Recipient& r : e.rcpt_to)
          env.rcpt_to.push_back({r.address, r.params});
        sink_->commit(a.message, env, encode(Op::none, slot_of(c), c.generation));
        break;
      }
      case smtp::Action::Kind::message_abort:
        sink_->abort(a.message);
        break;
      case smtp::Action::Kind::start_tls:
        // The 220 is queued in the clear; what the client pipelined after
        // STARTTLS was not consumed and is dropped with its read
        // (CVE-2011-0411). From here on recv bytes are ciphertext.
        if (c.tls && c.tls->state == TlsStage::State::offered) {
          begin_handshake(c);
          break;
        }
        log::error("conn.starttls_unsupported", "shard={} listener={}", options_.index,
                   c.view->runtime->listener->id);
        c.close_after_send = true;
        if (c.reason == CloseReason::none) c.reason = CloseReason::unsupported;
        break;
      case smtp::Action::Kind::close:
        c.close_after_send = true;
        close_tls(c);  // close_notify after the last reply, so the client sees a clean end
        break;
    }
  }
  flush(c);
  pause_recv(c);
}

void Shard::queue_reply(Connection& c, std::string_view bytes) {
  c.hold_send = false;
  if (c.tls && c.tls->established()) {
    bytes = encrypt_reply(c, bytes);  // empty when sealed straight into the send buffer
    if (bytes.empty()) return;
  }
  if (c.send_armed)
    c.queued.append(bytes);
  else
    c.sending.append(bytes);
}

// One send for everything queued: all replies of one read leave together.
void Shard::flush(Connection& c) {
  if (!c.live()) return;
  if (c.close_after_send) {
    // The last replies get this long to leave: a client that reads
    // nothing must not hold the connection (or a drain) forever.
    const std::uint64_t deadline = now_ms_ + std::max(linger_ms(c), ShardLimits::kLingerMs);
    if (!c.timer.armed() || c.timer.when_ms > deadline) {
      wheel_->arm(&c.timer, deadline);
      arm_tick();
    }
  }
  if (c.send_armed || (c.hold_send && !c.close_after_send)) return;
  if (c.sent == c.sending.size()) {
    if (c.close_after_send) {
      send_close_notify(c);  // kernel TLS: the alert after the last reply
      CloseReason r = c.reason;
      if (r == CloseReason::none && !c.session)
        r = CloseReason::quit;  // the management engine ended its connection
      else if (r == CloseReason::none)
        r = c.session->counts().total[static_cast<std::size_t>(smtp::Verb::quit)]
                ? CloseReason::quit
                : CloseReason::protocol;
      begin_close(c, r);
    }
    return;
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, encode(Op::send, slot_of(c), c.generation));
  c.send_armed = true;
  ++c.inflight;
}

void Shard::on_send(Connection& c, int res) {
  c.send_armed = false;
  --c.inflight;
  if (c.closing) {
    if (c.inflight == 0) finish_close(c);
    return;
  }
  if (res < 0) {
    begin_close(c, CloseReason::io_error);
    return;
  }
  c.sent += static_cast<std::uint32_t>(res);
  // A client that reads its replies is not idle.
  c.idle_deadline_ms =
      now_ms_ + static_cast<std::uint64_t>(c.view->runtime->config->session.timeout.count());
  if (c.sent == c.sending.size()) {
    // Everything left: what was produced meanwhile goes next; an idle
    // connection keeps no send memory.
    c.sent = 0;
    c.sending.swap(c.queued);
    std::string().swap(c.queued);
    if (c.sending.empty()) std::string().swap(c.sending);
  }
  flush(c);
  if (c.recv_paused && !c.recv_armed) arm_recv(c);  // stays paused while over the cap
  if (c.http_resume && c.live() && !c.send_armed) {
    c.http_resume = false;
    handle_http(c, c.http->resume());
  }
}

void Shard::begin_close(Connection& c, CloseReason reason) {
  if (!c.live()) return;
  const bool peer_gone = reason == CloseReason::io_error || reason == CloseReason::disconnect;
  if (c.reason == CloseReason::none || peer_gone) c.reason = reason;
  wheel_->disarm(&c.timer);
  end_session(c);
  // Linger only when our last byte left and the client may still talk.
  if (peer_gone || c.send_armed || c.unsent() > 0 || linger_ms(c) == 0)
    close_now(c);
  else
    linger(c);
}

// The engine learns the connection is gone: it aborts a message whose
// content was coming in (its only abort: the engine emits one per
// message, so the runtime keeps no copy of that state) and stops waiting
// for replies nobody will read.
void Shard::end_session(Connection& c) {
  if (!c.session) return;
  smtp::Output gone;  // not out_: a close may come from inside handle_output
  c.session->disconnected(gone);
  for (const smtp::Action& a : gone.actions)
    if (a.kind == smtp::Action::Kind::message_abort) sink_->abort(a.message);
}

// socket.linger "0s" asks for a reset on close: no graceful close then.
// Another value bounds the wait instead of kLingerMs.
std::uint32_t Shard::linger_ms(const Connection& c) const {
  const auto& linger = c.view->runtime->listener->socket.linger;
  if (!linger) return ShardLimits::kLingerMs;
  return static_cast<std::uint32_t>(linger->count());
}

// Half-close: FIN after the last reply, then read and drop until the
// client's EOF or linger_ms, then close_now (Postfix and HAProxy do the
// same). The receive queue is empty by then, so close() sends no RST.
void Shard::linger(Connection& c) {
  account_close(c);
  c.lingering = true;
  io_uring_sqe* s = sqe();
  io_uring_prep_shutdown(s, c.fd, SHUT_WR);
  io_uring_sqe_set_data64(s, encode(Op::cancel, slot_of(c), c.generation));
  ++c.inflight;
  arm_recv(c);
  wheel_->arm(&c.timer, now_ms_ + linger_ms(c));
  arm_tick();
}

// Cancels every request on the fd; finish_close after the last completion.
void Shard::close_now(Connection& c) {
  if (c.closing) return;
  c.closing = true;
  wheel_->disarm(&c.timer);
  if (c.inflight == 0) {
    finish_close(c);
    return;
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, c.fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, encode(Op::cancel, slot_of(c), c.generation));
  ++c.inflight;
}

// A cancel or shutdown of ours completed.
void Shard::on_cancel(Connection& c) {
  --c.inflight;
  if (c.closing && c.inflight == 0) finish_close(c);
}

// Every request on the fd has completed: nothing in the kernel refers to
// this connection's memory any more.
void Shard::finish_close(Connection& c) {
  if (!c.lingering) account_close(c);
  if (c.tls) release_plain_buffer(c);  // a record that never ended
  ::close(c.fd);
  unuse(c.view);
  const std::uint32_t slot = slot_of(c);
  const std::uint32_t generation = c.generation + 1;
  c = Connection{};
  c.generation = generation;
  c.timer.owner = slot;
  c.timer.kind = kConnectionTimer;
  free_slots_.push_back(slot);
  --live_;
  ++stats_.closed;
}

// The session is over (at the close, or when lingering starts): its log
// line and counts. A rejected connection was never counted.
void Shard::account_close(Connection& c) {
  if (c.rejected) return;
  // The command counts are formatted only when the line is written: at
  // level warn a busy shard does not pay for them once per connection.
  std::string counts;
  if (c.session && log::enabled(log::Level::info)) c.session->counts().append_summary(counts);
  log::info("conn.close", "shard={} listener={} client={} reason={} duration_ms={} bytes_in={} {}",
            options_.index, c.view->runtime->listener->id, c.client, to_string(c.reason),
            now_ms_ - c.opened_ms, c.session ? c.session->bytes_received() : 0, counts);
  // The slot is free before the client can see the close (our FIN), so a
  // client that reconnects after EOF is not refused by max-connections.
  c.view->runtime->counters->connections.fetch_sub(1, std::memory_order_relaxed);
  const auto reason = static_cast<std::size_t>(c.reason);
  if (c.http) {
    bump(metrics_->management_closed[reason]);
    --management_live_;
  } else  // an SMTP/LMTP session, or a connection that never got one (PROXY refused)
    bump(metrics_->sessions_closed[reason]);
}

void Shard::on_connection_timer(Connection& c) {
  if (c.lingering) {  // no EOF from the client within linger_ms
    close_now(c);
    return;
  }
  if (c.close_after_send) {  // the last replies did not leave within linger_ms
    begin_close(c, c.reason == CloseReason::none ? CloseReason::protocol : c.reason);
    return;
  }
  if (c.proxy) {
    refuse_proxy(c, ProxyRefusal::timeout, "no complete header within server.proxy.timeout");
    return;
  }
  if (c.tls && (c.tls->in_handshake() || c.tls->switching)) {
    on_tls_timeout(c);
    return;
  }
  if (c.http) {
    if (now_ms_ >= std::min(c.idle_deadline_ms, c.end_deadline_ms)) {
      begin_close(c, now_ms_ >= c.end_deadline_ms ? CloseReason::duration : CloseReason::timeout);
    } else {
      wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
    }
    return;
  }
  out_.clear();
  if (now_ms_ >= c.end_deadline_ms) {
    c.reason = CloseReason::duration;
    c.session->duration_exceeded(out_);
  } else if (now_ms_ >= c.idle_deadline_ms) {
    c.reason = CloseReason::timeout;
    c.session->idle_timeout(out_);
  } else {
    // Traffic moved the idle deadline since this was armed.
    wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
    return;
  }
  handle_output(c);
}

}  // namespace ringmx::core
