// HKDF (RFC 5869) with HMAC-SHA-256 and HMAC-SHA-384 on libcrypto's SHA
// block functions (SHA-NI and AVX2 here; Debian's wolfSSL hashes in plain
// C). A TLS 1.3 handshake derives about twenty secrets, each one or two
// HMACs: in wolfSSL that was a quarter of a handshake's server CPU outside
// the public-key operations. Raw bytes only (see tls/evp_aead.h for why).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmx::tls::evp {

enum class HkdfHash { sha256, sha384 };

inline constexpr size_t hkdf_hash_size(HkdfHash h) {
  return h == HkdfHash::sha256 ? 32 : 48;
}

// prk = HMAC-Hash(salt, ikm); `prk` has hkdf_hash_size(hash) bytes. An
// empty salt is the hash size of zeros (the same HMAC key).
bool hkdf_extract(HkdfHash hash, const uint8_t* salt, size_t salt_len, const uint8_t* ikm,
                  size_t ikm_len, uint8_t* prk);

// okm = T(1) || T(2) || ... cut to okm_len, T(i) = HMAC-Hash(prk, T(i-1) ||
// info || i). False when okm_len > 255 * hash size.
bool hkdf_expand(HkdfHash hash, const uint8_t* prk, size_t prk_len, const uint8_t* info,
                 size_t info_len, uint8_t* okm, size_t okm_len);

}  // namespace ringmx::tls::evp
