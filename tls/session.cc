#include "tls/session.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfio.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/log/log.h"
#include "tls/client_hello.h"
#include "tls/context.h"
#include "tls/crypto_offload.h"

namespace ringmx::tls {
namespace {

// Bytes kept for reading the ClientHello: one full record and its header.
constexpr size_t kHelloPeekMax = 5 + 16384 + 2048;

std::string error_text(int err) {
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(err), buf, sizeof buf);
  return buf;
}

}  // namespace

void Session::prepare_context(WOLFSSL_CTX* ctx) {
  wolfSSL_CTX_SetIORecv(ctx, &Session::recv_cb);
  wolfSSL_CTX_SetIOSend(ctx, &Session::send_cb);
  wolfSSL_CTX_set_servername_callback(ctx, &Session::sni_cb);
}

Session::Session(std::shared_ptr<const ServerContext> context, std::string peer)
    : context_(std::move(context)), peer_(std::move(peer)) {
  const auto& served = context_->default_served();
  ssl_ = wolfSSL_new(served.ctx);
  if (ssl_ == nullptr) {
    failure_ = "wolfSSL_new failed (out of memory)";
    return;
  }
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  info_.certificate = served.name;
  offloaded_ = wolfSSL_CTX_GetDevId(served.ctx, nullptr) != INVALID_DEVID;
}

Session::~Session() {
  if (ssl_ != nullptr) wolfSSL_free(ssl_);
}

int Session::recv_cb(WOLFSSL*, char* buf, int size, void* self_arg) {
  auto* self = static_cast<Session*>(self_arg);
  const size_t avail = self->in_.size() - self->in_pos_;
  if (avail == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
  const size_t n = std::min(avail, static_cast<size_t>(size));
  std::memcpy(buf, self->in_.data() + self->in_pos_, n);
  self->in_pos_ += n;
  if (self->in_pos_ == self->in_.size()) {
    self->in_.clear();
    self->in_pos_ = 0;
  }
  return static_cast<int>(n);
}

int Session::send_cb(WOLFSSL*, char* buf, int size, void* self_arg) {
  auto* self = static_cast<Session*>(self_arg);
  const auto* p = reinterpret_cast<const std::byte*>(buf);
  self->out_.insert(self->out_.end(), p, p + size);
  return size;
}

// Runs inside wolfSSL_accept once the ClientHello's extensions are parsed.
// Switching WOLFSSL_CTX swaps certificate and key, but the session's suite
// list was computed at wolfSSL_new from the default certificate's key type;
// re-applying the cipher list recomputes it, without which a TLS 1.2 client
// could not get ECDHE-ECDSA suites from an ECDSA SNI certificate behind an
// RSA default.
int Session::sni_cb(WOLFSSL* ssl, int* /*alert*/, void* /*ctx_arg*/) {
  auto* self = static_cast<Session*>(wolfSSL_GetIOReadCtx(ssl));
  const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
  if (self == nullptr || name == nullptr) return 0;
  self->info_.sni = name;
  const auto& served = self->context_->select(name);
  if (served.ctx == self->context_->default_served().ctx) return 0;
  if (wolfSSL_set_SSL_CTX(ssl, served.ctx) == nullptr ||
      wolfSSL_set_cipher_list(ssl, self->context_->cipher_list().c_str()) != WOLFSSL_SUCCESS) {
    self->failure_ = "cannot switch to the SNI certificate " + served.name;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (!self->context_->settings().ignore_client_order) wolfSSL_UseClientSuites(ssl);
  self->info_.certificate = served.name;
  return 0;
}

void Session::feed(std::span<const std::byte> ciphertext) {
  if (in_pos_ > 0 && in_pos_ >= in_.size() / 2) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_pos_));
    in_pos_ = 0;
  }
  in_.insert(in_.end(), ciphertext.begin(), ciphertext.end());
  if (!hello_done_) {
    const size_t room = kHelloPeekMax - hello_.size();
    hello_.insert(
        hello_.end(), ciphertext.begin(),
        ciphertext.begin() + static_cast<std::ptrdiff_t>(std::min(room, ciphertext.size())));
    const auto hello = peek_client_hello(hello_);
    if (hello.status != ClientHelloSummary::Status::need_more || hello_.size() >= kHelloPeekMax) {
      if (hello.status == ClientHelloSummary::Status::ok) {
        info_.offered = version_name(hello.max_version);
        if (info_.sni.empty()) info_.sni = std::string(hello.server_name);
      } else {
        info_.offered = "not-tls";
      }
      hello_done_ = true;
      hello_ = {};
    }
  }
}

