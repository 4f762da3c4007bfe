// Whether a private key belongs to a certificate, by a signature made with
// the key and verified with the certificate's public key. wolfSSL 5.5.4's
// wolfSSL_CTX_check_private_key accepts a foreign P-256 key for a P-256
// certificate (tests/tls/context_test.cc shows the case), so loading cannot
// rely on it.
#pragma once

#include <string_view>

namespace ringmx::tls {

// `cert_pem` may be a chain: the first certificate (the leaf) is used.
bool key_matches_certificate(std::string_view cert_pem, std::string_view key_pem);

}  // namespace ringmx::tls
