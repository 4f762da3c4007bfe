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
// random blocks of each session's generator (tls/evp_rand.h), which then
// needs no wolfSSL Hash_DRBG of its own (see wc_InitRng_ex in wolfssl_interpose.cc).
//
// RSA public-key operations go too (wolfSSL checks every signature it makes
// against the public key), and the TLS 1.3 key schedule's HKDF
// (tls/evp_hkdf.h).
//
// And the block functions of the SHA-1, SHA-256, SHA-384 and SHA-512 objects
// made with the device id (tls/evp_sha.h): the handshake transcript, the
// HMACs made with it (TLS 1.3 Finished) and the session's DRBG. Their state stays in
// wolfSSL's structs (see on_hash in crypto_offload.cc).
//
// Stays in wolfSSL: ChaCha20-Poly1305 (checked against Debian's 5.5.4:
// wc_CryptoInfo has no ChaCha member, and a ChaCha20-Poly1305 session
// makes no cipher callback at all), ECDSA verification, MD5 (no callback),
// SHA-512's last block (see on_hash) and wolfSSL's one-shot wc_ShaHash and
// wc_Sha256Hash (see register_once). X25519, HKDF and the session random
// generators need the interpositions in tls/wolfssl_interpose.cc: the TLS
// key share makes its keys without the device id, wolfSSL runs HKDF without
// one, and it would instantiate a Hash_DRBG per session.
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
  uint64_t aes_gcm = 0;            // record seals and opens
  uint64_t p256 = 0;               // key generations, ECDH and signatures
  uint64_t rsa = 0;                // private-key operations (signatures)
  uint64_t rsa_public = 0;         // public-key operations (the check of each signature made)
  uint64_t hkdf = 0;               // HKDF extracts and expands (the TLS 1.3 key schedule)
  uint64_t x25519 = 0;             // key generations and shared secrets
  uint64_t seeds = 0;              // seeds of Hash_DRBGs on the device (sessions have none now)
  uint64_t random_generators = 0;  // session generators made without a Hash_DRBG
  uint64_t random_blocks = 0;      // blocks those generators drew from libcrypto
  uint64_t hash = 0;               // SHA-1/256/384/512 updates and finals (transcript, HMAC, DRBG)
};
OffloadCounts crypto_offload_counts();

// While one lives, this thread's HKDF (which wolfSSL runs without a device
// id) goes to libcrypto when `on`: a Session holds one around every call
// into wolfSSL, on when its context has the offload's device id.
class OffloadScope {
 public:
  explicit OffloadScope(bool on);
  ~OffloadScope();
  OffloadScope(const OffloadScope&) = delete;
  OffloadScope& operator=(const OffloadScope&) = delete;

 private:
  bool previous_;
};

}  // namespace ringmx::tls
