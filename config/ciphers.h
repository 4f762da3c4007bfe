// The cipher suites `tls.ciphers` accepts, by the names operators write
// (IANA names, plus the "TLS13_*" spelling of the seed document), with the
// name wolfSSL_CTX_set_cipher_list() takes. Only forward-secret suites are
// listed: no RSA key exchange, RC4, 3DES, NULL, anonymous or PSK suites.
#pragma once

#include <span>
#include <string_view>

#include "config/config.h"

namespace ringmx::config {

struct CipherSuite {
  std::string_view iana;     // "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
  std::string_view alias;    // "TLS13_CHACHA20_POLY1305_SHA256" for TLS 1.3 suites, else ""
  std::string_view wolfssl;  // "ECDHE-RSA-CHACHA20-POLY1305"
  TlsVersion version;        // TLS 1.3 suites are TLS 1.3 only; the rest are TLS 1.2
};

std::span<const CipherSuite> cipher_suites();

// The suite written as `name` (either spelling), or nullptr.
const CipherSuite* find_cipher_suite(std::string_view name);

// The certificate key a TLS 1.2 suite authenticates with (ECDHE_ECDSA: ec;
// ECDHE_RSA, DHE_RSA: rsa); TLS 1.3 suites work with any key: other.
KeyType cipher_key_type(const CipherSuite& suite);

}  // namespace ringmx::config
