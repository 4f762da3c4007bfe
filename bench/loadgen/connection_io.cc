// What happens to one connection: opening it, each completion (connect,
// recv, send), handing bytes to its session and TLS, and closing it.
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "bench/loadgen/worker_impl.h"

namespace ringmx::loadgen {

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
  c.connect_started = Clock::now();  // after socket() and bind(): the kernel's part only
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
    // A client reads only replies to what it just sent, so the reply is
    // almost never there yet: arm the poll at once instead of trying the
    // read first (IORING_RECVSEND_POLL_FIRST, kernel 5.19).
    s->ioprio |= IORING_RECVSEND_POLL_FIRST;
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
      if (c.tls->records()) stats.tls_record_layer.add();
      // Implicit TLS: the greeting phase starts when the handshake ends,
      // so that it measures the server, not the handshake twice.
      if (options.tls == TlsMode::implicit) c.connected = now;
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

namespace {

// `to` += `from`, without copying when `to` is empty (a 10 MiB body is
// then handed over, not copied again).
void append_or_take(std::string& to, std::string& from) {
  if (to.empty()) {
    std::swap(to, from);
  } else {
    to += from;
  }
}

}  // namespace

// Moves the session's output (through TLS when it is up) to the socket;
// one send in flight at a time, later output queued behind it.
void Worker::Impl::flush(Connection& c, std::uint32_t slot) {
  auto& out = c.session.output();
  if (!out.empty()) {
    if (c.tls && c.tls->established()) {
      if (c.tls->write(out) == TlsClient::Result::failed) c.session.abort("tls write");
    } else {
      append_or_take(c.wire, out);
    }
    out.clear();
  }
  if (c.tls && !c.tls->wire_output().empty()) {
    append_or_take(c.wire, c.tls->wire_output());
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
  // Held sessions stay idle until the run drains; a session that becomes
  // ready after that (its greeting was slow) says QUIT at once.
  if (c.session.idle() && (!c.held || draining)) next_message(c, slot, now);
  flush(c, slot);
  arm_read(c, slot);
  update_deadline(c, slot, now);
}

void Worker::Impl::next_message(Connection& c, std::uint32_t slot, Clock::time_point now) {
  if (c.reserved_message) {
    // Closed loop: the message taken for this session when it was opened.
    c.reserved_message = false;
    begin(c, now);
  } else if (draining || hold_mode()) {
    c.session.quit();
  } else if (open_loop()) {
    if (scheduled.empty()) {
      idle_slots.push_back(slot);
      return;
    }
    begin(c, scheduled.front());
    scheduled.pop_front();
  } else if (setup.budget->take()) {
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

}  // namespace ringmx::loadgen
