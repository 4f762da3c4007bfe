// The RSA private-key (and public-key) operation through libcrypto, for the handshake's
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

// out = in^e mod n, `out` is n's size: wolfSSL checks each signature it
// made against the public key (a fault check), which in its own big-number
// code cost about as much as the rest of the handshake's hashing. Cached
// per (n, e) per thread like the private keys.
bool rsa_public(std::span<const uint8_t> n, std::span<const uint8_t> e, const uint8_t* in,
                size_t in_len, uint8_t* out, size_t out_len);

}  // namespace ringmx::tls::evp
