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

// The probe itself, uncached and silent: empty when the ULP attached, else
// the reason (e.g. "setsockopt(TCP_ULP, tls): No such file or directory").
std::optional<std::string> ktls_probe();

// Hands a connected socket's TX and RX to the kernel: TCP_ULP "tls", then
// SOL_TLS TLS_TX and TLS_RX. Empty on success, else why; on failure after
// the ULP attached the connection cannot go back to userspace TLS and must
// be closed. Before RX moves, the session must have no unconsumed input
// (Session::unconsumed_input() == 0).
std::optional<std::string> ktls_install(int fd, const KtlsParams& params);

}  // namespace ringmx::tls
