// PROXY v1/v2 parser: a table of headers and expected results, each also fed
// one byte at a time (picohttpparser's per-byte style).
#include "protocols/proxy/proxy.h"
#include "protocols/proxy/crc32c.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ringmx::proxy {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

// "1.2.3.4:56" or "[::1]:25"; "-" for a zeroed address.
std::string to_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(a.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof(buf));
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  return ss.ss_family == AF_UNSPEC ? "-" : "family?";
}

// A v2 header: signature, version/command byte, family byte, then `block`
// with the length field computed from it unless `length` overrides it.
std::string v2(std::uint8_t ver_cmd, std::uint8_t fam, const std::string& block, int length = -1) {
  std::string s = "\r\n\r\n\0\r\nQUIT\n"s;
  s += static_cast<char>(ver_cmd);
  s += static_cast<char>(fam);
  std::size_t len = length < 0 ? block.size() : static_cast<std::size_t>(length);
  s += static_cast<char>(len >> 8);
  s += static_cast<char>(len & 0xff);
  return s + block;
}

std::string ipv4_block(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
  std::string b(12, '\0');
  inet_pton(AF_INET, src, b.data());
  inet_pton(AF_INET, dst, b.data() + 4);
  b[8] = static_cast<char>(sport >> 8), b[9] = static_cast<char>(sport);
  b[10] = static_cast<char>(dport >> 8), b[11] = static_cast<char>(dport);
  return b;
}

std::string ipv6_block(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
  std::string b(36, '\0');
  inet_pton(AF_INET6, src, b.data());
  inet_pton(AF_INET6, dst, b.data() + 16);
  b[32] = static_cast<char>(sport >> 8), b[33] = static_cast<char>(sport);
  b[34] = static_cast<char>(dport >> 8), b[35] = static_cast<char>(dport);
  return b;
}

std::string tlv(std::uint8_t type, const std::string& value, int length = -1) {
  std::size_t len = length < 0 ? value.size() : static_cast<std::size_t>(length);
  std::string t;
  t += static_cast<char>(type);
  t += static_cast<char>(len >> 8);
  t += static_cast<char>(len & 0xff);
  return t + value;
}

// A v2 header ending in a CRC32C TLV computed as the spec says (over the
// whole header with the checksum zeroed); `corrupt` flips one checksum bit.
std::string with_crc(std::uint8_t ver_cmd, std::uint8_t fam, const std::string& block,
                     bool corrupt = false) {
  std::string h = v2(ver_cmd, fam, block + tlv(kTlvCrc32c, std::string(4, '\0')));
  std::uint32_t crc = crc32c_final(crc32c_update(crc32c_init, h));
  if (corrupt) crc ^= 1;
  for (int i = 0; i < 4; ++i)
    h[h.size() - 4 + i] = static_cast<char>(crc >> (24 - 8 * i));
  return h;
}

struct Case {
  const char* name;
  std::string input;
  Status status;
  std::size_t consumed = 0;  // complete only
  Family family = Family::unspec;
  Command command = Command::proxy;
  std::string source = "-";
  std::string destination = "-";
  std::string reason = "";  // substring of the reason, invalid only
};

const std::string kV4 = ipv4_block("192.0.2.10", "198.51.100.1", 40000, 25);
const std::string kV6 = ipv6_block("2001:db8::7", "2001:db8::1", 65535, 587);
const std::string kSmtp = "EHLO client.example\r\n";
const std::string k104 =
    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";

