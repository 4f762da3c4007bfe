// RFC 5321 paths and ESMTP parameters, parsed in place: results are views
// into the command line, nothing is allocated.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringmx::smtp {

enum class PathError : uint8_t {
  none,
  syntax,      // not <mailbox>, or a malformed local part / domain
  too_long,    // RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets
  needs_utf8,  // non-ASCII without SMTPUTF8 (RFC 6531 3.7.4.1: 553 5.6.7)
};

struct ParsedPath {
  PathError error = PathError::none;
  std::string_view address;  // without brackets and source route; "" for <>
  std::string_view domain;   // part after '@' (may be an address literal); "" if none
  std::string_view rest;     // what follows '>' (the parameters), leading spaces kept
};

// `s` starts at '<' (spaces before it already skipped). `allow_null`: the
// null reverse path <> is valid (MAIL). A mailbox without '@' is accepted
// only for "postmaster" (RFC 5321 4.1.1.3) when `allow_postmaster`.
ParsedPath parse_path(std::string_view s, bool allow_null, bool allow_postmaster, bool allow_utf8);

// Splits "KEY=VALUE KEY2 ..." one parameter at a time. Returns false at the
// end; sets `error` on a malformed parameter (bad keyword or value octet).
struct ParamReader {
  std::string_view rest;
  bool error = false;
  bool next(std::string_view& key, std::string_view& value);
};

bool iequals(std::string_view a, std::string_view b);
// Whether `s` is valid UTF-8 (no overlongs, no surrogates).
bool valid_utf8(std::string_view s);

}  // namespace ringmx::smtp
