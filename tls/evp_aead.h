// AES-GCM through libcrypto's EVP, which uses AES-NI and PCLMULQDQ (Debian's
// wolfSSL is built without them). This header carries no library types:
// OpenSSL's and wolfSSL's headers cannot share a translation unit (both
// define the OpenSSL API names), so evp_aead.cc includes only OpenSSL and
// crypto_offload.cc only wolfSSL.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmx::tls::evp {

// Key of 16 or 32 bytes. In-place (in == out) is allowed. Each thread keeps
// its own cipher contexts, so shards never share one.
bool aes_gcm_seal(const uint8_t* key, size_t key_len, const uint8_t* iv, size_t iv_len,
                  const uint8_t* aad, size_t aad_len, const uint8_t* in, size_t len, uint8_t* out,
                  uint8_t* tag, size_t tag_len);

// False when the tag does not authenticate (or on a library error); `out`
// must then be discarded.
bool aes_gcm_open(const uint8_t* key, size_t key_len, const uint8_t* iv, size_t iv_len,
                  const uint8_t* aad, size_t aad_len, const uint8_t* in, size_t len, uint8_t* out,
                  const uint8_t* tag, size_t tag_len);

}  // namespace ringmx::tls::evp
