// HTTP/1.x request parser, picohttpparser-shaped: the caller passes every
// unconsumed byte, gets back complete (with the request's length, body
// included), need_more, or an error with the status code to answer. The
// Request holds views into the caller's bytes; nothing is allocated.
//
// Strict where leniency becomes request smuggling: CRLF line endings only,
// no whitespace before a header colon, no obs-fold, a single valid
// Content-Length, no Transfer-Encoding.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "protocols/http/limits.h"

namespace ringmx::http {

struct Header {
  std::string_view name;   // as sent; compare case-insensitively
  std::string_view value;  // leading and trailing spaces and tabs removed
};

struct Request {
  std::string_view method;  // case-sensitive token: "GET", "POST"...
  std::string_view target;  // request-target as sent: "/metrics?x=1"
  int minor_version = 1;    // HTTP/1.<minor_version>: 0 or 1
  std::array<Header, kMaxHeaders> headers{};
  std::size_t header_count = 0;
  std::string_view body;  // Content-Length bytes after the header block
  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
  // "Connection: keep-alive".
  bool keep_alive = true;

  // The first header named `name` (case-insensitive), or nullptr.
  const Header* find(std::string_view name) const;
  // The target without its query string: what the router matches.
  std::string_view path() const;
};

enum class ParseStatus { complete, need_more, error };

struct ParseResult {
  ParseStatus status = ParseStatus::need_more;
  // Whole request length (header block and body) when complete.
  std::size_t consumed = 0;
  // On error: the status to answer before closing (400, 411, 413, 431, 505).
  int error_status = 0;
  // On error: why, a static string for the log.
  std::string_view reason;
  // On need_more: the whole request length when it is already known (the
  // header block is complete, the body is not), else 0. Lets a caller skip
  // re-parsing until that many bytes are there.
  std::size_t wanted = 0;
};

// Parses one request at the start of `bytes` into `out`.
ParseResult parse_request(std::span<const char> bytes, const Limits& limits, Request& out);

// Case-insensitive ASCII comparison (header names, tokens).
bool iequals(std::string_view a, std::string_view b);

}  // namespace ringmx::http
