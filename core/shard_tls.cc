// TLS on the ring: the handshake (implicit from accept, or after the 220 to
// STARTTLS), records decrypted into PlainPool buffers for the engine, and
// replies encrypted into the connection's one send (see core/tls_stage.h).
//
// Record mode (the default without kTLS): once the handshake is done, the
// session's keys (the crypto_info kTLS would take) go to a
// tls::RecordLayer, which opens records straight from the receive buffers
// into PlainPool buffers and seals replies into the send buffer; wolfSSL's
// session is freed. A suite the layer lacks, or plaintext wolfSSL already
// decrypted, keeps wolfSSL's record layer (crypto=wolfssl in conn.tls).
//
// kTLS: the process probes once at start (tls::ktls_available(), logged by
// open_listeners). When the kernel has it (or RINGMX_KTLS=try), each
// established session is offered to it: the userspace recv is cancelled,
// and once its last completion arrived (every byte read off the socket is
// in the session), a session whose input wolfSSL consumed whole and whose
// handshake output has left gets TLS_TX/TLS_RX; from then on replies are
// plain sends and reads a multishot recvmsg whose buffers hold plaintext
// and the record type (tls::parse_ktls_recvmsg). Anything else stays in
// userspace, counted by reason. The kernel this is developed on has no
// kTLS: kernel-mode I/O is compiled, not run; the switch runs with
// RINGMX_KTLS=try (refused by TCP_ULP), the record handling is unit-tested.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/log/log.h"
#include "core/metrics.h"
#include "core/shard.h"
#include "core/tls_stage.h"
#include "core/user_data.h"
#include "tls/ktls.h"

