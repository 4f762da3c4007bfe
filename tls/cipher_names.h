// IANA-style cipher suite names, as tls.ciphers spells them, and the wolfSSL
// names they map to.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"

namespace ringmx::tls {

struct CipherName {
  std::string_view iana;     // "TLS13_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_..."
  std::string_view wolfssl;  // "TLS13-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"
  config::TlsVersion version;
};

// Every suite ringmx knows, strongest and cheapest first. With tls.ciphers
// empty this whole table, in this order, is the policy.
std::span<const CipherName> known_ciphers();

// nullptr when the name is not in the table. Exact match: the names are
// identifiers, not prose.
const CipherName* find_cipher(std::string_view iana);

}  // namespace ringmx::tls
