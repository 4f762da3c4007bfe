// Kernel TLS offload: the crypto_info the kernel takes for TLS_TX/TLS_RX,
// built from a finished wolfSSL session, the run-time probe, and installing
// on a socket.
//
// The kernel this project is developed on has no kTLS (TCP_ULP "tls" gives
// ENOENT), so the structures are proven in tests/tls/ktls_proof_test.cc by
// sealing and opening records exactly as net/tls does and checking that a
// wolfSSL peer agrees, for every suite that maps here.
#pragma once

#include <linux/tls.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

struct WOLFSSL;

namespace ringmx::tls {

// One direction's crypto_info, exactly as passed to setsockopt(SOL_TLS, ...).
struct KtlsCryptoInfo {
  union {
    tls_crypto_info base;  // version and cipher_type, common to all three
    tls12_crypto_info_aes_gcm_128 aes_gcm_128;
    tls12_crypto_info_aes_gcm_256 aes_gcm_256;
    tls12_crypto_info_chacha20_poly1305 chacha20_poly1305;
  };
  size_t size = 0;  // bytes of the active member: the setsockopt optlen

  KtlsCryptoInfo() : base{} {}
  std::span<const std::byte> bytes() const {
    return {reinterpret_cast<const std::byte*>(&base), size};
  }
};

struct KtlsParams {
  KtlsCryptoInfo tx;  // what this side sends with
  KtlsCryptoInfo rx;  // what this side receives with
};

// Builds both directions from an established session: keys and IVs from the
// ATOMIC_USER getters chosen by wolfSSL_GetSide(), the record sequence
// numbers read from wolfSSL (wolfSSL_GetSequenceNumber for TX,
// wolfSSL_GetPeerSequenceNumber for RX). nullopt when the suite has no kernel
// cipher (only AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 map) or the
// version is not TLS 1.2/1.3.
std::optional<KtlsParams> ktls_params_from(WOLFSSL* ssl);

// Once per process: attaches the "tls" ULP to a connected loopback TCP pair.
// Logs `event=tls.ktls ktls=available|unavailable reason=...` and returns
// whether kTLS can be used. Thread-safe; the result is cached.
bool ktls_available();

// Whether the runtime offers established sessions to the kernel: when
// ktls_available(), or always when the environment has RINGMX_KTLS=try
// (read once). With `try` on a kernel without kTLS every session is
// refused by setsockopt(TCP_ULP) and stays in userspace, which exercises
// the whole hand-off machinery short of kernel-mode I/O (the tests use it).
bool ktls_wanted();

// The probe itself, uncached and silent: empty when the ULP attached, else
// the reason (e.g. "setsockopt(TCP_ULP, tls): No such file or directory").
std::optional<std::string> ktls_probe();

struct KtlsInstallError {
  std::string reason;
  // The ULP attached before the failure: the socket cannot go back to
  // userspace TLS and the connection must be closed. False when TCP_ULP
  // itself was refused (the socket is untouched).
  bool attached = false;
};

// Hands a connected socket's TX and RX to the kernel: TCP_ULP "tls", then
// SOL_TLS TLS_TX and TLS_RX. Empty on success. Before RX moves, the session
// must have no unconsumed input (Session::unconsumed_input() == 0) and no
// ciphertext of the session may be waiting to be sent.
std::optional<KtlsInstallError> ktls_install(int fd, const KtlsParams& params);

// Tests only: replaces what ktls_install does (nullptr: the real thing).
// The test server (tests/core/serve_main.cc) installs one that succeeds
// without touching the socket, to run kernel mode end to end over plain
// TCP on a kernel without kTLS; ringmx itself never calls this.
using KtlsInstaller = std::optional<KtlsInstallError> (*)(int fd, const KtlsParams& params);
void set_ktls_installer_for_tests(KtlsInstaller installer);

// ---- Records on a kTLS socket (sans-I/O; the ring does the I/O) ----
//
// Under kTLS RX, recvmsg returns plaintext and the record's type in a
// SOL_TLS/TLS_GET_RECORD_TYPE control message; a non-data record read
// without room for that message fails with EIO. The runtime reads with a
// multishot recvmsg on the provided-buffer ring, so each completion's
// buffer is laid out as io_uring_recvmsg_out, the (empty) name, the control
// area, then the payload.

// TLS ContentType values (RFC 8446 5.1).
inline constexpr std::uint8_t kRecordAlert = 21;
inline constexpr std::uint8_t kRecordHandshake = 22;
inline constexpr std::uint8_t kRecordApplicationData = 23;

enum class KtlsRecordAction {
  data,         // application data: `payload` goes to the engine
  end,          // EOF, or the peer's close_notify: end the session like EOF
  close_clean,  // a post-handshake handshake message (KeyUpdate, ...): send
                // close_notify after what is queued, then close
  close_abort,  // any other alert, an unknown record type, a malformed
                // buffer or truncated control data: close now
};

struct KtlsRecord {
  KtlsRecordAction action = KtlsRecordAction::close_abort;
  std::span<const char> payload;  // data only
  int record_type = -1;           // from the cmsg; -1 when there was none
  std::string what;               // for the log: "close_notify", "key_update", "alert 40", ...
};

// The decision for one read: `record_type` from the cmsg (nullopt when the
// kernel put none: it does so only for data), `control_truncated` when the
// read had MSG_CTRUNC, and the payload.
KtlsRecord classify_record(std::optional<std::uint8_t> record_type, bool control_truncated,
                           std::span<const char> payload);

// The msghdr a multishot recvmsg on a kTLS socket is armed with: no name,
// room for one TLS_GET_RECORD_TYPE cmsg (only the lengths are used).
msghdr ktls_recvmsg_template();

// Parses one multishot recvmsg completion's buffer (`buffer` is the first
// cqe->res bytes of the provided buffer), laid out with `msg`'s lengths,
// and classifies it. A buffer too short for its header is close_abort.
KtlsRecord parse_ktls_recvmsg(std::span<const char> buffer, const msghdr& msg);

// The close_notify alert as sendmsg sends it on a kTLS socket: one cmsg
// SOL_TLS/TLS_SET_RECORD_TYPE = 21 (alert) and the payload {1 (warning),
// 0 (close_notify)}; the kernel seals it as a record of that type. Static
// and immutable, so a send of it never refers to connection memory.
const msghdr& close_notify_message();

}  // namespace ringmx::tls
