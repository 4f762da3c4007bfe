// The RSA private-key operation through libcrypto, for the handshake's
// CertificateVerify / ServerKeyExchange signature with an RSA certificate.
// wolfSSL pads; this only computes in^d mod n, as wolfSSL's device callback
// hands it over. Raw bytes only (see tls/evp_aead.h for why).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringmx::tls::evp {

struct RsaPrivateParts {
  std::span<const uint8_t> n, e, d, p, q;  // big-endian
};

// out = in^d mod n, `out` is n's size. The key object (with its CRT values
// and Montgomery tables) is built once per modulus per thread and kept.
bool rsa_private(const RsaPrivateParts& key, const uint8_t* in, size_t in_len, uint8_t* out,
                 size_t out_len);

}  // namespace ringmx::tls::evp
