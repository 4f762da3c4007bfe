// P-256 through libcrypto (constant-time nistz256 assembly on x86-64),
// for the handshake's ECDHE and ECDSA: Debian's wolfSSL does them in generic
// C (sp_int), about 750 us of server CPU per TLS 1.3 handshake. Raw bytes
// only, for the same header reason as tls/evp_aead.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmx::tls::evp {

constexpr size_t kP256Scalar = 32;
constexpr size_t kP256Point = 65;  // uncompressed: 0x04 || x || y

// A fresh key pair: private scalar and uncompressed public point.
bool p256_keygen(uint8_t priv[kP256Scalar], uint8_t pub[kP256Point]);

// ECDH: the x coordinate of priv * peer. False when `peer` is not a point on
// the curve (libcrypto checks).
bool p256_ecdh(const uint8_t priv[kP256Scalar], const uint8_t* peer, size_t peer_len,
               uint8_t out[kP256Scalar]);

// ECDSA over an already computed digest; the signature DER-encoded
// (Ecdsa-Sig-Value), as wolfSSL's wc_ecc_sign_hash produces it. `sig_len` is
// the buffer size in, the signature size out.
bool p256_sign(const uint8_t priv[kP256Scalar], const uint8_t* digest, size_t digest_len,
               uint8_t* sig, size_t* sig_len);

}  // namespace ringmx::tls::evp
