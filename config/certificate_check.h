// Checks a certificate chain and its private key with wolfSSL, the library
// that will serve them: the PEM parses, and the key matches the leaf.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ringmx::config {

struct CertificateProblem {
  enum class Part { cert, private_key, pair } part;  // which key the problem belongs to
  std::string message;                               // what is wrong, and what to do
};

// nullopt when both parse and the key belongs to the certificate.
std::optional<CertificateProblem> check_certificate(std::string_view cert_pem,
                                                    std::string_view key_pem);

}  // namespace ringmx::config
