// Accepting connections: multishot accept per listening socket, the
// max-connections check, and the 421 for connections over it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/listen_socket.h"
#include "core/log/log.h"
#include "core/shard.h"
#include "core/user_data.h"

namespace ringmx::core {
namespace {

// "203.0.113.7:41234" / "[2001:db8::1]:41234", and the bare address.
void describe(const sockaddr_storage& ss, std::string* with_port, std::string* ip) {
  char buf[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
    if (ip) *ip = buf;
    *with_port = fmt::format("{}:{}", buf, port);
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = ntohs(in6->sin6_port);
    if (ip) *ip = buf;
    *with_port = fmt::format("[{}]:{}", buf, port);
  } else {
    if (ip) *ip = "unknown";
    *with_port = "unknown";
  }
}

bool is_wildcard(const config::BindAddress& a) {
  if (a.family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a.addr)->sin_addr.s_addr == htonl(INADDR_ANY);
  return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&a.addr)->sin6_addr);
}

}  // namespace

void Shard::arm_accept(std::uint32_t index) {
  AcceptEntry& a = accepts_[index];
  if (a.armed || a.stopping) return;
  io_uring_sqe* s = sqe();
  // No address buffer: one buffer cannot serve every completion of a
  // multishot accept; the peer is read with getpeername() instead.
  io_uring_prep_multishot_accept(s, a.fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, encode(Op::accept, index));
  a.armed = true;
}

void Shard::stop_accept(std::uint32_t index) {
  AcceptEntry& a = accepts_[index];
  if (a.stopping || a.fd < 0) return;
  a.stopping = true;
  wheel_->disarm(&a.backoff);
  if (a.armed) {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel_fd(s, a.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(s, encode(Op::none, 0));
    return;  // closed when the accept's last completion arrives
  }
  on_accept_close(index);
}

// The accept request on a stopping socket ended: take what is already in
// its queue (with SO_REUSEPORT those connections were hashed to this
// socket and would be reset by close), then close it.
void Shard::on_accept_close(std::uint32_t index) {
  AcceptEntry& a = accepts_[index];
  if (a.fd < 0) return;
  if (!draining_) {
    for (;;) {
      int fd = accept4(a.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      open_connection(fd, a.view, a.address);
    }
  }
  ::close(a.fd);
  log::info("listener.closed", "shard={} listener={} addr={}", options_.index,
            a.view->runtime->listener->id, a.address->text);
  a.fd = -1;
  unuse(a.view);
  a.view = nullptr;
}

void Shard::on_accept(std::uint32_t index, const io_uring_cqe* cqe) {
  AcceptEntry& a = accepts_[index];
  const bool more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) a.armed = false;
  const int res = cqe->res;
  if (res >= 0) {
    if (a.stopping || draining_) {
      ::close(res);
    } else {
      ListenerView* v = a.view;
      ListenerCounters& counters = *v->runtime->counters;
      if (counters.connections.fetch_add(1, std::memory_order_relaxed) >=
          v->runtime->listener->max_connections) {
        counters.connections.fetch_sub(1, std::memory_order_relaxed);
        counters.rejected.fetch_add(1, std::memory_order_relaxed);
        reject(res, v);
      } else {
        open_connection(res, v, a.address);
      }
    }
  } else if (res == -EMFILE || res == -ENFILE) {
    // Out of descriptors: retrying at once would spin. Pause this socket;
    // closing connections free descriptors meanwhile.
    log::warn("listener.accept_paused", "shard={} listener={} addr={} error={} pause_ms={}",
              options_.index, a.view->runtime->listener->id, a.address->text,
              log::quote(std::strerror(-res)), ShardLimits::kAcceptBackoffMs);
    if (!more && !a.stopping) {
      wheel_->arm(&a.backoff, now_ms_ + ShardLimits::kAcceptBackoffMs);
      arm_tick();
    }
    return;
  } else if (res != -ECANCELED) {
    log::warn("listener.accept_error", "shard={} listener={} addr={} error={}", options_.index,
              a.view->runtime->listener->id, a.address->text, log::quote(std::strerror(-res)));
  }
  if (more) return;
  if (a.stopping)
    on_accept_close(index);
  else
    arm_accept(index);
}

// The 421 goes out like any last reply, and the connection closes the
// graceful way (linger): a client that spoke first would otherwise get an
// RST that may destroy the 421. It holds a slot and a descriptor until the
// client's EOF or kLingerMs at most, and is not counted in max-connections.
void Shard::reject(int fd, ListenerView* v) {
  ++stats_.rejected;
  Connection& c = new_connection(fd, v);
  c.rejected = true;
  c.sending = v->runtime->too_many_reply;
  c.close_after_send = true;
  c.reason = CloseReason::protocol;
  flush(c);
  log::info("conn.rejected",
            "shard={} listener={} reason=max-connections max_connections={} "
            "rejected_total={}",
            options_.index, v->runtime->listener->id, v->runtime->listener->max_connections,
            v->runtime->counters->rejected.load(std::memory_order_relaxed));
}

// A slot for `fd`, holding its listener view.
Connection& Shard::new_connection(int fd, ListenerView* v) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(connections_.size());
    connections_.emplace_back();
  }
  Connection& c = connections_[slot];
  c.fd = fd;
  c.view = v;
  ++v->users;
  c.opened_ms = now_ms_;
  c.timer.kind = kConnectionTimer;
  c.timer.owner = slot;
  ++live_;
  return c;
}

