// PROXY protocol v1 (text) and v2 (binary) header parsing. See proxy.h.
#include "protocols/proxy/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "protocols/proxy/crc32c.h"

namespace ringmx::proxy {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr char kV2Signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                   '\n', 'Q',  'U',  'I',  'T',  '\n'};

// v2 byte 13, low nibble. High nibble is the version (2).
constexpr std::uint8_t kV2CommandLocal = 0x0;
constexpr std::uint8_t kV2CommandProxy = 0x1;
// v2 byte 14: address family (high nibble) and transport (low nibble).
constexpr std::uint8_t kV2Unspec = 0x00;
constexpr std::uint8_t kV2TcpOverIpv4 = 0x11;
constexpr std::uint8_t kV2UdpOverIpv4 = 0x12;
constexpr std::uint8_t kV2TcpOverIpv6 = 0x21;
constexpr std::uint8_t kV2UdpOverIpv6 = 0x22;
constexpr std::uint8_t kV2UnixStream = 0x31;
constexpr std::uint8_t kV2UnixDatagram = 0x32;
// Address block sizes for each family (spec section 2.2).
constexpr std::size_t kV2Ipv4Block = 4 + 4 + 2 + 2;
constexpr std::size_t kV2Ipv6Block = 16 + 16 + 2 + 2;
constexpr std::size_t kV2UnixBlock = 108 + 108;
constexpr std::size_t kV2TlvHeader = 3;  // type, 16-bit length

Result fail(Version version, std::string_view reason) {
  Result r;
  r.status = Status::invalid;
  r.version = version;
  r.reason = reason;
  return r;
}

Result more(Version version) {
  Result r;
  r.status = Status::need_more;
  r.version = version;
  return r;
}

std::uint16_t be16(const char* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(p[0]) << 8) |
                                    static_cast<unsigned char>(p[1]));
}

// ---- v1 -----------------------------------------------------------------

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Decimal 0..max, no sign, no leading zero (except "0" itself).
bool parse_decimal(std::string_view s, unsigned max, unsigned& out) {
  if (s.empty() || s.size() > 5) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  unsigned v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

// Dotted quad, four decimal octets without leading zeros ("010" is octal to
// some parsers and decimal to others: refuse rather than guess).
bool parse_ipv4(std::string_view s, in_addr& out) {
  std::uint32_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    std::size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    unsigned octet = 0;
    if (dot > 3 || !parse_decimal(s.substr(0, dot), 255, octet)) return false;
    addr = (addr << 8) | octet;
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  if (!s.empty()) return false;
  out.s_addr = htonl(addr);
  return true;
}

bool parse_ipv6(std::string_view s, in6_addr& out) {
  // The longest textual IPv6 address is 45 characters (IPv4-mapped form).
  char text[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof(text)) return false;
  // inet_pton accepts exactly RFC 4291 text forms; hex digits, ':' and '.'
  // are the only bytes it takes, so nothing else slips through.
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = '\0';
  return inet_pton(AF_INET6, text, &out) == 1;
}

// Splits off the next space-terminated field; false when there is no
// space or the field is empty (two spaces in a row).
bool next_field(std::string_view& rest, std::string_view& field) {
  std::size_t sp = rest.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  field = rest.substr(0, sp);
  rest.remove_prefix(sp + 1);
  return true;
}

template <typename SockAddr>
void store(sockaddr_storage& dst, const SockAddr& src) {
  std::memcpy(&dst, &src, sizeof(src));
}

// `line` is the text between "PROXY " and CRLF.
Result parse_v1_line(std::string_view line, std::size_t consumed) {
  Result r;
  r.version = Version::v1;
  r.command = Command::proxy;
  r.consumed = consumed;
  r.status = Status::complete;
  // "UNKNOWN" may be followed by anything up to CRLF, which the receiver
  // must ignore (spec 2.1); the socket's own addresses stay.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
    r.family = Family::unspec;
    return r;
  }
  std::string_view rest = line;
  std::string_view proto, src, dst, sport, dport;
  if (!next_field(rest, proto)) return fail(Version::v1, "v1: missing protocol");
  bool v6;
  if (proto == "TCP4") {
    v6 = false;
  } else if (proto == "TCP6") {
    v6 = true;
  } else {
    return fail(Version::v1, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
  }
  if (!next_field(rest, src) || !next_field(rest, dst) || !next_field(rest, sport)) {
    return fail(Version::v1, "v1: fields not separated by single spaces");
  }
  dport = rest;
  unsigned sp = 0, dp = 0;
  if (!parse_decimal(sport, 65535, sp) || !parse_decimal(dport, 65535, dp)) {
    return fail(Version::v1, "v1: port is not a decimal 0-65535 without leading zeros");
  }
  if (!v6) {
    sockaddr_in s{}, d{};
    s.sin_family = d.sin_family = AF_INET;
    if (!parse_ipv4(src, s.sin_addr) || !parse_ipv4(dst, d.sin_addr)) {
      return fail(Version::v1, "v1: bad IPv4 address");
    }
    s.sin_port = htons(static_cast<std::uint16_t>(sp));
    d.sin_port = htons(static_cast<std::uint16_t>(dp));
    store(r.source, s);
    store(r.destination, d);
    r.family = Family::inet;
  } else {
    sockaddr_in6 s{}, d{};
    s.sin6_family = d.sin6_family = AF_INET6;
    if (!parse_ipv6(src, s.sin6_addr) || !parse_ipv6(dst, d.sin6_addr)) {
      return fail(Version::v1, "v1: bad IPv6 address");
    }
    s.sin6_port = htons(static_cast<std::uint16_t>(sp));
    d.sin6_port = htons(static_cast<std::uint16_t>(dp));
    store(r.source, s);
    store(r.destination, d);
    r.family = Family::inet6;
  }
  r.has_addresses = true;
  return r;
}

Result parse_v1(std::string_view in) {
  std::size_t prefix = std::min(in.size(), kV1Prefix.size());
  if (in.substr(0, prefix) != kV1Prefix.substr(0, prefix)) {
    return fail(Version::v1, "v1: line does not start with \"PROXY \"");
  }
  // Scan for the end of line within the 107-byte bound, so the CR may sit
  // at index 105 at most. Only CRLF ends it; a lone CR or LF is refused at
  // once, and so is any control byte, so a client speaking something else
  // fails before the bound is reached.
  std::size_t limit = std::min(in.size(), kV1MaxBytes - 1);
  for (std::size_t i = kV1Prefix.size(); i < limit; ++i) {
    char c = in[i];
    if (c == '\r') {
      if (i + 1 >= in.size()) return more(Version::v1);
      if (in[i + 1] != '\n') return fail(Version::v1, "v1: CR not followed by LF");
      return parse_v1_line(in.substr(kV1Prefix.size(), i - kV1Prefix.size()), i + 2);
    }
    if (c == '\n') return fail(Version::v1, "v1: bare LF, line must end with CRLF");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return fail(Version::v1, "v1: control byte in line");
    }
  }
  if (in.size() >= kV1MaxBytes - 1) return fail(Version::v1, "v1: no CRLF within 107 bytes");
  return more(Version::v1);
}

