#include "config/ciphers.h"

namespace ringmx::config {
namespace {

using enum TlsVersion;
constexpr CipherSuite kSuites[] = {
    {"TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256", "TLS13-AES128-GCM-SHA256", tls13},
    {"TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384", "TLS13-AES256-GCM-SHA384", tls13},
    {"TLS_CHACHA20_POLY1305_SHA256", "TLS13_CHACHA20_POLY1305_SHA256",
     "TLS13-CHACHA20-POLY1305-SHA256", tls13},
    {"TLS_AES_128_CCM_SHA256", "TLS13_AES_128_CCM_SHA256", "TLS13-AES128-CCM-SHA256", tls13},
    {"TLS_AES_128_CCM_8_SHA256", "TLS13_AES_128_CCM_8_SHA256", "TLS13-AES128-CCM-8-SHA256", tls13},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "", "ECDHE-ECDSA-AES128-GCM-SHA256", tls12},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "", "ECDHE-ECDSA-AES256-GCM-SHA384", tls12},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "", "ECDHE-ECDSA-CHACHA20-POLY1305", tls12},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "", "ECDHE-RSA-AES128-GCM-SHA256", tls12},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "", "ECDHE-RSA-AES256-GCM-SHA384", tls12},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", "ECDHE-RSA-CHACHA20-POLY1305", tls12},
    {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "", "DHE-RSA-AES128-GCM-SHA256", tls12},
    {"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "", "DHE-RSA-AES256-GCM-SHA384", tls12},
    {"TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", "DHE-RSA-CHACHA20-POLY1305", tls12},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "", "ECDHE-ECDSA-AES128-CCM", tls12},
    // CBC suites: kept for old MTAs that still connect to MX hosts.
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "", "ECDHE-ECDSA-AES128-SHA256", tls12},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "", "ECDHE-ECDSA-AES256-SHA384", tls12},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "", "ECDHE-RSA-AES128-SHA256", tls12},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "", "ECDHE-RSA-AES256-SHA384", tls12},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "", "ECDHE-ECDSA-AES128-SHA", tls12},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "", "ECDHE-ECDSA-AES256-SHA", tls12},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "", "ECDHE-RSA-AES128-SHA", tls12},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "", "ECDHE-RSA-AES256-SHA", tls12},
};

}  // namespace

std::span<const CipherSuite> cipher_suites() {
  return kSuites;
}

const CipherSuite* find_cipher_suite(std::string_view name) {
  for (const CipherSuite& s : kSuites)
    if (name == s.iana || (!s.alias.empty() && name == s.alias)) return &s;
  return nullptr;
}

KeyType cipher_key_type(const CipherSuite& suite) {
  if (suite.version == TlsVersion::tls13) return KeyType::other;
  if (suite.iana.find("_ECDSA_") != std::string_view::npos) return KeyType::ec;
  if (suite.iana.find("_RSA_") != std::string_view::npos) return KeyType::rsa;
  return KeyType::other;
}

}  // namespace ringmx::config