std::vector<Case> cases() {
  std::vector<Case> t = {
      // ---- v1, good
      {"v1 tcp4", "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n", Status::complete, 45,
       Family::inet, Command::proxy, "192.0.2.10:40000", "198.51.100.1:25"},
      {"v1 tcp4 then SMTP", "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n" + kSmtp,
       Status::complete, 45, Family::inet, Command::proxy, "192.0.2.10:40000", "198.51.100.1:25"},
      {"v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 65535 587\r\n", Status::complete, 46,
       Family::inet6, Command::proxy, "[2001:db8::7]:65535", "[2001:db8::1]:587"},
      {"v1 tcp6 v4-mapped", "PROXY TCP6 ::ffff:192.0.2.1 ::1 0 25\r\n", Status::complete, 38,
       Family::inet6, Command::proxy, "[::ffff:192.0.2.1]:0", "[::1]:25"},
      {"v1 port 0 and 65535", "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", Status::complete,
       44, Family::inet, Command::proxy, "0.0.0.0:0", "255.255.255.255:65535"},
      {"v1 unknown", "PROXY UNKNOWN\r\n", Status::complete, 15},
      {"v1 unknown with ignored fields", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n" + kSmtp,
       Status::complete, 35},
      {"v1 exactly 107 bytes", "PROXY UNKNOWN " + std::string(91, 'x') + "\r\n", Status::complete,
       107},
      {"v1 tcp6 longest addresses", k104, Status::complete, 104, Family::inet6, Command::proxy,
       "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
       "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
      // ---- v1, bad
      {"v1 108 bytes", "PROXY UNKNOWN " + std::string(92, 'x') + "\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "107"},
      {"v1 no CRLF at all", "PROXY UNKNOWN " + std::string(200, 'x'), Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "107"},
      {"v1 bare LF", "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "bare LF"},
      {"v1 CR without LF", "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\rX", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "CR not followed"},
      {"v1 lowercase keyword", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "not a PROXY"},
      {"v1 lowercase protocol", "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "protocol"},
      {"v1 double space after PROXY", "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "missing protocol"},
      {"v1 double space between addresses", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", Status::invalid,
       0, Family::unspec, Command::proxy, "-", "-", "single spaces"},
      {"v1 trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "port"},
      {"v1 tab separator", "PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "control byte"},
      {"v1 missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "single spaces"},
      {"v1 port leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 025 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "port"},
      {"v1 port 65536", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "port"},
      {"v1 port with sign", "PROXY TCP4 1.2.3.4 5.6.7.8 +25 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "port"},
      {"v1 port hex", "PROXY TCP4 1.2.3.4 5.6.7.8 0x19 2\r\n", Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "port"},
      {"v1 octet 256", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "IPv4"},
      {"v1 octet leading zero", "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "IPv4"},
      {"v1 three octets", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "IPv4"},
      {"v1 five octets", "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "IPv4"},
      {"v1 tcp4 with ipv6 address", "PROXY TCP4 ::1 ::1 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "IPv4"},
      {"v1 tcp6 with ipv4 address", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "IPv6"},
      {"v1 ipv6 with zone", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "IPv6"},
      {"v1 ipv6 two double colons", "PROXY TCP6 1::2::3 ::1 1 2\r\n", Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "IPv6"},
      {"v1 UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "protocol"},
      {"v1 protocol only", "PROXY TCP4\r\n", Status::invalid, 0, Family::unspec, Command::proxy,
       "-", "-", "missing protocol"},
      {"v1 UNKNOWNX", "PROXY UNKNOWNX\r\n", Status::invalid, 0, Family::unspec, Command::proxy, "-",
       "-", "missing protocol"},
      {"v1 empty line", "PROXY \r\n", Status::invalid, 0, Family::unspec, Command::proxy, "-", "-",
       "missing protocol"},
      {"v1 NUL byte", "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"s, Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "control byte"},
      // ---- neither
      {"SMTP command", kSmtp, Status::invalid, 0, Family::unspec, Command::proxy, "-", "-",
       "not a PROXY"},
      {"TLS ClientHello", "\x16\x03\x01\x02\x00"s, Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "not a PROXY"},
      {"PROXY as an SMTP verb", "PROXYTCP4\r\n", Status::invalid, 0, Family::unspec, Command::proxy,
       "-", "-", "PROXY "},
      // ---- v2, good
      {"v2 tcp4", v2(0x21, 0x11, kV4), Status::complete, 28, Family::inet, Command::proxy,
       "192.0.2.10:40000", "198.51.100.1:25"},
      {"v2 tcp4 then SMTP", v2(0x21, 0x11, kV4) + kSmtp, Status::complete, 28, Family::inet,
       Command::proxy, "192.0.2.10:40000", "198.51.100.1:25"},
      {"v2 tcp6", v2(0x21, 0x21, kV6), Status::complete, 52, Family::inet6, Command::proxy,
       "[2001:db8::7]:65535", "[2001:db8::1]:587"},
      {"v2 tcp4 with TLVs",
       v2(0x21, 0x11, kV4 + tlv(0x01, "h2") + tlv(0x04, "") + tlv(0xEA, std::string(300, 'v'))) +
           kSmtp,
       Status::complete, 16 + 12 + 5 + 3 + 303, Family::inet, Command::proxy, "192.0.2.10:40000",
       "198.51.100.1:25"},
      {"v2 local unspec", v2(0x20, 0x00, "") + kSmtp, Status::complete, 16, Family::unspec,
       Command::local},
      {"v2 local ignores family and block", v2(0x20, 0x11, kV4 + "\xff"s), Status::complete, 29,
       Family::unspec, Command::local},
      {"v2 local with unknown family byte", v2(0x20, 0x99, ""), Status::complete, 16,
       Family::unspec, Command::local},
      {"v2 proxy unspec keeps socket address", v2(0x21, 0x00, "garbage"), Status::complete, 23},
      {"v2 unix stream keeps socket address", v2(0x21, 0x31, std::string(216, '\0')),
       Status::complete, 232, Family::unix_socket},
      {"v2 tcp4 with valid CRC32C", with_crc(0x21, 0x11, kV4 + tlv(kTlvUniqueId, "id-1")) + kSmtp,
       Status::complete, 16 + 12 + 7 + 7, Family::inet, Command::proxy, "192.0.2.10:40000",
       "198.51.100.1:25"},
      {"v2 tcp6 with valid CRC32C", with_crc(0x21, 0x21, kV6), Status::complete, 16 + 36 + 7,
       Family::inet6, Command::proxy, "[2001:db8::7]:65535", "[2001:db8::1]:587"},
      {"v2 at the 4096-byte bound", v2(0x21, 0x11, kV4 + tlv(0x04, std::string(4065, 'p'))),
       Status::complete, 4096, Family::inet, Command::proxy, "192.0.2.10:40000", "198.51.100.1:25"},
      // ---- v2, bad
      {"v2 bad signature", "\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c"s + kV4, Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "signature"},
      {"v2 version 1", v2(0x11, 0x11, kV4), Status::invalid, 0, Family::unspec, Command::proxy, "-",
       "-", "version"},
      {"v2 version 3", v2(0x31, 0x11, kV4), Status::invalid, 0, Family::unspec, Command::proxy, "-",
       "-", "version"},
      {"v2 command 2", v2(0x22, 0x11, kV4), Status::invalid, 0, Family::unspec, Command::proxy, "-",
       "-", "command"},
      {"v2 udp4", v2(0x21, 0x12, kV4), Status::invalid, 0, Family::unspec, Command::proxy, "-", "-",
       "datagram"},
      {"v2 udp6", v2(0x21, 0x22, kV6), Status::invalid, 0, Family::unspec, Command::proxy, "-", "-",
       "datagram"},
      {"v2 unix datagram", v2(0x21, 0x32, std::string(216, '\0')), Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "datagram"},
      {"v2 family 4", v2(0x21, 0x41, kV4), Status::invalid, 0, Family::unspec, Command::proxy, "-",
       "-", "unknown address family"},
      {"v2 inet unspec transport", v2(0x21, 0x10, kV4), Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "unknown address family"},
      {"v2 length shorter than ipv4 block", v2(0x21, 0x11, kV4.substr(0, 11)), Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "address block"},
      {"v2 ipv6 family with ipv4 block", v2(0x21, 0x21, kV4), Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "address block"},
      {"v2 TLV length overruns", v2(0x21, 0x11, kV4 + tlv(0x01, "h2", 3)), Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "TLV"},
      {"v2 TLV length 65535", v2(0x21, 0x11, kV4 + tlv(0x01, "h2", 0xffff)), Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "TLV"},
      {"v2 two stray bytes after TLVs", v2(0x21, 0x11, kV4 + tlv(0x01, "h2") + "\x01\x00"s),
       Status::invalid, 0, Family::unspec, Command::proxy, "-", "-", "TLV"},
      {"v2 CRC32C mismatch", with_crc(0x21, 0x11, kV4, true), Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "CRC32C mismatch"},
      {"v2 CRC32C of 3 bytes", v2(0x21, 0x11, kV4 + tlv(kTlvCrc32c, "abc")), Status::invalid, 0,
       Family::unspec, Command::proxy, "-", "-", "not 4 bytes"},
      {"v2 over 4096 bytes", v2(0x21, 0x11, kV4 + tlv(0x04, std::string(4066, 'p'))),
       Status::invalid, 0, Family::unspec, Command::proxy, "-", "-", "4096"},
      {"v2 length field 65535", v2(0x21, 0x11, kV4, 0xffff), Status::invalid, 0, Family::unspec,
       Command::proxy, "-", "-", "4096"},
  };
  return t;
}

void expect_result(const Case& c, const Result& r) {
  EXPECT_EQ(to_string(r.status), to_string(c.status)) << r.reason;
  if (c.status == Status::complete) {
    EXPECT_EQ(r.consumed, c.consumed);
    EXPECT_EQ(to_string(r.family), to_string(c.family));
    EXPECT_EQ(r.command, c.command);
    EXPECT_EQ(r.has_addresses, c.source != "-");
    EXPECT_EQ(to_text(r.source), c.source);
    EXPECT_EQ(to_text(r.destination), c.destination);
    EXPECT_EQ(r.reason, "");
  } else {
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_FALSE(r.has_addresses);
    EXPECT_NE(r.reason.find(c.reason), std::string_view::npos)
        << "reason: \"" << r.reason << "\", want \"" << c.reason << "\"";
  }
}

// gtest prints a failing parameter with this instead of a hex dump.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class ProxyTable : public testing::TestWithParam<Case> {};

TEST_P(ProxyTable, WholeBuffer) {
  const Case& c = GetParam();
  expect_result(c, parse(c.input));
}

// The caller accumulates bytes as reads arrive and calls parse() on all of
// them each time. Every prefix must answer need_more until the answer is
// decided, and from then on the same answer as the whole buffer.
TEST_P(ProxyTable, ByteByByte) {
  const Case& c = GetParam();
  bool decided = false;
  for (std::size_t n = 0; n <= c.input.size(); ++n) {
    Result r = parse(std::span<const char>(c.input.data(), n));
    if (r.status == Status::need_more) {
      ASSERT_FALSE(decided) << "need_more after a decision at " << n << " bytes";
      ASSERT_EQ(r.consumed, 0u);
      continue;
    }
    if (decided) continue;  // checked at the first decision
    decided = true;
    SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
    expect_result(c, r);
    if (c.status == Status::complete) {
      EXPECT_EQ(n, c.consumed) << "decided early or late";
    }
    if (testing::Test::HasFailure()) return;
  }
  EXPECT_TRUE(decided);
}

INSTANTIATE_TEST_SUITE_P(Headers, ProxyTable, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           std::string n;
                           for (char ch : std::string(info.param.name)) {
                             n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           }
                           return n;
                         });

TEST(Proxy, EmptyInputNeedsMore) {
  EXPECT_EQ(parse({}).status, Status::need_more);
}

// A non-PROXY client is refused on its first byte, without waiting for the
// header timeout.
TEST(Proxy, DecidesOnFirstWrongByte) {
  EXPECT_EQ(parse(std::string_view("E")).status, Status::invalid);
  EXPECT_EQ(parse(std::string_view("PROXX")).status, Status::invalid);
  EXPECT_EQ(parse("\r\n\r\n\0\r\nQUIX"sv).status, Status::invalid);
  EXPECT_EQ(parse(std::string_view("PROXY TCP4 1.2.3.4\n")).status, Status::invalid);
}

// A v1 line that has not reached CRLF waits up to the bound, then fails:
// the runtime never holds more than kMaxHeaderBytes for a v1 peer.
TEST(Proxy, V1WaitsUpToTheBound) {
  std::string line = "PROXY UNKNOWN " + std::string(91, 'x');  // 105 bytes
  EXPECT_EQ(parse(line).status, Status::need_more);
  EXPECT_EQ(parse(line + "\r").status, Status::need_more);
  EXPECT_EQ(parse(line + "\r\n").status, Status::complete);
  EXPECT_EQ(parse(line + "x").status, Status::invalid);
}

// The bound is refused as soon as the length field is read, before the
// body of the header arrives.
TEST(Proxy, V2OverlongRefusedFromFixedPart) {
  std::string fixed = v2(0x21, 0x11, "", 0x1000);  // 16 + 4096
  EXPECT_EQ(fixed.size(), kV2FixedBytes);
  Result r = parse(fixed);
  EXPECT_EQ(r.status, Status::invalid);
  EXPECT_EQ(r.version, Version::v2);
}

TEST(Proxy, Crc32cKnownAnswer) {
  // RFC 3720 B.4 check value, and 32 bytes of zeros.
  EXPECT_EQ(crc32c_final(crc32c_update(crc32c_init, "123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_final(crc32c_update(crc32c_init, std::string(32, '\0'))), 0x8A9136AAu);
}

TEST(Proxy, TlvsAreHandedOutInOrder) {
  std::string h =
      v2(0x21, 0x11, kV4 + tlv(kTlvAlpn, "smtp") + tlv(kTlvNoop, "") + tlv(kTlvUniqueId, "abc")) +
      kSmtp;
  Result r = parse(h);
  ASSERT_EQ(r.status, Status::complete);
  std::string_view rest = r.tlvs;
  EXPECT_EQ(rest.data(), h.data() + 16 + 12);  // a view into the input
  Tlv t;
  ASSERT_TRUE(next_tlv(rest, t));
  EXPECT_EQ(t.type, kTlvAlpn);
  EXPECT_EQ(t.value, "smtp");
  ASSERT_TRUE(next_tlv(rest, t));
  EXPECT_EQ(t.type, kTlvNoop);
  EXPECT_EQ(t.value, "");
  ASSERT_TRUE(next_tlv(rest, t));
  EXPECT_EQ(t.type, kTlvUniqueId);
  EXPECT_EQ(t.value, "abc");
  EXPECT_FALSE(next_tlv(rest, t));
  // No TLVs for v1, LOCAL or UNSPEC.
  EXPECT_TRUE(parse(std::string_view("PROXY UNKNOWN\r\n")).tlvs.empty());
  EXPECT_TRUE(parse(v2(0x20, 0x11, kV4 + tlv(kTlvAlpn, "x"))).tlvs.empty());
}

TEST(Proxy, ReportsVersion) {
  EXPECT_EQ(parse(std::string_view("PROXY UNKNOWN\r\n")).version, Version::v1);
  EXPECT_EQ(parse(v2(0x20, 0x00, "")).version, Version::v2);
}

}  // namespace
}  // namespace ringmx::proxy