// ---- v2 -----------------------------------------------------------------

// Walks the TLVs after the address block: each must fit entirely, and a
// CRC32C TLV must be 4 bytes and match the whole header computed with its
// value zeroed (spec 2.2.3: a mismatch makes the connection invalid).
// Returns the reason when they do not, "" when they do.
std::string_view check_tlvs(std::string_view header, std::size_t tlv_offset) {
  std::string_view rest = header.substr(tlv_offset);
  while (!rest.empty()) {
    if (rest.size() < kV2TlvHeader) return "v2: TLV length overruns the header";
    std::size_t len = be16(rest.data() + 1);
    if (len > rest.size() - kV2TlvHeader) return "v2: TLV length overruns the header";
    if (static_cast<std::uint8_t>(rest[0]) == kTlvCrc32c) {
      if (len != 4) return "v2: CRC32C TLV is not 4 bytes";
      std::size_t at = header.size() - rest.size() + kV2TlvHeader;
      std::uint32_t crc = crc32c_update(crc32c_init, header.substr(0, at));
      crc = crc32c_update(crc, std::string_view("\0\0\0\0", 4));
      crc = crc32c_final(crc32c_update(crc, header.substr(at + 4)));
      std::uint32_t sent =
          (std::uint32_t{be16(header.data() + at)} << 16) | be16(header.data() + at + 2);
      if (crc != sent) return "v2: CRC32C mismatch";
    }
    rest.remove_prefix(kV2TlvHeader + len);
  }
  return {};
}

