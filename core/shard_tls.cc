// TLS on the ring: the handshake (implicit from accept, or after the 220 to
// STARTTLS), records decrypted into PlainPool buffers for the engine, and
// replies encrypted into the connection's one send (see core/tls_stage.h).
//
// kTLS: the process probes once at start (tls::ktls_available(), logged by
// open_listeners). This runtime always continues in userspace after the
// handshake; handing an established session to the kernel is not wired
// here yet (the kernel this is built on has no kTLS to test it against).
#include <algorithm>
#include <cstring>

#include "core/log/log.h"
#include "core/shard.h"
#include "core/tls_stage.h"

namespace ringmx::core {
namespace {

std::span<const std::byte> as_bytes(std::span<const char> s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace

bool Shard::tls_first(Connection& c, smtp::ConnectionInfo& info) {
  const ListenerRuntime& rt = *c.view->runtime;
  if (!rt.tls) return false;
  c.tls = std::make_unique<TlsStage>();
  if (!rt.listener->tls.implicit) {
    c.tls->info = info;  // for tls_established() after STARTTLS
    return false;
  }
  c.tls->implicit = true;
  c.tls->info = std::move(info);
  begin_handshake(c);
  return true;
}

void Shard::begin_handshake(Connection& c) {
  const ListenerRuntime& rt = *c.view->runtime;
  TlsStage& t = *c.tls;
  t.session = std::make_unique<tls::Session>(rt.tls, c.client);
  t.state = TlsStage::State::handshaking;
  // tls.timeout bounds the whole handshake: traffic does not extend it.
  c.idle_deadline_ms = now_ms_ + static_cast<std::uint64_t>(rt.listener->tls.timeout.count());
  wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
  arm_tick();
}

void Shard::on_tls_bytes(Connection& c, std::span<const char> ciphertext) {
  TlsStage& t = *c.tls;
  t.session->feed(as_bytes(ciphertext));
  if (t.in_handshake()) {
    step_handshake(c);
    if (!c.live() || !t.established()) return;
  }
  decrypt_to_engine(c);
}

// Ciphertext produced by the session (handshake flights, alerts, replies to
// a KeyUpdate) goes out as it is, in order with everything queued before.
void Shard::queue_tls_output(Connection& c) {
  TlsStage& t = *c.tls;
  if (!t.session->take_output(t.cipher)) return;
  const std::string_view bytes(reinterpret_cast<const char*>(t.cipher.data()), t.cipher.size());
  if (c.send_armed)
    c.queued.append(bytes);
  else
    c.sending.append(bytes);
}

void Shard::step_handshake(Connection& c) {
  TlsStage& t = *c.tls;
  const tls::Handshake st = t.session->handshake();
  queue_tls_output(c);  // also after a failure: it may hold an alert
  if (st == tls::Handshake::in_progress) {
    flush(c);
    return;
  }
  if (st == tls::Handshake::failed) {
    t.session->log_failure();
    bump(metrics_->tls_failures);
    c.reason = CloseReason::tls_handshake;
    c.close_after_send = true;
    flush(c);
    return;
  }
  t.state = TlsStage::State::established;
  const tls::SessionInfo& si = t.session->info();
  t.info.tls_active = true;
  t.info.tls_description = si.version + " " + si.cipher;
  metrics_->record_tls(si.version, si.cipher);
  log::info("conn.tls", "shard={} listener={} client={} version={} cipher={} sni={} cert={}",
            options_.index, c.view->runtime->listener->id, c.client, si.version, si.cipher,
            si.sni.empty() ? "-" : si.sni, si.certificate);
  const ListenerRuntime& rt = *c.view->runtime;
  c.idle_deadline_ms = now_ms_ + static_cast<std::uint64_t>(rt.config->session.timeout.count());
  wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
  out_.clear();
  if (t.implicit) {
    c.session = std::make_unique<smtp::Session>(rt.smtp, ids_, clock_, std::move(t.info));
    c.session->start(out_);
  } else {
    c.session->tls_established(t.info, out_);
  }
  t.info = {};  // the engine has its copy
  handle_output(c);
}

// Every complete record fed so far, into the engine: one PlainPool buffer
// per engine call (up to 16 KiB), held by the body chunks that point into
// it until the spool wrote them.
void Shard::decrypt_to_engine(Connection& c) {
  TlsStage& t = *c.tls;
  const auto timeout = static_cast<std::uint64_t>(c.view->runtime->config->session.timeout.count());
  while (c.live() && c.session && !c.session->closed()) {
    const std::uint32_t index = plain_.acquire();
    const std::span<char> buf = plain_.buffer(index);
    std::size_t used = 0;
    tls::IoResult r;
    while (used < buf.size()) {
      r = t.session->read(std::as_writable_bytes(buf.subspan(used)));
      if (r.status != tls::IoResult::Status::ok || r.bytes == 0) break;
      used += r.bytes;
    }
    if (used > 0) {
      c.idle_deadline_ms = now_ms_ + timeout;
      out_.clear();
      c.session->receive(std::span<const char>(buf.data(), used), out_);
      handle_output(c);
    }
    plain_.release(index);
    if (!c.live()) return;
    queue_tls_output(c);
    if (r.status == tls::IoResult::Status::closed) {
      begin_close(c, CloseReason::disconnect);
      return;
    }
    if (r.status == tls::IoResult::Status::error) {
      log::warn("conn.tls_error", "shard={} listener={} client={} reason={}", options_.index,
                c.view->runtime->listener->id, c.client, log::quote(t.session->failure()));
      begin_close(c, CloseReason::io_error);
      return;
    }
    if (used < buf.size()) break;  // want_more: the next recv brings the rest
  }
  flush(c);
}

std::string_view Shard::encrypt_reply(Connection& c, std::string_view plain) {
  TlsStage& t = *c.tls;
  const auto r = t.session->write(std::as_bytes(std::span<const char>(plain.data(), plain.size())));
  if (r.status != tls::IoResult::Status::ok) {
    log::warn("conn.tls_error", "shard={} listener={} client={} reason={}", options_.index,
              c.view->runtime->listener->id, c.client, log::quote(t.session->failure()));
    c.reason = CloseReason::io_error;
    c.close_after_send = true;
    return {};
  }
  if (!t.session->take_output(t.cipher)) return {};
  return {reinterpret_cast<const char*>(t.cipher.data()), t.cipher.size()};
}

void Shard::close_tls(Connection& c) {
  if (!c.tls || !c.tls->established()) return;
  c.tls->session->shutdown();
  queue_tls_output(c);
}

void Shard::on_tls_timeout(Connection& c) {
  if (now_ms_ < std::min(c.idle_deadline_ms, c.end_deadline_ms)) {
    wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
    return;
  }
  c.tls->session->fail("timeout");
  c.tls->session->log_failure();
  bump(metrics_->tls_timeouts);
  c.reason = CloseReason::tls_timeout;
  begin_close(c, CloseReason::tls_timeout);
}

}  // namespace ringmx::core
