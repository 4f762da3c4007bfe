#include "tls/ktls.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <liburing.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/log/log.h"

namespace ringmx::tls {
namespace {

// net/tls takes rec_seq as a big-endian 64-bit record number.
void put_be64(unsigned char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

struct Direction {
  const unsigned char* key;
  const unsigned char* iv;  // wolfSSL's write IV: 4 bytes (TLS 1.2 GCM) or 12
  uint64_t seq;
};

// AES-GCM. TLS 1.3 (RFC 8446 5.3): the 12-byte IV splits into salt (first
// 4) and iv (last 8); the kernel XORs the record number into salt||iv.
// TLS 1.2 (RFC 5288): salt is the 4-byte implicit IV, and iv is the first
// explicit nonce the kernel writes, then increments per record; any unique
// value is valid, and the record number is the customary choice (OpenSSL and
// GnuTLS do the same). On RX the kernel takes the explicit nonce from each
// record, so rx.iv is not used for TLS 1.2.
template <typename Info>
void fill_gcm(Info& info, uint16_t version, unsigned cipher, const Direction& d, size_t key_len) {
  info.info.version = version;
  info.info.cipher_type = static_cast<uint16_t>(cipher);
  std::memcpy(info.key, d.key, key_len);
  std::memcpy(info.salt, d.iv, sizeof info.salt);
  if (version == TLS_1_3_VERSION) {
    std::memcpy(info.iv, d.iv + sizeof info.salt, sizeof info.iv);
  } else {
    put_be64(info.iv, d.seq);
  }
  put_be64(info.rec_seq, d.seq);
}

// ChaCha20-Poly1305 (RFC 7905, RFC 8446): the whole 12-byte IV, no salt, no
// explicit nonce, the record number XORed in, for both versions.
void fill_chacha(tls12_crypto_info_chacha20_poly1305& info, uint16_t version, const Direction& d) {
  info.info.version = version;
  info.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
  std::memcpy(info.key, d.key, sizeof info.key);
  std::memcpy(info.iv, d.iv, sizeof info.iv);
  put_be64(info.rec_seq, d.seq);
}

std::optional<KtlsCryptoInfo> make_info(uint16_t version, int bulk, int key_size, int iv_size,
                                        const Direction& d) {
  KtlsCryptoInfo out;
  const int gcm_iv = version == TLS_1_3_VERSION ? 12 : 4;
  if (bulk == wolfssl_aes_gcm && key_size == 16 && iv_size == gcm_iv) {
    fill_gcm(out.aes_gcm_128, version, TLS_CIPHER_AES_GCM_128, d, 16);
    out.size = sizeof out.aes_gcm_128;
  } else if (bulk == wolfssl_aes_gcm && key_size == 32 && iv_size == gcm_iv) {
    fill_gcm(out.aes_gcm_256, version, TLS_CIPHER_AES_GCM_256, d, 32);
    out.size = sizeof out.aes_gcm_256;
  } else if (bulk == wolfssl_chacha && key_size == 32 && iv_size == 12) {
    fill_chacha(out.chacha20_poly1305, version, d);
    out.size = sizeof out.chacha20_poly1305;
  } else {
    return std::nullopt;
  }
  return out;
}

std::string errno_text(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

}  // namespace

std::optional<KtlsParams> ktls_params_from(WOLFSSL* ssl) {
  uint16_t version = 0;
  switch (wolfSSL_version(ssl)) {
    case TLS1_2_VERSION:
      version = TLS_1_2_VERSION;
      break;
    case TLS1_3_VERSION:
      version = TLS_1_3_VERSION;
      break;
    default:
      return std::nullopt;
  }
  // Both getters return `!seq` on success (so 1 when the number is 0) and
  // BAD_FUNC_ARG, negative, only for null arguments.
  word64 tx_seq = 0, rx_seq = 0;
  if (wolfSSL_GetSequenceNumber(ssl, &tx_seq) < 0 ||
      wolfSSL_GetPeerSequenceNumber(ssl, &rx_seq) < 0) {
    return std::nullopt;
  }
  const bool server = wolfSSL_GetSide(ssl) == WOLFSSL_SERVER_END;
  const Direction client{wolfSSL_GetClientWriteKey(ssl), wolfSSL_GetClientWriteIV(ssl), 0};
  const Direction srv{wolfSSL_GetServerWriteKey(ssl), wolfSSL_GetServerWriteIV(ssl), 0};
  if (client.key == nullptr || client.iv == nullptr || srv.key == nullptr || srv.iv == nullptr) {
    return std::nullopt;
  }
  Direction tx = server ? srv : client;
  Direction rx = server ? client : srv;
  tx.seq = tx_seq;
  rx.seq = rx_seq;

  const int bulk = wolfSSL_GetBulkCipher(ssl);
  const int key_size = wolfSSL_GetKeySize(ssl);
  const int iv_size = wolfSSL_GetIVSize(ssl);
  auto tx_info = make_info(version, bulk, key_size, iv_size, tx);
  auto rx_info = make_info(version, bulk, key_size, iv_size, rx);
  if (!tx_info || !rx_info) return std::nullopt;
  return KtlsParams{*tx_info, *rx_info};
}

std::optional<std::string> ktls_probe() {
  // The ULP can only attach to an established TCP socket, so the probe
  // needs a connected pair: listen on an ephemeral loopback port, connect,
  // accept, try TCP_ULP on the accepted end.
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return errno_text("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::optional<std::string> result;
  int cfd = -1, afd = -1;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 1) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    result = errno_text("loopback listen");
  } else if ((cfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
             ::connect(cfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    result = errno_text("loopback connect");
  } else if ((afd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC)) < 0) {
    result = errno_text("loopback accept");
  } else if (::setsockopt(afd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") != 0) {
    result = errno_text("setsockopt(TCP_ULP, tls)");
  }
  for (int fd : {afd, cfd, lfd}) {
    if (fd >= 0) ::close(fd);
  }
  return result;
}

bool ktls_available() {
  static std::once_flag once;
  static bool available = false;
  std::call_once(once, [] {
    const auto why_not = ktls_probe();
    available = !why_not.has_value();
    if (available) {
      log::info("tls.ktls", "ktls=available");
    } else {
      log::info("tls.ktls", "ktls=unavailable reason={}", log::quote(*why_not));
    }
  });
  return available;
}

bool ktls_wanted() {
  static const bool always = [] {
    const char* v = std::getenv("RINGMX_KTLS");
    return v != nullptr && std::string_view(v) == "try";
  }();
  return always || ktls_available();
}

namespace {
std::atomic<KtlsInstaller> g_installer{nullptr};
}  // namespace

void set_ktls_installer_for_tests(KtlsInstaller installer) {
  g_installer.store(installer);
}

std::optional<KtlsInstallError> ktls_install(int fd, const KtlsParams& params) {
  if (const KtlsInstaller installer = g_installer.load()) return installer(fd, params);
  if (::setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") != 0) {
    return KtlsInstallError{errno_text("setsockopt(TCP_ULP, tls)"), false};
  }
  const auto tx = params.tx.bytes();
  if (::setsockopt(fd, SOL_TLS, TLS_TX, tx.data(), static_cast<socklen_t>(tx.size())) != 0) {
    return KtlsInstallError{errno_text("setsockopt(SOL_TLS, TLS_TX)"), true};
  }
  const auto rx = params.rx.bytes();
  if (::setsockopt(fd, SOL_TLS, TLS_RX, rx.data(), static_cast<socklen_t>(rx.size())) != 0) {
    return KtlsInstallError{errno_text("setsockopt(SOL_TLS, TLS_RX)"), true};
  }
  return std::nullopt;
}

KtlsRecord classify_record(std::optional<std::uint8_t> record_type, bool control_truncated,
                           std::span<const char> payload) {
  KtlsRecord r;
  if (record_type) r.record_type = *record_type;
  if (control_truncated) {
    r.what = "control data truncated";
    return r;
  }
  const auto byte = [&](size_t i) { return static_cast<std::uint8_t>(payload[i]); };
  switch (record_type.value_or(kRecordApplicationData)) {
    case kRecordApplicationData:
      if (payload.empty()) {
        r.action = KtlsRecordAction::end;  // recvmsg returned 0: EOF
        r.what = "eof";
        return r;
      }
      r.action = KtlsRecordAction::data;
      r.payload = payload;
      return r;
    case kRecordAlert:
      if (payload.size() != 2) {
        r.what = fmt::format("alert of {} bytes", payload.size());
        return r;
      }
      if (byte(1) == 0) {  // close_notify (RFC 8446 6.1), whatever the level byte says
        r.action = KtlsRecordAction::end;
        r.what = "close_notify";
        return r;
      }
      r.what = fmt::format("alert {}", byte(1));
      return r;
    case kRecordHandshake:
      r.action = KtlsRecordAction::close_clean;
      if (payload.empty()) {
        r.what = "empty handshake record";
      } else if (byte(0) == 24) {
        r.what = "key_update";
      } else if (byte(0) == 4) {
        r.what = "new_session_ticket";
      } else {
        r.what = fmt::format("handshake message {}", byte(0));
      }
      return r;
    default:
      r.what = fmt::format("record type {}", *record_type);
      return r;
  }
}

msghdr ktls_recvmsg_template() {
  msghdr m{};
  m.msg_controllen = CMSG_SPACE(sizeof(std::uint8_t));
  return m;
}

KtlsRecord parse_ktls_recvmsg(std::span<const char> buffer, const msghdr& msg) {
  auto* base = const_cast<char*>(buffer.data());
  auto& m = const_cast<msghdr&>(msg);  // liburing's helpers take non-const; nothing is written
  io_uring_recvmsg_out* o = io_uring_recvmsg_validate(base, static_cast<int>(buffer.size()), &m);
  if (o == nullptr) {
    KtlsRecord r;
    r.what = "short recvmsg buffer";
    return r;
  }
  std::optional<std::uint8_t> type;
  for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(o, &m); c != nullptr;
       c = io_uring_recvmsg_cmsg_nexthdr(o, &m, c)) {
    if (c->cmsg_level == SOL_TLS && c->cmsg_type == TLS_GET_RECORD_TYPE &&
        c->cmsg_len >= CMSG_LEN(sizeof(std::uint8_t))) {
      type = *reinterpret_cast<const std::uint8_t*>(CMSG_DATA(c));
    }
  }
  const auto* payload = static_cast<const char*>(io_uring_recvmsg_payload(o, &m));
  const size_t avail = io_uring_recvmsg_payload_length(o, static_cast<int>(buffer.size()), &m);
  const size_t length = std::min<size_t>(avail, o->payloadlen);
  return classify_record(type, (o->flags & MSG_CTRUNC) != 0, {payload, length});
}

namespace {

struct CloseNotify {
  msghdr msg{};
  iovec iov{};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(std::uint8_t))] = {};
  unsigned char payload[2] = {1, 0};  // level warning, description close_notify

  CloseNotify() {
    iov.iov_base = payload;
    iov.iov_len = sizeof payload;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_TLS;
    c->cmsg_type = TLS_SET_RECORD_TYPE;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint8_t));
    *CMSG_DATA(c) = kRecordAlert;
  }
};

}  // namespace

const msghdr& close_notify_message() {
  static const CloseNotify notify;
  return notify.msg;
}

}  // namespace ringmx::tls
