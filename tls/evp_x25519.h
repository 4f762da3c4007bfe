// X25519 (RFC 7748) through libcrypto, which has x86-64 assembly for it
// (mulx/adx); Debian's wolfSSL does it in generic C. This is the ECDHE of
// most TLS 1.3 handshakes: clients offer an X25519 key share first. Raw bytes
// only, for the same header reason as tls/evp_aead.h. Every value is in
// RFC 7748's byte order (little-endian), which is also how wolfSSL keeps
// curve25519_key::k and ::p internally.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmx::tls::evp {

constexpr size_t kX25519Key = 32;

// A fresh key pair: the clamped private scalar and its public u-coordinate.
bool x25519_keygen(uint8_t priv[kX25519Key], uint8_t pub[kX25519Key]);

// The shared secret of `priv` and the peer's public value. `pub` is priv's
// own public value when the caller has it (saves libcrypto recomputing it,
// a full scalar multiplication), else nullptr; it never changes the result.
// False when the result is all zeros (a small-order peer value: RFC 8446
// 7.4.2 says abort) or on a library error.
bool x25519_derive(const uint8_t priv[kX25519Key], const uint8_t* pub,
                   const uint8_t peer[kX25519Key], uint8_t out[kX25519Key]);

}  // namespace ringmx::tls::evp
