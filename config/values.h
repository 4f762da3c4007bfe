// Parsers for the value forms the schema uses: durations, bind addresses,
// networks, host names. Each returns the parsed value or, on failure, a
// message that says what is wrong and what to write instead (no key, no
// position: the loader adds those).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "config/config.h"

namespace ringmx::config {

// Either the value or the error message.
template <typename T>
using Parsed = std::variant<T, std::string>;

// "500ms", "30s", "1m", "2h", "1d": a non-negative integer and one unit.
Parsed<Duration> parse_duration(std::string_view text);

// "1.2.3.4:25", "0.0.0.0:25", "[::1]:25", "[::]:25". Port 0 is accepted
// (the kernel picks a port; meant for tests). A bare IPv6 literal without
// a port is refused with the bracketed form in the message.
Parsed<BindAddress> parse_bind_address(std::string_view text);

// "10.0.0.0/8", "2001:db8::/32", or a bare address (one host). Bits past
// the prefix must be zero ("10.1.2.3/8" is refused with "10.0.0.0/8" shown).
Parsed<Cidr> parse_cidr(std::string_view text);

// A DNS host name: labels of letters, digits and '-', at most 63 bytes
// each, 253 in all. With allow_wildcard, a leading "*." is also accepted.
bool is_host_name(std::string_view text, bool allow_wildcard = false);

}  // namespace ringmx::config
