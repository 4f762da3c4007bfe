#include "tests/tls/mem_client.h"

#include <wolfssl/wolfio.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace ringmx::tls::testing {

std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

MemClient::MemClient(const ClientOptions& o) {
  ctx_ = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (ctx_ == nullptr) throw std::runtime_error("client ctx");
  if (o.trust_pem.empty()) {
    wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_NONE, nullptr);
  } else {
    wolfSSL_CTX_load_verify_buffer(ctx_, reinterpret_cast<const unsigned char*>(o.trust_pem.data()),
                                   static_cast<long>(o.trust_pem.size()), WOLFSSL_FILETYPE_PEM);
    wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_PEER, nullptr);
  }
  if (o.min_version != 0) wolfSSL_CTX_SetMinVersion(ctx_, o.min_version);
  if (o.max_version != 0) wolfSSL_CTX_set_max_proto_version(ctx_, o.max_version);
  if (!o.cipher_list.empty() &&
      wolfSSL_CTX_set_cipher_list(ctx_, o.cipher_list.c_str()) != WOLFSSL_SUCCESS) {
    throw std::runtime_error("client cipher list " + o.cipher_list);
  }
  wolfSSL_CTX_SetDevId(ctx_, o.dev_id);
  wolfSSL_CTX_SetIORecv(ctx_, &MemClient::recv_cb);
  wolfSSL_CTX_SetIOSend(ctx_, &MemClient::send_cb);
  ssl_ = wolfSSL_new(ctx_);
  if (ssl_ == nullptr) throw std::runtime_error("client ssl");
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  if (!o.sni.empty()) {
    wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, o.sni.data(), static_cast<word16>(o.sni.size()));
  }
}

MemClient::~MemClient() {
  wolfSSL_free(ssl_);
  wolfSSL_CTX_free(ctx_);
}

int MemClient::recv_cb(WOLFSSL*, char* buf, int size, void* self_arg) {
  auto* self = static_cast<MemClient*>(self_arg);
  const size_t avail = self->in_.size() - self->in_pos_;
  if (avail == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
  const size_t n = std::min(avail, static_cast<size_t>(size));
  std::memcpy(buf, self->in_.data() + self->in_pos_, n);
  self->in_pos_ += n;
  return static_cast<int>(n);
}

int MemClient::send_cb(WOLFSSL*, char* buf, int size, void* self_arg) {
  auto* self = static_cast<MemClient*>(self_arg);
  const auto* p = reinterpret_cast<const std::byte*>(buf);
  self->out_.insert(self->out_.end(), p, p + size);
  return size;
}

void MemClient::feed(std::span<const std::byte> bytes) {
  in_.insert(in_.end(), bytes.begin(), bytes.end());
}

std::vector<std::byte> MemClient::take_output() {
  std::vector<std::byte> out;
  out.swap(out_);
  return out;
}

bool MemClient::connect_step() {
  const int ret = wolfSSL_connect(ssl_);
  if (ret == WOLFSSL_SUCCESS) return true;
  const int err = wolfSSL_get_error(ssl_, ret);
  if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) {
    failed_ = true;
    last_error_ = err;
  }
  return false;
}

void MemClient::write(std::string_view plain) {
  if (wolfSSL_write(ssl_, plain.data(), static_cast<int>(plain.size())) !=
      static_cast<int>(plain.size())) {
    throw std::runtime_error("client write");
  }
}

std::string MemClient::read_all() {
  std::string out;
  char buf[4096];
  for (;;) {
    const int n = wolfSSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string MemClient::cipher() const {
  const int suite = wolfSSL_get_current_cipher_suite(ssl_);
  const char* name = wolfSSL_get_cipher_name_iana_from_suite(
      static_cast<unsigned char>(suite >> 8), static_cast<unsigned char>(suite & 0xff));
  return name ? name : "";
}

std::string MemClient::peer_common_name() const {
  WOLFSSL_X509* peer = wolfSSL_get_peer_certificate(ssl_);
  if (peer == nullptr) return {};
  char buf[256] = {};
  wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_subject_name(peer), NID_commonName, buf,
                                    sizeof buf);
  wolfSSL_X509_free(peer);
  return buf;
}

int MemClient::peer_chain_length() const {
  WOLFSSL_X509_CHAIN* chain = wolfSSL_get_peer_chain(ssl_);
  return chain ? wolfSSL_get_chain_count(chain) : 0;
}

PumpResult pump(Session& server, MemClient& client) {
  bool client_done = false;
  bool server_done = false;
  std::vector<std::byte> buf;
  int idle = 0;
  for (int round = 0; round < 64; ++round) {
    bool moved = false;
    if (!client_done) {
      client_done = client.connect_step();
      if (client.failed()) {
        // Deliver the client's alert so the server records why.
        server.feed(client.take_output());
        server.handshake();
        return PumpResult::client_failed;
      }
    }
    auto c_out = client.take_output();
    if (!c_out.empty()) {
      server.feed(c_out);
      moved = true;
    }
    const Handshake h = server.handshake();
    if (server.take_output(buf)) {
      client.feed(buf);
      moved = true;
    }
    if (h == Handshake::failed) {
      client.connect_step();  // let the client see the alert
      return PumpResult::server_failed;
    }
    server_done = h == Handshake::done;
    if (client_done && server_done && !moved) return PumpResult::established;
    idle = moved ? 0 : idle + 1;
    if (idle >= 2) return PumpResult::stalled;
  }
  return PumpResult::stalled;
}

}  // namespace ringmx::tls::testing
