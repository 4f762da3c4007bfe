// The block functions of SHA-1, SHA-256 and SHA-512 from libcrypto, which
// uses SHA-NI (SHA-1, SHA-256) and AVX2 (SHA-512) where Debian's wolfSSL
// runs plain C. tls/crypto_offload.cc keeps each hash's state in wolfSSL's
// own struct and hands only whole blocks here, so the chaining state comes
// in and goes out as the digest words wolfSSL keeps (host order). Raw words
// only, for the same header reason as tls/evp_aead.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmx::tls::evp {

constexpr size_t kSha1Block = 64;
constexpr size_t kSha256Block = 64;
constexpr size_t kSha512Block = 128;  // SHA-384 too

// Each runs `blocks` whole blocks of `data` through the compression function,
// updating `state` in place. SHA-384 is SHA-512's function from another IV.
void sha1_blocks(uint32_t state[5], const uint8_t* data, size_t blocks);
void sha256_blocks(uint32_t state[8], const uint8_t* data, size_t blocks);
void sha512_blocks(uint64_t state[8], const uint8_t* data, size_t blocks);

}  // namespace ringmx::tls::evp
