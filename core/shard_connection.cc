// A connection's I/O: multishot recv from the buffer ring into the engine,
// one send per engine call, and teardown in steps (cancel everything on the
// fd, close after the last completion, free then).
#include <sys/socket.h>
#include <unistd.h>

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

void Shard::arm_recv(Connection& c) {
  if (c.recv_armed || !c.live()) return;
  if (c.tls && arm_tls_recv(c)) return;  // kTLS recvmsg, or paused/switching (shard_tls.cc)
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = buffers_->group();
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
  if (res > 0) {
    const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    buffers_->take(bid);
    const std::span<const char> bytes = buffers_->view(bid, static_cast<std::uint32_t>(res));
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
    buffers_->release(bid);
  } else if (res == 0) {
    if (c.live() && c.proxy) refuse_proxy(c, ProxyRefusal::disconnect, "closed before the header");
    if (c.live()) begin_close(c, CloseReason::disconnect);
  } else if (res == -ENOBUFS) {
    // Every receive buffer is in use (bodies waiting for their spool
    // writes): back-pressure, not failure. Re-armed once buffers return.
    if (!starved_logged_) {
      log::warn("shard.buffers_exhausted", "shard={} buffers={} size={}", options_.index,
                buffers_->entries(), buffers_->buffer_size());
      starved_logged_ = true;
    }
    if (c.live()) starved_.push_back(slot_of(c));
    return;
  } else if (res != -ECANCELED) {
    if (c.live()) begin_close(c, CloseReason::io_error);
  }
  // A TLS connection switching to kTLS goes on at its recv's last
  // completion, whatever it was (arm_tls_recv, shard_tls.cc).
  if (!more && c.live() && (res > 0 || (c.tls && c.tls->switching))) arm_recv(c);
  if (c.closing && c.inflight == 0) finish_close(c);
}

void Shard::rearm_starved() {
  if (starved_.empty() || buffers_->outstanding() >= buffers_->entries()) return;
  std::vector<std::uint32_t> slots;
  slots.swap(starved_);
  for (std::uint32_t slot : slots) {
    Connection& c = connections_[slot];
    if (c.live()) arm_recv(c);
  }
  starved_logged_ = false;
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
        c.open_message = a.message;
        break;
      case smtp::Action::Kind::body_chunk:
        append_chunk(a.message, a.data);
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
        c.open_message = 0;
        break;
      }
      case smtp::Action::Kind::message_abort:
        sink_->abort(a.message);
        c.open_message = 0;
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
}

void Shard::queue_reply(Connection& c, std::string_view bytes) {
  if (c.tls && c.tls->established()) bytes = encrypt_reply(c, bytes);
  if (c.send_armed)
    c.queued.append(bytes);
  else
    c.sending.append(bytes);
}

// One send for everything queued: all replies of one read leave together.
void Shard::flush(Connection& c) {
  if (c.send_armed || c.fd < 0 || c.closing) return;
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
  if (c.sent == c.sending.size()) {
    // Everything left: what was produced meanwhile goes next; an idle
    // connection keeps no send memory.
    c.sent = 0;
    c.sending.swap(c.queued);
    std::string().swap(c.queued);
    if (c.sending.empty()) std::string().swap(c.sending);
  }
  flush(c);
  if (c.http_resume && c.live() && !c.send_armed) {
    c.http_resume = false;
    handle_http(c, c.http->resume());
  }
}

void Shard::begin_close(Connection& c, CloseReason reason) {
  if (c.closing || c.fd < 0) return;
  c.closing = true;
  if (c.reason == CloseReason::none || reason == CloseReason::io_error ||
      reason == CloseReason::disconnect)
    c.reason = reason;
  wheel_->disarm(&c.timer);
  if (c.open_message) {
    sink_->abort(c.open_message);  // a half-received message is not kept
    c.open_message = 0;
  }
  if (c.inflight == 0) {
    finish_close(c);
    return;
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, c.fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, encode(Op::cancel, slot_of(c), c.generation));
  ++c.inflight;
}

void Shard::on_cancel(Connection& c) {
  --c.inflight;
  if (c.inflight == 0) finish_close(c);
}

// Every request on the fd has completed: nothing in the kernel refers to
// this connection's memory any more.
void Shard::finish_close(Connection& c) {
  std::string counts;
  if (c.session) c.session->counts().append_summary(counts);
  log::info("conn.close", "shard={} listener={} client={} reason={} duration_ms={} bytes_in={} {}",
            options_.index, c.view->runtime->listener->id, c.client, to_string(c.reason),
            now_ms_ - c.opened_ms, c.session ? c.session->bytes_received() : 0, counts);
  // The slot is free before the client can see the close, so a client that
  // reconnects after EOF is not refused by max-connections.
  c.view->runtime->counters->connections.fetch_sub(1, std::memory_order_relaxed);
  const auto reason = static_cast<std::size_t>(c.reason);
  if (c.http) {
    bump(metrics_->management_closed[reason]);
    --management_live_;
  } else  // an SMTP/LMTP session, or a connection that never got one (PROXY refused)
    bump(metrics_->sessions_closed[reason]);
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

void Shard::on_connection_timer(Connection& c) {
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