namespace ringmx::core {
namespace {

std::span<const std::byte> as_bytes(std::span<const char> s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// RINGMX_TLS_RECORDS=wolfssl keeps wolfSSL's record layer after the
// handshake (benchmarks compare the two); anything else, or unset, uses
// tls::RecordLayer. Read once.
bool records_wanted() {
  static const bool wanted = [] {
    const char* v = std::getenv("RINGMX_TLS_RECORDS");
    return v == nullptr || std::string_view(v) != "wolfssl";
  }();
  return wanted;
}

constexpr std::uint8_t kAlertWarning = 1;
constexpr std::uint8_t kAlertFatal = 2;
constexpr std::uint8_t kCloseNotify = 0;
constexpr std::uint8_t kInternalError = 80;

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
  if (t.kernel) {
    on_ktls_bytes(c, ciphertext);  // not ciphertext: a recvmsg buffer of plaintext
    return;
  }
  if (t.records) {
    if (t.paused)
      t.backlog.append(ciphertext.data(), ciphertext.size());  // opened by resume_tls_reads
    else
      open_records(c, ciphertext);
    return;
  }
  t.session->feed(as_bytes(ciphertext));  // switching: kept for wolfSSL until the decision
  if (t.in_handshake()) {
    step_handshake(c);  // goes on into the engine (or the kTLS switch) when done
    return;
  }
  if (!t.paused && !t.switching) decrypt_to_engine(c);  // paused: kept until resume_tls_reads()
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
  const ListenerRuntime& rt = *c.view->runtime;
  c.idle_deadline_ms = now_ms_ + static_cast<std::uint64_t>(rt.config->session.timeout.count());
  wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
  if (tls::ktls_wanted()) {
    begin_ktls_switch(c);
    return;
  }
  tls_ready(c, start_records(c) ? "userspace" : "wolfssl");
}

// Hands the record crypto from wolfSSL to a tls::RecordLayer with the keys
// and sequence numbers wolfSSL ends the handshake with. Ciphertext fed but
// not consumed (what came behind the client's Finished) goes to the
// backlog, opened by tls_ready once the engine exists. False, with nothing
// changed, when the suite has no record layer or wolfSSL already decrypted
// application data (it reads no further than Finished, so only a peer
// that pipelined in a way wolfSSL buffered would do that).
bool Shard::start_records(Connection& c) {
  TlsStage& t = *c.tls;
  if (!records_wanted() || t.session->pending_plaintext() > 0) return false;
  const auto params = t.session->ktls_params();
  if (!params) return false;
  t.records = tls::RecordLayer::create(*params);
  if (!t.records) return false;
  const auto rest = t.session->unconsumed();
  t.backlog.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
  return true;
}

void Shard::tls_ready(Connection& c, std::string_view crypto) {
  TlsStage& t = *c.tls;
  const tls::SessionInfo& si = t.session->info();
  const ListenerRuntime& rt = *c.view->runtime;
  log::info("conn.tls",
            "shard={} listener={} client={} version={} cipher={} sni={} cert={} crypto={}",
            options_.index, rt.listener->id, c.client, si.version, si.cipher,
            si.sni.empty() ? "-" : si.sni, si.certificate, crypto);
  out_.clear();
  if (t.implicit) {
    c.session = std::make_unique<smtp::Session>(rt.smtp, ids_, clock_, std::move(t.info));
    c.session->start(out_);
  } else {
    c.session->tls_established(t.info, out_);
    // The client speaks first after STARTTLS, so a TLS 1.3 session ticket
    // (all a 1.3 server sends after the client's Finished) rides with the
    // reply to its EHLO: one send and one wake-up of the client fewer per
    // handshake. Not in TLS 1.2, whose server Finished comes last and is
    // awaited by the client.
    c.hold_send = !t.kernel && si.version == "TLSv1.3";
  }
  t.info = {};  // the engine has its copy
  if (t.records) {
    // wolfSSL's part is over: its buffers and key copies go now (it wipes
    // them), as under kTLS.
    t.session.reset();
    std::vector<std::byte>().swap(t.cipher);
  }
  handle_output(c);
  if (c.live() && !t.kernel) decrypt_to_engine(c);  // what came behind the client's Finished
}

// Opens records from `input` into the connection's PlainPool buffer and
// gives the engine each run of authenticated application data. Body
// chunks hold the buffer as they hold a receive buffer (append_chunk); the
// connection's own hold goes as soon as no record is half-way in it.
void Shard::open_records(Connection& c, std::span<const char> input) {
  TlsStage& t = *c.tls;
  const auto timeout = static_cast<std::uint64_t>(c.view->runtime->config->session.timeout.count());
  while (c.live() && c.session && !c.session->closed()) {
    if (t.plain_index == TlsStage::kNoBuffer) {
      if (input.empty()) break;
      if (plain_.full()) {
        // Nothing opens until the spool gives buffers back.
        t.backlog.append(input.data(), input.size());
        pause_tls_reads(c);
        break;
      }
      t.plain_index = plain_.acquire();
      t.plain_used = 0;
      metrics_->tls_plain_buffers.store(plain_.allocated(), std::memory_order_relaxed);
    }
    const std::span<char> plain = plain_.buffer(t.plain_index).subspan(t.plain_used);
    const tls::RecordLayer::Opened r = t.records->open(input, plain);
    input = input.subspan(r.consumed);
    if (r.ready > 0) {
      c.idle_deadline_ms = now_ms_ + timeout;
      t.plain_used += static_cast<std::uint32_t>(r.ready);
      out_.clear();
      c.session->receive(std::span<const char>(plain.data(), r.ready), out_);
      handle_output(c);
      if (!c.live()) return;
    }
    using Status = tls::RecordLayer::Opened::Status;
    if (r.status == Status::need_input) {
      if (!t.records->partial()) release_plain_buffer(c);  // an idle connection holds none
      break;
    }
    const ListenerRuntime& rt = *c.view->runtime;
    if (r.status == Status::need_buffer && t.plain_used > 0) {
      release_plain_buffer(c);
      continue;
    }
    if (r.status == Status::need_buffer || r.status == Status::error) {
      // (A whole buffer always takes a record: need_buffer on a fresh one
      // would be a bug, and must not spin.)
      log::warn("conn.tls_error", "shard={} listener={} client={} reason={}", options_.index,
                rt.listener->id, c.client,
                log::quote(r.status == Status::error ? r.what : "record larger than a buffer"));
      std::string& to = c.send_armed ? c.queued : c.sending;
      t.records->seal_alert(kAlertFatal, r.status == Status::error ? r.alert : kInternalError, to);
      c.reason = CloseReason::io_error;
      c.close_after_send = true;
      break;
    }
    // A control record: the same decisions as under kTLS.
    const tls::KtlsRecord record = tls::classify_record(r.record_type, false, r.body);
    if (record.action == tls::KtlsRecordAction::data) continue;  // not produced by the layer
    on_tls_control(c, record);
    return;
  }
  flush(c);
}

void Shard::release_plain_buffer(Connection& c) {
  TlsStage& t = *c.tls;
  if (t.plain_index == TlsStage::kNoBuffer) return;
  plain_.release(t.plain_index);
  t.plain_index = TlsStage::kNoBuffer;
  t.plain_used = 0;
}

// A record that is not application data, under kTLS or in record mode:
// close_notify ends the session like EOF, a post-handshake handshake
// message (KeyUpdate, renegotiation) closes it cleanly, anything else at
// once.
void Shard::on_tls_control(Connection& c, const tls::KtlsRecord& r) {
  const ListenerRuntime& rt = *c.view->runtime;
  switch (r.action) {
    case tls::KtlsRecordAction::data:
      return;
    case tls::KtlsRecordAction::end:  // EOF or close_notify
      begin_close(c, CloseReason::disconnect);
      return;
    case tls::KtlsRecordAction::close_clean:
      log::info("conn.tls_record", "shard={} listener={} client={} record={} action=close",
                options_.index, rt.listener->id, c.client, log::quote(r.what));
      close_tls(c);  // close_notify after what is queued
      c.close_after_send = true;
      if (c.reason == CloseReason::none) c.reason = CloseReason::protocol;
      flush(c);
      return;
    case tls::KtlsRecordAction::close_abort:
      log::warn("conn.tls_record", "shard={} listener={} client={} record={} action=abort",
                options_.index, rt.listener->id, c.client, log::quote(r.what));
      begin_close(c, CloseReason::io_error);
      return;
  }
}

// Every complete record fed so far, into the engine: one PlainPool buffer
// per engine call (up to 16 KiB), held by the body chunks that point into
// it until the spool wrote them.
void Shard::decrypt_to_engine(Connection& c) {
  TlsStage& t = *c.tls;
  if (t.records) {
    // The backlog: records behind the handshake, or what waited while paused.
    std::string pending;
    pending.swap(t.backlog);
    open_records(c, pending);
    return;
  }
  const auto timeout = static_cast<std::uint64_t>(c.view->runtime->config->session.timeout.count());
  while (c.live() && c.session && !c.session->closed()) {
    if (plain_.full()) {
      // Nothing decrypts until the spool gives buffers back; only a
      // connection with ciphertext waiting needs to stop reading.
      if (t.session->unconsumed_input() > 0 || t.session->pending_plaintext() > 0)
        pause_tls_reads(c);
      break;
    }
    const std::uint32_t index = plain_.acquire();
    metrics_->tls_plain_buffers.store(plain_.allocated(), std::memory_order_relaxed);
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
  if (t.kernel) return plain;  // the kernel seals what is sent
  if (t.records) {
    t.records->seal(plain, c.send_armed ? c.queued : c.sending);
    return {};  // sealed in place
  }
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
  if (c.tls->kernel) {
    c.tls->close_notify_pending = true;  // sent by flush() after the last reply
    return;
  }
  if (c.tls->records) {
    c.tls->records->seal_alert(kAlertWarning, kCloseNotify, c.send_armed ? c.queued : c.sending);
    return;
  }
  c.tls->session->shutdown();
  queue_tls_output(c);
}

void Shard::on_tls_timeout(Connection& c) {
  if (c.tls->switching) {
    // The kTLS switch takes one ring round trip and an implicit-TLS
    // engine does not exist before it: the session's deadlines are looked
    // at again on the next tick, when it does.
    wheel_->arm(&c.timer, now_ms_ + ShardLimits::kTickMs);
    return;
  }
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

// ---- Back-pressure on the plaintext pool ----

void Shard::pause_tls_reads(Connection& c) {
  TlsStage& t = *c.tls;
  if (t.paused) return;
  t.paused = true;
  bump(metrics_->tls_reads_paused);
  tls_paused_.push_back(slot_of(c));
  if (!tls_paused_logged_) {
    log::warn("shard.tls_buffers_exhausted", "shard={} buffers={} size={}", options_.index,
              plain_.limit(), PlainPool::kBufferSize);
    tls_paused_logged_ = true;
  }
  // The ciphertext stays in the session; with the recv gone the socket's
  // receive queue fills and TCP closes the client's window. Completions
  // already on their way are still fed (arm_tls_recv keeps it disarmed).
  if (c.recv_armed) {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel64(s, encode(Op::recv, slot_of(c), c.generation), 0);
    io_uring_sqe_set_data64(s, encode(Op::none, 0));
  }
}

bool Shard::resume_tls_reads() {
  if (tls_paused_.empty() || !plain_.can_resume()) return false;
  std::vector<std::uint32_t> slots;
  slots.swap(tls_paused_);
  bool resumed = false;
  for (const std::uint32_t slot : slots) {
    Connection& c = connections_[slot];
    if (!c.live() || !c.tls || !c.tls->paused) continue;  // closed meanwhile
    // Still armed: the recv pause_tls_reads cancelled has not completed
    // yet (its cancel may not even be submitted), and re-arming is only
    // safe after that; its last completion comes back through the loop.
    // Full: the next ones wait for the next release.
    if (c.recv_armed || plain_.full()) {
      tls_paused_.push_back(slot);
      continue;
    }
    c.tls->paused = false;
    resumed = true;
    decrypt_to_engine(c);                         // may pause it again
    if (c.live() && !c.tls->paused) arm_recv(c);  // everything buffered went through
  }
  if (tls_paused_.empty()) tls_paused_logged_ = false;
  return resumed;
}

// ---- kTLS ----

void Shard::begin_ktls_switch(Connection& c) {
  TlsStage& t = *c.tls;
  t.switching = true;
  flush(c);  // the handshake's last flight, still sealed by wolfSSL
  if (!c.recv_armed) {
    finish_ktls_switch(c);
    return;
  }
  // Bytes the armed recv already read are ciphertext wolfSSL must see
  // first: decide at its last completion (on_recv -> arm_tls_recv).
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, encode(Op::recv, slot_of(c), c.generation), 0);
  io_uring_sqe_set_data64(s, encode(Op::none, 0));
}

void Shard::finish_ktls_switch(Connection& c) {
  TlsStage& t = *c.tls;
  t.switching = false;
  std::optional<KtlsDecline> declined;
  std::optional<tls::KtlsParams> params;
  if (t.session->unconsumed_input() > 0 || t.session->pending_plaintext() > 0) {
    declined = KtlsDecline::buffered_input;  // records behind Finished: RX cannot move
  } else if (c.send_armed || c.sent != c.sending.size() || !c.queued.empty()) {
    declined = KtlsDecline::send_pending;  // sealed bytes not yet in the socket
  } else if (!(params = t.session->ktls_params())) {
    declined = KtlsDecline::cipher;
  } else if (auto err = tls::ktls_install(c.fd, *params)) {
    if (err->attached) {
      log::warn("conn.ktls_failed", "shard={} listener={} client={} reason={}", options_.index,
                c.view->runtime->listener->id, c.client, log::quote(err->reason));
      begin_close(c, CloseReason::io_error);
      return;
    }
    declined = KtlsDecline::refused;
  }
  if (declined) {
    bump(metrics_->tls_ktls_declined[static_cast<std::size_t>(*declined)]);
    const bool records = start_records(c);
    tls_ready(c, fmt::format("{} ktls_declined={}", records ? "userspace" : "wolfssl",
                             to_string(*declined)));
  } else {
    t.kernel = true;
    t.recvmsg_template = tls::ktls_recvmsg_template();
    bump(metrics_->tls_ktls_offloads);
    tls_ready(c, "kernel");
    // The kernel has the keys and sequence numbers: wolfSSL's state (its
    // buffers, and keys it wipes when freed) is not needed any more.
    t.session.reset();
    std::vector<std::byte>().swap(t.cipher);
  }
  if (c.live()) arm_recv(c);
}

// Called with no recv armed.
bool Shard::arm_tls_recv(Connection& c) {
  TlsStage& t = *c.tls;
  if (t.paused) return true;  // resume_tls_reads re-arms
  if (t.switching) {
    finish_ktls_switch(c);  // the userspace recv has ended: decide, then arm
    return true;
  }
  if (!t.kernel) return false;  // the ordinary multishot recv
  io_uring_sqe* s = sqe();
  io_uring_prep_recvmsg_multishot(s, c.fd, &t.recvmsg_template, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  c.recv_group = buffers_->group();  // plaintext the engine points into
  s->buf_group = c.recv_group;
  io_uring_sqe_set_data64(s, encode(Op::recv, slot_of(c), c.generation));
  c.recv_armed = true;
  ++c.inflight;
  return true;
}

// One kernel-mode recvmsg completion (header, record-type cmsg, payload).
// Data goes to the engine straight from the receive buffer: body chunks
// hold it as they hold a plain recv's (append_chunk).
void Shard::on_ktls_bytes(Connection& c, std::span<const char> buffer) {
  TlsStage& t = *c.tls;
  const tls::KtlsRecord r = tls::parse_ktls_recvmsg(buffer, t.recvmsg_template);
  if (!c.live() || c.session->closed()) return;
  if (r.action != tls::KtlsRecordAction::data) {
    on_tls_control(c, r);
    return;
  }
  const ListenerRuntime& rt = *c.view->runtime;
  c.idle_deadline_ms = now_ms_ + static_cast<std::uint64_t>(rt.config->session.timeout.count());
  out_.clear();
  c.session->receive(r.payload, out_);
  handle_output(c);
}

void Shard::send_close_notify(Connection& c) {
  if (!c.tls || !c.tls->kernel || !c.tls->close_notify_pending) return;
  c.tls->close_notify_pending = false;
  // flush() found every reply sent, so the alert is the last record. One
  // non-blocking sendmsg of an immutable message: a client whose window is
  // closed misses it, as it would miss a send cancelled by the close.
  ::sendmsg(c.fd, &tls::close_notify_message(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace ringmx::core