Handshake Session::handshake() {
  if (!failure_.empty()) return Handshake::failed;
  if (done_) return Handshake::done;
  const OffloadScope offload(offloaded_);
  const int ret = wolfSSL_accept(ssl_);
  if (ret == WOLFSSL_SUCCESS) {
    done_ = true;
    fill_info();
    return Handshake::done;
  }
  const int err = wolfSSL_get_error(ssl_, ret);
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
    return Handshake::in_progress;
  }
  record_error(err, "handshake");
  return Handshake::failed;
}

bool Session::take_output(std::vector<std::byte>& out) {
  out.clear();
  if (out_.empty()) return false;
  out.swap(out_);
  return true;
}

IoResult Session::read(std::span<std::byte> plain) {
  if (!failure_.empty()) return {IoResult::Status::error, 0};
  const int want = static_cast<int>(std::min(plain.size(), static_cast<size_t>(INT_MAX)));
  const OffloadScope offload(offloaded_);  // a KeyUpdate derives keys
  const int ret = wolfSSL_read(ssl_, plain.data(), want);
  if (ret > 0) return {IoResult::Status::ok, static_cast<size_t>(ret)};
  const int err = wolfSSL_get_error(ssl_, ret);
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
    return {IoResult::Status::want_more, 0};
  }
  if (err == WOLFSSL_ERROR_ZERO_RETURN) return {IoResult::Status::closed, 0};
  record_error(err, "read");
  return {IoResult::Status::error, 0};
}

IoResult Session::write(std::span<const std::byte> plain) {
  if (!failure_.empty()) return {IoResult::Status::error, 0};
  const OffloadScope offload(offloaded_);
  size_t done = 0;
  while (done < plain.size()) {
    const int chunk = static_cast<int>(std::min(plain.size() - done, static_cast<size_t>(1 << 30)));
    const int ret = wolfSSL_write(ssl_, plain.data() + done, chunk);
    if (ret <= 0) {
      record_error(wolfSSL_get_error(ssl_, ret), "write");
      return {IoResult::Status::error, done};
    }
    done += static_cast<size_t>(ret);
  }
  return {IoResult::Status::ok, done};
}

void Session::shutdown() {
  if (ssl_ != nullptr && done_) wolfSSL_shutdown(ssl_);
}

void Session::fail(std::string_view reason) {
  if (failure_.empty()) failure_ = reason;
}

void Session::record_error(int err, std::string_view during) {
  if (!failure_.empty()) return;  // the first cause is the one worth logging
  failure_ = fmt::format("{}: {}", during, error_text(err));
}

void Session::log_failure() const {
  log::warn("tls.handshake_failed", "client={} sni={} offered={} reason={}", log::quote(peer_),
            log::quote(info_.sni.empty() ? "-" : info_.sni),
            info_.offered.empty() ? "-" : info_.offered,
            log::quote(failure_.empty() ? "unknown" : failure_));
}

size_t Session::pending_plaintext() const {
  return ssl_ == nullptr ? 0 : static_cast<size_t>(std::max(0, wolfSSL_pending(ssl_)));
}

std::optional<KtlsParams> Session::ktls_params() const {
  if (!done_) return std::nullopt;
  return ktls_params_from(ssl_);
}

void Session::fill_info() {
  info_.version = wolfSSL_get_version(ssl_);
  const int suite = wolfSSL_get_current_cipher_suite(ssl_);
  const char* iana = wolfSSL_get_cipher_name_iana_from_suite(
      static_cast<unsigned char>((suite >> 8) & 0xff), static_cast<unsigned char>(suite & 0xff));
  info_.cipher = iana != nullptr ? iana : wolfSSL_get_cipher_name(ssl_);
}

}  // namespace ringmx::tls
