#include "protocols/smtp/address.h"

#include <cstring>

namespace ringmx::smtp {
namespace {

bool is_alpha(unsigned char c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c));
}

// Dot-string = Atom *("." Atom); non-ASCII octets count as atext (checked
// for UTF-8 and SMTPUTF8 by the caller).
bool valid_dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (unsigned char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (c < 0x80 && !is_atext(c)) {
      return false;
    }
    prev = static_cast<char>(c);
  }
  return true;
}

// Quoted-string content: qtextSMTP (32-33, 35-91, 93-126) or "\" 32-126.
bool valid_quoted(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '\\') {
      if (++i >= s.size() - 1) return false;  // the escaped octet precedes the closing quote
      unsigned char q = s[i];
      if (q < 32 || q > 126) return false;
    } else if (c == '"' || (c < 32) || c == 127) {
      return false;
    }
  }
  return true;
}

// Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str];
// U-labels (non-ASCII) allowed, checked by the caller.
bool valid_domain(std::string_view d) {
  if (d.empty()) return false;
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return false;
    for (unsigned char c : d.substr(1, d.size() - 2)) {
      if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? d.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (unsigned char c : label) {
      if (c < 0x80 && !is_alpha(c) && !is_digit(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = a[i], y = b[i];
    if (x != y && !(is_alpha(x) && (x | 0x20) == (y | 0x20))) return false;
  }
  return true;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p < len) return false;
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += len;
  }
  return true;
}

ParsedPath parse_path(std::string_view s, bool allow_null, bool allow_postmaster, bool allow_utf8) {
  ParsedPath r;
  r.error = PathError::syntax;
  if (s.empty() || s.front() != '<') return r;
  // The closing '>' is the first one outside a quoted local part.
  size_t i = 1;
  bool quoted = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      break;
    }
  }
  if (i >= s.size()) return r;
  std::string_view inner = s.substr(1, i - 1);
  r.rest = s.substr(i + 1);
  if (i + 1 > 256) {  // the path, brackets included: RFC 5321 4.5.3.1.3
    r.error = PathError::too_long;
    return r;
  }
  if (inner.empty()) {
    if (allow_null) r.error = PathError::none;
    return r;
  }
  // A-d-l (source route, "@a,@b:"): accepted and ignored, RFC 5321 4.1.2.
  if (inner.front() == '@') {
    size_t colon = inner.find(':');
    if (colon == inner.npos) return r;
    std::string_view route = inner.substr(0, colon);
    size_t start = 0;
    while (start < route.size()) {
      size_t comma = route.find(',', start);
      std::string_view hop = route.substr(start, comma == route.npos ? route.npos : comma - start);
      if (hop.size() < 2 || hop.front() != '@' || !valid_domain(hop.substr(1))) return r;
      if (comma == route.npos) break;
      start = comma + 1;
    }
    inner = inner.substr(colon + 1);
  }
  size_t at = inner.rfind('@');
  std::string_view local = at == inner.npos ? inner : inner.substr(0, at);
  std::string_view domain = at == inner.npos ? std::string_view{} : inner.substr(at + 1);
  if (at == inner.npos) {
    if (!allow_postmaster || !iequals(inner, "postmaster")) return r;
  } else {
    bool local_ok = local.front() == '"' ? valid_quoted(local) : valid_dot_string(local);
    if (!local_ok || !valid_domain(domain)) return r;
    if (local.size() > 64 || domain.size() > 255) {
      r.error = PathError::too_long;
      return r;
    }
  }
  if (has_non_ascii(inner)) {
    if (!allow_utf8) {
      r.error = PathError::needs_utf8;
      return r;
    }
    if (!valid_utf8(inner)) return r;
  }
  r.error = PathError::none;
  r.address = inner;
  r.domain = domain;
  return r;
}

bool ParamReader::next(std::string_view& key, std::string_view& value) {
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  if (rest.empty()) return false;
  size_t end = rest.find(' ');
  std::string_view param = rest.substr(0, end);
  rest = end == rest.npos ? std::string_view{} : rest.substr(end);
  size_t eq = param.find('=');
  key = param.substr(0, eq);
  value = eq == param.npos ? std::string_view{} : param.substr(eq + 1);
  // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126)
  bool ok = !key.empty() && (is_alpha(key[0]) || is_digit(key[0]));
  for (unsigned char c : key)
    ok = ok && (is_alpha(c) || is_digit(c) || c == '-');
  if (eq != param.npos) {
    ok = ok && !value.empty();
    for (unsigned char c : value)
      ok = ok && c >= 33 && c <= 126 && c != '=';
  }
  if (!ok) {
    error = true;
    return false;
  }
  return true;
}

}  // namespace ringmx::smtp
