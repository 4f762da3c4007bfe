#include "tls/cipher_names.h"

#include <array>

namespace ringmx::tls {
namespace {

using config::TlsVersion;

// AEAD first (GCM then ChaCha20 on TLS 1.2 because the AES path is the one
// the crypto callback accelerates), then CBC for old MTAs: an inbound MX
// that refuses a sender's only suite pushes it back to plaintext.
constexpr std::array kCiphers = {
    CipherName{"TLS13_AES_128_GCM_SHA256", "TLS13-AES128-GCM-SHA256", TlsVersion::tls13},
    CipherName{"TLS13_AES_256_GCM_SHA384", "TLS13-AES256-GCM-SHA384", TlsVersion::tls13},
    CipherName{"TLS13_CHACHA20_POLY1305_SHA256", "TLS13-CHACHA20-POLY1305-SHA256",
               TlsVersion::tls13},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256",
               TlsVersion::tls12},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", TlsVersion::tls12},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", TlsVersion::tls12},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", TlsVersion::tls12},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", TlsVersion::tls12},
};

}  // namespace

std::span<const CipherName> known_ciphers() {
  return kCiphers;
}

const CipherName* find_cipher(std::string_view iana) {
  for (const auto& c : kCiphers) {
    if (c.iana == iana) return &c;
  }
  return nullptr;
}

}  // namespace ringmx::tls
