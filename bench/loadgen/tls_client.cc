#include "bench/loadgen/tls_client.h"

#include <wolfssl/wolfcrypt/ecc.h>

#include <fmt/format.h>

#include <stdexcept>

namespace ringmx::loadgen {

TlsContext::TlsContext() {
  // Highest version both sides support (TLS 1.2 or 1.3).
  ctx_ = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (!ctx_) throw std::runtime_error("wolfSSL_CTX_new failed");
  // Loopback benchmarking against throw-away certificates: no verification.
  wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_NONE, nullptr);
}

TlsContext::~TlsContext() {
  wolfSSL_CTX_free(ctx_);
  // Debian's wolfSSL has FP_ECC with HAVE_THREAD_LS: each thread that did
  // ECC keeps a cache of fixed-point tables in thread-local storage, freed
  // only by this call on that thread. A TlsContext lives and dies on its
  // worker's thread.
  wc_ecc_fp_free();
}

TlsClient::TlsClient(const TlsContext& context, std::string_view sni) {
  ssl_ = wolfSSL_new(context.get());
  if (!ssl_) throw std::runtime_error("wolfSSL_new failed");
  wolfSSL_SSLSetIORecv(ssl_, &TlsClient::on_recv);
  wolfSSL_SSLSetIOSend(ssl_, &TlsClient::on_send);
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  if (!sni.empty())
    wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, sni.data(),
                   static_cast<unsigned short>(sni.size()));
}

TlsClient::~TlsClient() {
  wolfSSL_free(ssl_);
}

int TlsClient::on_recv(WOLFSSL*, char* buf, int size, void* self) {
  auto* t = static_cast<TlsClient*>(self);
  std::size_t avail = t->wire_in_.size() - t->wire_in_used_;
  if (avail == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
  std::size_t n = avail < static_cast<std::size_t>(size) ? avail : static_cast<std::size_t>(size);
  t->wire_in_.copy(buf, n, t->wire_in_used_);
  t->wire_in_used_ += n;
  if (t->wire_in_used_ == t->wire_in_.size()) {
    t->wire_in_.clear();
    t->wire_in_used_ = 0;
  }
  return static_cast<int>(n);
}

int TlsClient::on_send(WOLFSSL*, char* buf, int size, void* self) {
  static_cast<TlsClient*>(self)->wire_out_.append(buf, static_cast<std::size_t>(size));
  return size;
}

TlsClient::Result TlsClient::handshake() {
  if (established_) return Result::done;
  int rc = wolfSSL_connect(ssl_);
  if (rc == WOLFSSL_SUCCESS) {
    established_ = true;
    start_records();
    return Result::done;
  }
  int err = wolfSSL_get_error(ssl_, rc);
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return Result::want_more;
  last_error_ = err;
  return Result::failed;
}

// Only when wolfSSL holds no decrypted data: it reads no further than the
// server's last handshake record, and what came after is still in wire_in_.
void TlsClient::start_records() {
  if (wolfSSL_pending(ssl_) > 0) return;
  const auto params = tls::ktls_params_from(ssl_);
  if (!params) return;
  records_ = tls::RecordLayer::create(*params);
  if (!records_) return;
  wire_in_.erase(0, wire_in_used_);
  wire_in_used_ = 0;
  plain_.resize(tls::RecordLayer::kMaxPlaintext);
}

TlsClient::Result TlsClient::read_records(std::string& out) {
  using Status = tls::RecordLayer::Opened::Status;
  std::span<const char> input(wire_in_);
  for (;;) {
    const auto r = records_->open(input, std::span(plain_).subspan(plain_at_));
    input = input.subspan(r.consumed);
    out.append(plain_.data() + plain_at_, r.ready);
    // A record half-way in stays where it is, right after what was taken.
    plain_at_ = r.status == Status::need_input && records_->partial() ? plain_at_ + r.ready : 0;
    switch (r.status) {
      case Status::need_input:
        wire_in_.clear();
        return Result::want_more;
      case Status::need_buffer:
        continue;  // plain_ is whole again
      case Status::control:
        // A TLS 1.3 NewSessionTicket (handshake, 22): nothing to do. An
        // alert (close_notify after 221, or an error) ends the session.
        if (r.record_type == 22) continue;
        records_error_ = fmt::format(
            "alert record {}",
            r.body.size() >= 2 ? static_cast<int>(static_cast<unsigned char>(r.body[1])) : -1);
        return Result::failed;
      case Status::error:
        records_error_ = std::string(r.what);
        return Result::failed;
    }
  }
}

void TlsClient::shutdown() {
  if (records_) {
    records_->seal_alert(1, 0, wire_out_);  // close_notify
    return;
  }
  wolfSSL_shutdown(ssl_);
}

TlsClient::Result TlsClient::read(std::string& out) {
  if (records_) return read_records(out);
  char buf[16384];
  while (true) {
    int n = wolfSSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    int err = wolfSSL_get_error(ssl_, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return Result::want_more;
    last_error_ = err;
    return Result::failed;  // includes close_notify from the server
  }
}

TlsClient::Result TlsClient::write(std::string_view plaintext) {
  if (records_) {
    records_->seal(plaintext, wire_out_);
    return Result::done;
  }
  // Our send callback never blocks, so wolfSSL_write takes everything at once.
  while (!plaintext.empty()) {
    int n = wolfSSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
    if (n <= 0) {
      last_error_ = wolfSSL_get_error(ssl_, n);
      return Result::failed;
    }
    plaintext.remove_prefix(static_cast<std::size_t>(n));
  }
  return Result::done;
}

std::string TlsClient::last_error() const {
  if (!records_error_.empty()) return records_error_;
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(last_error_), text, sizeof text);
  return fmt::format("{} ({})", last_error_, text);
}

}  // namespace ringmx::loadgen