Result parse_v2(std::string_view in) {
  std::size_t sig = std::min(in.size(), sizeof(kV2Signature));
  if (std::memcmp(in.data(), kV2Signature, sig) != 0) {
    return fail(Version::v2, "v2: bad signature");
  }
  if (in.size() < sizeof(kV2Signature) + 1) return more(Version::v2);
  auto ver_cmd = static_cast<std::uint8_t>(in[12]);
  if ((ver_cmd >> 4) != 2) return fail(Version::v2, "v2: version is not 2");
  std::uint8_t command = ver_cmd & 0x0f;
  if (command != kV2CommandLocal && command != kV2CommandProxy) {
    return fail(Version::v2, "v2: command is neither LOCAL nor PROXY");
  }
  if (in.size() < kV2FixedBytes) return more(Version::v2);
  auto fam = static_cast<std::uint8_t>(in[13]);
  std::size_t len = be16(in.data() + 14);
  if (kV2FixedBytes + len > kV2MaxBytes) return fail(Version::v2, "v2: header over 4096 bytes");
  if (in.size() < kV2FixedBytes + len) return more(Version::v2);

  Result r;
  r.status = Status::complete;
  r.version = Version::v2;
  r.consumed = kV2FixedBytes + len;
  r.family = Family::unspec;
  if (command == kV2CommandLocal) {
    // The proxy's own connection (a health check): the whole block after
    // the fixed part, family byte included, is ignored (spec 2.2).
    r.command = Command::local;
    return r;
  }
  r.command = Command::proxy;
  const char* block = in.data() + kV2FixedBytes;
  std::size_t need;
  switch (fam) {
    case kV2Unspec:
      // Unknown or unsupported protocol: accept, keep the socket's
      // addresses, ignore the block.
      return r;
    case kV2TcpOverIpv4:
      need = kV2Ipv4Block;
      break;
    case kV2TcpOverIpv6:
      need = kV2Ipv6Block;
      break;
    case kV2UnixStream:
      need = kV2UnixBlock;
      break;
    case kV2UdpOverIpv4:
    case kV2UdpOverIpv6:
    case kV2UnixDatagram:
      return fail(Version::v2, "v2: datagram transport on a stream listener");
    default:
      return fail(Version::v2, "v2: unknown address family or transport");
  }
  if (len < need) return fail(Version::v2, "v2: length shorter than the address block");
  std::string_view header = in.substr(0, kV2FixedBytes + len);
  if (std::string_view bad = check_tlvs(header, kV2FixedBytes + need); !bad.empty()) {
    return fail(Version::v2, bad);
  }
  r.tlvs = header.substr(kV2FixedBytes + need);
  if (fam == kV2UnixStream) {
    // A path is no client IP to log, limit or stamp in Received: keep the
    // socket's addresses, as for UNSPEC.
    r.family = Family::unix_socket;
    return r;
  }
  if (fam == kV2TcpOverIpv4) {
    sockaddr_in s{}, d{};
    s.sin_family = d.sin_family = AF_INET;
    std::memcpy(&s.sin_addr, block, 4);
    std::memcpy(&d.sin_addr, block + 4, 4);
    std::memcpy(&s.sin_port, block + 8, 2);  // already network order
    std::memcpy(&d.sin_port, block + 10, 2);
    store(r.source, s);
    store(r.destination, d);
    r.family = Family::inet;
  } else {
    sockaddr_in6 s{}, d{};
    s.sin6_family = d.sin6_family = AF_INET6;
    std::memcpy(&s.sin6_addr, block, 16);
    std::memcpy(&d.sin6_addr, block + 16, 16);
    std::memcpy(&s.sin6_port, block + 32, 2);
    std::memcpy(&d.sin6_port, block + 34, 2);
    store(r.source, s);
    store(r.destination, d);
    r.family = Family::inet6;
  }
  r.has_addresses = true;
  return r;
}

}  // namespace

bool next_tlv(std::string_view& tlvs, Tlv& out) {
  if (tlvs.size() < kV2TlvHeader) return false;
  std::size_t len = std::min<std::size_t>(be16(tlvs.data() + 1), tlvs.size() - kV2TlvHeader);
  out.type = static_cast<std::uint8_t>(tlvs[0]);
  out.value = tlvs.substr(kV2TlvHeader, len);
  tlvs.remove_prefix(kV2TlvHeader + len);
  return true;
}

Result parse(std::span<const char> bytes) {
  std::string_view in(bytes.data(), bytes.size());
  if (in.empty()) return more(Version::v1);
  if (in[0] == kV1Prefix[0]) return parse_v1(in);
  if (in[0] == kV2Signature[0]) return parse_v2(in);
  return fail(Version::v1, "not a PROXY header");
}

std::string_view to_string(Status status) {
  switch (status) {
    case Status::complete:
      return "complete";
    case Status::need_more:
      return "need_more";
    case Status::invalid:
      return "invalid";
  }
  return "?";
}

std::string_view to_string(Family family) {
  switch (family) {
    case Family::unspec:
      return "unspec";
    case Family::inet:
      return "inet";
    case Family::inet6:
      return "inet6";
    case Family::unix_socket:
      return "unix_socket";
  }
  return "?";
}

}  // namespace ringmx::proxy
