#include "config/values.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace ringmx::config {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t ms;
};
// Longest suffix first, so "ms" is not read as "m".
constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};

constexpr std::string_view kDurationHelp =
    "write a number and a unit: \"500ms\", \"30s\", \"1m\", \"2h\" or \"1d\"";

std::string format_bind(int family, const uint8_t* addr, uint16_t port) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, addr, buf, sizeof buf);
  return family == AF_INET6 ? fmt::format("[{}]:{}", buf, port) : fmt::format("{}:{}", buf, port);
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  std::string_view unit = text.substr(digits);
  if (digits == 0) return fmt::format("\"{}\" is not a duration; {}", text, kDurationHelp);
  for (const Unit& u : kUnits) {
    if (unit != u.suffix) continue;
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, n);
    // Bound at 10 years: beyond that it is a typo, and no overflow is possible.
    constexpr int64_t kMaxMs = 3650LL * 86'400'000;
    if (ec != std::errc{} || end != text.data() + digits || n > kMaxMs / u.ms)
      return fmt::format("\"{}\" is too long a duration; write at most \"3650d\"", text);
    return Duration(n * u.ms);
  }
  return fmt::format("\"{}\" has no known unit; {}", text, kDurationHelp);
}

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  for (int i = std::size(kUnits) - 1; i >= 0; --i)
    if (ms % kUnits[i].ms == 0) return fmt::format("{}{}", ms / kUnits[i].ms, kUnits[i].suffix);
  return fmt::format("{}ms", ms);
}

Parsed<BindAddress> parse_bind_address(std::string_view text) {
  constexpr std::string_view kForms =
      "write \"ADDRESS:PORT\" such as \"0.0.0.0:25\", \"127.0.0.1:2525\" or \"[::1]:25\"";
  std::string host, port_text;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos)
      return fmt::format("\"{}\" has no closing ']'; {}", text, kForms);
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty())
      return fmt::format("\"{}\" has no port; write \"{}:PORT\", e.g. \"{}:25\"", text, text, text);
    if (rest.front() != ':') return fmt::format("\"{}\": expected ':' after ']'; {}", text, kForms);
    port_text = rest.substr(1);
  } else {
    size_t colon = text.rfind(':');
    if (text.find(':') != colon) {
      // More than one colon and no brackets: an IPv6 literal. Tell the
      // operator the exact form (the seed's "a:3f::2" lands here).
      in6_addr probe{};
      std::string s(text);
      if (inet_pton(AF_INET6, s.c_str(), &probe) == 1)
        return fmt::format(
            "\"{}\" is an IPv6 address without a port; write \"[{}]:PORT\", e.g. \"[{}]:25\"", text,
            text, text);
      return fmt::format("\"{}\" is not an address and port; IPv6 addresses go in brackets: {}",
                         text, kForms);
    }
    if (colon == std::string_view::npos)
      return fmt::format("\"{}\" has no port; write \"{}:PORT\", e.g. \"{}:25\"", text, text, text);
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535)
    return fmt::format("\"{}\": the port must be a number from 1 to 65535 (0: kernel picks); {}",
                       text, kForms);

  BindAddress b;
  b.port = static_cast<uint16_t>(port);
  if (bracketed) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&b.addr);
    if (inet_pton(AF_INET6, host.c_str(), &sa->sin6_addr) != 1)
      return fmt::format("\"{}\": \"{}\" is not an IPv6 address; {}", text, host, kForms);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(b.port);
    b.family = AF_INET6;
    b.addr_len = sizeof(sockaddr_in6);
    b.text = format_bind(AF_INET6, sa->sin6_addr.s6_addr, b.port);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&b.addr);
    if (inet_pton(AF_INET, host.c_str(), &sa->sin_addr) != 1)
      return fmt::format("\"{}\": \"{}\" is not an IPv4 address (host names are not resolved); {}",
                         text, host, kForms);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(b.port);
    b.family = AF_INET;
    b.addr_len = sizeof(sockaddr_in);
    b.text = format_bind(AF_INET, reinterpret_cast<const uint8_t*>(&sa->sin_addr), b.port);
  }
  return b;
}

Parsed<Cidr> parse_cidr(std::string_view text) {
  constexpr std::string_view kForms =
      "write a network such as \"10.0.0.0/8\", \"192.0.2.7\" or \"2001:db8::/32\"";
  size_t slash = text.find('/');
  std::string host(text.substr(0, slash));
  Cidr c;
  if (inet_pton(AF_INET, host.c_str(), c.address) == 1) {
    c.family = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), c.address) == 1) {
    c.family = AF_INET6;
  } else {
    return fmt::format("\"{}\" is not a network; {}", text, kForms);
  }
  unsigned max_prefix = c.family == AF_INET ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || prefix > max_prefix)
      return fmt::format("\"{}\": the prefix length must be 0 to {}; {}", text, max_prefix, kForms);
  }
  c.prefix = static_cast<uint8_t>(prefix);
  uint8_t network[16] = {};
  for (unsigned bit = 0; bit < prefix; ++bit)
    network[bit / 8] |= c.address[bit / 8] & (0x80 >> (bit % 8));
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(c.family, network, buf, sizeof buf);
  std::string canonical = fmt::format("{}/{}", buf, prefix);
  if (std::memcmp(network, c.address, 16) != 0)
    return fmt::format("\"{}\" has bits set past the /{} prefix; write \"{}\"", text, prefix,
                       canonical);
  c.text = canonical;
  return c;
}

bool Cidr::contains(const sockaddr* peer) const {
  const uint8_t* bytes = nullptr;
  if (peer->sa_family == AF_INET && family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
  } else if (peer->sa_family == AF_INET6) {
    const uint8_t* a = reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr.s6_addr;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET6) {
      bytes = a;
    } else if (std::memcmp(a, kMapped, 12) == 0) {
      bytes = a + 12;
    }
  }
  if (bytes == nullptr) return false;
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(bytes, address, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return (bytes[full] & mask) == (address[full] & mask);
}

bool is_host_name(std::string_view text, bool allow_wildcard) {
  if (allow_wildcard && text.starts_with("*.")) text.remove_prefix(2);
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);  // absolute form
  if (text.empty() || text.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (label == 0 || label > 63 || text[i - 1] == '-' || text[i - label] == '-') return false;
      label = 0;
      continue;
    }
    char ch = text[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_';
    if (!ok) return false;
    ++label;
  }
  return true;
}

}  // namespace ringmx::config
