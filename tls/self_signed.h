// A self-signed certificate for first start, so the embedded default
// configuration serves STARTTLS without an operator making one by hand.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ringmx::tls {

// Makes `dir/cert.pem` and `dir/key.pem` (ECDSA P-256, SHA-256, valid one
// year, subject CN and SAN = hostname, SAN also "localhost"; both files mode
// 0600) when neither exists. Both present: left untouched (an operator may
// have replaced them). Exactly one present: an error, because overwriting
// half of a pair someone put there would destroy their key or certificate.
// Returns nothing on success, else a one-line reason naming the path.
[[nodiscard]] std::optional<std::string> ensure_self_signed(const std::filesystem::path& dir,
                                                            std::string_view hostname);

}  // namespace ringmx::tls
