// Routes wolfSSL's record AES-GCM to libcrypto through wolfSSL's crypto
// callbacks (WOLF_CRYPTO_CB): every WOLFSSL_CTX built while the offload is on
// gets its device id, wolfSSL then hands each AES-GCM seal/open of that
// context's sessions to tls/evp_aead.h. Debian's wolfSSL has no AES-NI, so
// this is what makes userspace TLS bulk fast (bench/tls/ measures it).
//
// The same device also takes P-256 ECDHE key generation, ECDH and ECDSA
// signing (tls/evp_ec.h) and the RSA private operation (tls/evp_rsa.h):
// the bulk of a handshake's server CPU, and X25519 key generation and shared
// secret (tls/evp_x25519.h), the ECDHE of most TLS 1.3 clients, and the
// seed of each session's random generator (tls/evp_rand.h).
//
// Stays in wolfSSL: ChaCha20-Poly1305 (checked against Debian's 5.5.4:
// wc_CryptoInfo has no ChaCha member, and a ChaCha20-Poly1305 session
// makes no cipher callback at all) and signature verification. X25519 needs
// the interposition in crypto_offload.cc: the TLS key share makes its keys
// without the device id.
#pragma once

#include <cstdint>

namespace ringmx::tls {

// The device id to give wolfSSL_CTX_SetDevId, registering the callback on
// first use; INVALID_DEVID (-2) when the offload is off or registration failed.
int crypto_offload_device();

// On by default. Affects contexts built afterwards (benchmarks compare).
void set_crypto_offload(bool on);

// Operations the callback has performed on this thread (tests check that
// the offload really carries the records and the key exchange).
struct OffloadCounts {
  uint64_t aes_gcm = 0;  // record seals and opens
  uint64_t p256 = 0;     // key generations, ECDH and signatures
  uint64_t rsa = 0;      // private-key operations (signatures)
  uint64_t x25519 = 0;   // key generations and shared secrets
  uint64_t seeds = 0;    // seeds of session random generators
};
OffloadCounts crypto_offload_counts();

}  // namespace ringmx::tls