void Shard::open_connection(int fd, ListenerView* v, const config::BindAddress* bound) {
  const ListenerRuntime& rt = *v->runtime;
  apply_accepted_options(fd, bound->family, rt.listener->socket, reflect_tos_);

  smtp::ConnectionInfo info;
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
  describe(peer, &info.client, &info.client_ip);
  // The local address is the bound one unless the listener is a wildcard.
  if (!is_wildcard(*bound)) {
    info.local = bound->text;
  } else {
    sockaddr_storage local{};
    len = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    describe(local, &info.local, nullptr);
  }

  Connection& c = new_connection(fd, v);
  c.client = info.client;
  const config::SessionSettings& ss = rt.config->session;
  c.idle_deadline_ms = now_ms_ + static_cast<std::uint64_t>(ss.timeout.count());
  c.end_deadline_ms = now_ms_ + static_cast<std::uint64_t>(ss.duration.count());
  ++stats_.accepted;
  rt.counters->accepted.fetch_add(1, std::memory_order_relaxed);

  if (proxy_required(*v, peer)) {
    // A trusted peer: silent until its PROXY header is complete, and
    // server.proxy.timeout bounds the whole header (traffic does not
    // extend it: the idle deadline only moves once a session exists).
    c.proxy = std::make_unique<ProxyStage>();
    c.proxy->info = std::move(info);
    c.proxy->peer = peer;
    c.idle_deadline_ms = now_ms_ + static_cast<std::uint64_t>(rt.config->proxy_timeout.count());
    wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
    arm_tick();
    arm_recv(c);
    return;
  }
  wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
  arm_tick();
  start_session(c, std::move(info), peer);
  if (c.live()) arm_recv(c);
}

void Shard::start_session(Connection& c, smtp::ConnectionInfo info, const sockaddr_storage& peer) {
  const ListenerRuntime& rt = *c.view->runtime;
  if (rt.listener->protocol == config::Protocol::http) {
    http::SessionConfig hc;
    if (rt.listener->auth_token) hc.auth_token = *rt.listener->auth_token;
    hc.peer_is_loopback = http::is_loopback(peer);
    c.http = std::make_unique<http::Session>(*management_, hc);
    ++management_live_;
    return;  // HTTP: the client speaks first
  }
  if (tls_first(c, info)) return;  // implicit TLS: the greeting waits for the handshake
  c.session = std::make_unique<smtp::Session>(rt.smtp, ids_, clock_, std::move(info));
  out_.clear();
  c.session->start(out_);
  handle_output(c);
}

}  // namespace ringmx::core
