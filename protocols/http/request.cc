// HTTP/1.x request parsing (RFC 9112), see request.h.
#include "protocols/http/request.h"

#include <algorithm>
#include <cstdint>

namespace ringmx::http {
namespace {

// tchar (RFC 9110 5.6.2): the bytes of methods, header names and tokens.
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// field-value bytes: VCHAR, obs-text, SP and HTAB; no other control byte.
bool is_value_byte(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

ParseResult error(int status, std::string_view reason) {
  ParseResult r;
  r.status = ParseStatus::error;
  r.error_status = status;
  r.reason = reason;
  return r;
}

// Request line: method SP request-target SP HTTP-version.
ParseResult parse_request_line(std::string_view line, Request& out) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return error(400, "request line without spaces");
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return error(400, "request line without version");
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(out.method)) return error(400, "bad method");
  if (out.target.empty()) return error(400, "empty request target");
  for (char c : out.target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return error(400, "bad byte in request target");
  }
  if (version == "HTTP/1.1") {
    out.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    out.minor_version = 0;
  } else if (version.size() == 8 && version.starts_with("HTTP/") && version[5] >= '0' &&
             version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9') {
    return error(505, "HTTP version not supported");
  } else {
    return error(400, "bad HTTP version");
  }
  return {};
}

ParseResult parse_header_line(std::string_view line, Request& out) {
  if (line.front() == ' ' || line.front() == '\t') {
    return error(400, "obsolete line folding in header");
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return error(400, "header line without colon");
  std::string_view name = line.substr(0, colon);
  // Whitespace between name and colon is a smuggling vector (RFC 9112 5.1).
  if (!is_token(name)) return error(400, "bad header name");
  std::string_view value = line.substr(colon + 1);
  for (char c : value) {
    if (!is_value_byte(static_cast<unsigned char>(c)))
      return error(400, "bad byte in header value");
  }
  if (out.header_count == kMaxHeaders) return error(431, "too many header lines");
  out.headers[out.header_count++] = Header{name, trim(value)};
  return {};
}

// Content-Length: 1*DIGIT, bounded so it cannot overflow.
bool parse_length(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// Does the comma-separated token list `value` contain `token`?
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Framing and connection semantics, once the header block is complete.
ParseResult check_headers(Request& out, const Limits& limits, std::uint64_t& body_length) {
  bool have_length = false;
  bool have_host = false;
  bool close = false, keep_alive = false;
  body_length = 0;
  for (std::size_t i = 0; i < out.header_count; ++i) {
    const Header& h = out.headers[i];
    if (iequals(h.name, "Content-Length")) {
      std::uint64_t n = 0;
      if (!parse_length(h.value, n)) return error(400, "bad Content-Length");
      if (have_length && n != body_length) return error(400, "conflicting Content-Length");
      have_length = true;
      body_length = n;
    } else if (iequals(h.name, "Transfer-Encoding")) {
      // No endpoint takes a streamed body; refusing chunked keeps one
      // framing rule (Content-Length) and no TE/CL ambiguity.
      return have_length || out.find("Content-Length") != nullptr
                 ? error(400, "both Transfer-Encoding and Content-Length")
                 : error(411, "Transfer-Encoding not supported, send Content-Length");
    } else if (iequals(h.name, "Host")) {
      if (have_host) return error(400, "more than one Host header");
      have_host = true;
    } else if (iequals(h.name, "Connection")) {
      close = close || has_token(h.value, "close");
      keep_alive = keep_alive || has_token(h.value, "keep-alive");
    }
  }
  // RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
  if (out.minor_version == 1 && !have_host) return error(400, "HTTP/1.1 request without Host");
  if (body_length > limits.max_body_bytes) return error(413, "request body over the limit");
  out.keep_alive = out.minor_version == 1 ? !close : (keep_alive && !close);
  return {};
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

const Header* Request::find(std::string_view name) const {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return &headers[i];
  }
  return nullptr;
}

std::string_view Request::path() const {
  std::string_view t = target;
  // absolute-form ("http://host/metrics"), which servers must accept
  // (RFC 9112 3.2.2): keep what follows the authority.
  if (std::size_t scheme = t.find("://"); t.front() != '/' && scheme != std::string_view::npos) {
    std::size_t slash = t.find('/', scheme + 3);
    t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
  }
  return t.substr(0, t.find_first_of("?#"));
}

ParseResult parse_request(std::span<const char> bytes, const Limits& limits, Request& out) {
  out = Request{};
  std::string_view in(bytes.data(), bytes.size());
  // Lines are validated as soon as each one is whole, so garbage (a TLS
  // ClientHello, an SMTP client on the wrong port) is refused on its first
  // line instead of after the header bound.
  std::size_t pos = 0;
  bool first = true;
  while (true) {
    std::size_t window = std::min(in.size(), limits.max_header_bytes);
    std::size_t lf = in.find('\n', pos);
    if (lf == std::string_view::npos || lf >= window) {
      // No line end within the bound: a lone CR is refused now, otherwise
      // wait, unless the bound is already reached.
      std::size_t cr = in.substr(0, window).find('\r', pos);
      if (cr != std::string_view::npos && cr + 1 < in.size() && in[cr + 1] != '\n') {
        return error(400, "bare CR");
      }
      if (in.size() >= limits.max_header_bytes) return error(431, "header block over the limit");
      return {};  // need_more
    }
    if (lf == pos || in[lf - 1] != '\r') return error(400, "bare LF, lines must end with CRLF");
    std::string_view line = in.substr(pos, lf - 1 - pos);
    if (line.find('\r') != std::string_view::npos) return error(400, "bare CR");
    pos = lf + 1;
    if (first) {
      // Empty lines before a request are ignored (RFC 9112 2.2): some
      // clients send CRLF after a POST body.
      if (line.empty()) continue;
      ParseResult r = parse_request_line(line, out);
      if (r.status == ParseStatus::error) return r;
      first = false;
      continue;
    }
    if (line.empty()) break;  // end of the header block
    ParseResult r = parse_header_line(line, out);
    if (r.status == ParseStatus::error) return r;
  }
  std::uint64_t body_length = 0;
  ParseResult r = check_headers(out, limits, body_length);
  if (r.status == ParseStatus::error) return r;
  if (in.size() - pos < body_length) {
    r.wanted = pos + body_length;
    return r;  // need_more
  }
  out.body = in.substr(pos, body_length);
  r.status = ParseStatus::complete;
  r.consumed = pos + body_length;
  return r;
}

}  // namespace ringmx::http
