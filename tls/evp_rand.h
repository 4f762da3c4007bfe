// Secret random bytes from libcrypto's private DRBG (AES-256-CTR, seeded by
// the kernel's getrandom, reseeded across fork), to seed wolfSSL's session
// random generators through the crypto callback without a system call per
// session. Raw bytes only, for the same header reason as tls/evp_aead.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmx::tls::evp {

// False when libcrypto cannot produce them (not seeded); `out` must then
// not be used.
bool private_random_bytes(uint8_t* out, size_t len);

}  // namespace ringmx::tls::evp
