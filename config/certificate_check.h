// Checks a certificate chain and its private key with wolfSSL, the library
// that will serve them: the PEM parses, and the key matches the leaf.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace ringmx::config {

struct CertificateProblem {
  enum class Part { cert, private_key, pair } part;  // which key the problem belongs to
  std::string message;                               // what is wrong, and what to do
};

// nullopt when both parse and the key belongs to the certificate.
std::optional<CertificateProblem> check_certificate(std::string_view cert_pem,
                                                    std::string_view key_pem);

// What the loader records about a leaf certificate that parsed.
struct CertificateFacts {
  KeyType key_type = KeyType::other;
  std::chrono::system_clock::time_point not_after{};
};
std::optional<CertificateFacts> certificate_facts(std::string_view cert_pem);

// A warning for a certificate that has expired or expires within 30 days
// at `now`, or "" when it is good for longer.
std::string expiry_warning(std::chrono::system_clock::time_point not_after,
                           std::chrono::system_clock::time_point now);

}  // namespace ringmx::config
