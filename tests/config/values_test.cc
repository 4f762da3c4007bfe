// Value forms: durations, bind addresses, networks, host names, and the
// "did you mean" distance.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "config/ciphers.h"
#include "config/suggest.h"
#include "config/values.h"

namespace ringmx::config {
namespace {

using namespace std::chrono_literals;

Duration duration_ok(std::string_view text) {
  auto p = parse_duration(text);
  EXPECT_TRUE(std::holds_alternative<Duration>(p)) << text << ": " << std::get<std::string>(p);
  return std::holds_alternative<Duration>(p) ? std::get<Duration>(p) : Duration{-1};
}

std::string duration_error(std::string_view text) {
  auto p = parse_duration(text);
  EXPECT_TRUE(std::holds_alternative<std::string>(p)) << text << " was accepted";
  return std::holds_alternative<std::string>(p) ? std::get<std::string>(p) : "";
}

TEST(ConfigDuration, EveryUnit) {
  EXPECT_EQ(duration_ok("500ms"), 500ms);
  EXPECT_EQ(duration_ok("30s"), 30s);
  EXPECT_EQ(duration_ok("1m"), 1min);
  EXPECT_EQ(duration_ok("2h"), 2h);
  EXPECT_EQ(duration_ok("1d"), 24h);
  EXPECT_EQ(duration_ok("0s"), 0s);
}

TEST(ConfigDuration, RefusesOtherForms) {
  EXPECT_NE(duration_error("30").find("no known unit"), std::string::npos);
  EXPECT_NE(duration_error("1.5s").find("no known unit"), std::string::npos);
  EXPECT_NE(duration_error("s").find("not a duration"), std::string::npos);
  EXPECT_NE(duration_error("-1s").find("not a duration"), std::string::npos);
  EXPECT_NE(duration_error("1 s").find("no known unit"), std::string::npos);
  EXPECT_NE(duration_error("10w").find("\"500ms\""), std::string::npos);
  EXPECT_NE(duration_error("3651d").find("too long"), std::string::npos);
  EXPECT_NE(duration_error("99999999999999999999s").find("too long"), std::string::npos);
}

TEST(ConfigDuration, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(60s), "1m");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(48h), "2d");
  EXPECT_EQ(format_duration(0s), "0s");
}

BindAddress bind_ok(std::string_view text) {
  auto p = parse_bind_address(text);
  EXPECT_TRUE(std::holds_alternative<BindAddress>(p)) << text << ": " << std::get<std::string>(p);
  return std::holds_alternative<BindAddress>(p) ? std::get<BindAddress>(p) : BindAddress{};
}

std::string bind_error(std::string_view text) {
  auto p = parse_bind_address(text);
  EXPECT_TRUE(std::holds_alternative<std::string>(p)) << text << " was accepted";
  return std::holds_alternative<std::string>(p) ? std::get<std::string>(p) : "";
}

TEST(ConfigBindAddress, Ipv4IsReadyForBind) {
  BindAddress b = bind_ok("1.2.3.4:25");
  EXPECT_EQ(b.text, "1.2.3.4:25");
  EXPECT_EQ(b.family, AF_INET);
  EXPECT_EQ(b.port, 25);
  ASSERT_EQ(b.addr_len, sizeof(sockaddr_in));
  auto* sa = reinterpret_cast<const sockaddr_in*>(&b.addr);
  EXPECT_EQ(sa->sin_family, AF_INET);
  EXPECT_EQ(ntohs(sa->sin_port), 25);
  EXPECT_EQ(ntohl(sa->sin_addr.s_addr), 0x01020304u);
  EXPECT_EQ(bind_ok("0.0.0.0:25").text, "0.0.0.0:25");
}

TEST(ConfigBindAddress, Ipv6InBracketsIsReadyForBind) {
  BindAddress b = bind_ok("[::1]:25");
  EXPECT_EQ(b.text, "[::1]:25");
  EXPECT_EQ(b.family, AF_INET6);
  ASSERT_EQ(b.addr_len, sizeof(sockaddr_in6));
  auto* sa = reinterpret_cast<const sockaddr_in6*>(&b.addr);
  EXPECT_EQ(sa->sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(sa->sin6_port), 25);
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr));
  EXPECT_EQ(bind_ok("[::]:25").text, "[::]:25");
  // Canonical text: the same address written two ways is one address.
  EXPECT_EQ(bind_ok("[0:0:0:0:0:0:0:1]:587").text, "[::1]:587");
  EXPECT_EQ(bind_ok("[A:3F::2]:25").text, "[a:3f::2]:25");
}

TEST(ConfigBindAddress, BareIpv6ShowsTheBracketedForm) {
  std::string e = bind_error("a:3f::2");
  EXPECT_NE(e.find("\"[a:3f::2]:PORT\""), std::string::npos) << e;
  EXPECT_NE(e.find("without a port"), std::string::npos) << e;
}

TEST(ConfigBindAddress, RefusesMissingPortsAndNames) {
  EXPECT_NE(bind_error("1.2.3.4").find("\"1.2.3.4:PORT\""), std::string::npos);
  EXPECT_NE(bind_error("[::1]").find("\"[::1]:PORT\""), std::string::npos);
  EXPECT_NE(bind_error("1.2.3.4:65536").find("1 to 65535"), std::string::npos);
  EXPECT_NE(bind_error("1.2.3.4:smtp").find("1 to 65535"), std::string::npos);
  EXPECT_NE(bind_error("localhost:25").find("host names are not resolved"), std::string::npos);
  EXPECT_NE(bind_error("[1.2.3.4]:25").find("not an IPv6 address"), std::string::npos);
  EXPECT_NE(bind_error("[::1:25").find("no closing ']'"), std::string::npos);
  EXPECT_NE(bind_error("[::1]25").find("expected ':'"), std::string::npos);
  bind_error("");
  bind_error("::1::2");
}

Cidr cidr_ok(std::string_view text) {
  auto p = parse_cidr(text);
  EXPECT_TRUE(std::holds_alternative<Cidr>(p)) << text << ": " << std::get<std::string>(p);
  return std::holds_alternative<Cidr>(p) ? std::get<Cidr>(p) : Cidr{};
}

sockaddr_storage peer(const char* address) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, address, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, address, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr), 1);
    ss.ss_family = AF_INET6;
  }
  return ss;
}

bool contains(const Cidr& c, const char* address) {
  sockaddr_storage ss = peer(address);
  return c.contains(reinterpret_cast<const sockaddr*>(&ss));
}

TEST(ConfigCidr, ContainsItsPeersOnly) {
  Cidr ten = cidr_ok("10.0.0.0/8");
  EXPECT_EQ(ten.text, "10.0.0.0/8");
  EXPECT_TRUE(contains(ten, "10.255.1.2"));
  EXPECT_FALSE(contains(ten, "11.0.0.1"));
  EXPECT_TRUE(contains(ten, "::ffff:10.1.2.3"));  // IPv4 peer on a [::] socket
  EXPECT_FALSE(contains(ten, "::1"));

  Cidr odd = cidr_ok("192.168.0.0/23");
  EXPECT_TRUE(contains(odd, "192.168.1.200"));
  EXPECT_FALSE(contains(odd, "192.168.2.1"));

  Cidr host = cidr_ok("192.0.2.7");
  EXPECT_EQ(host.text, "192.0.2.7/32");
  EXPECT_TRUE(contains(host, "192.0.2.7"));
  EXPECT_FALSE(contains(host, "192.0.2.8"));

  Cidr v6 = cidr_ok("2001:db8::/32");
  EXPECT_TRUE(contains(v6, "2001:db8:1::5"));
  EXPECT_FALSE(contains(v6, "2001:db9::5"));
  EXPECT_FALSE(contains(v6, "10.0.0.1"));

  Cidr all = cidr_ok("0.0.0.0/0");
  EXPECT_TRUE(contains(all, "203.0.113.9"));
}

TEST(ConfigCidr, RefusesHostBitsAndBadPrefixes) {
  auto p = parse_cidr("10.1.2.3/8");
  ASSERT_TRUE(std::holds_alternative<std::string>(p));
  EXPECT_NE(std::get<std::string>(p).find("write \"10.0.0.0/8\""), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cidr("10.0.0.0/33")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cidr("::/129")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cidr("10.0.0.0/")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_cidr("example.org/8")));
}

TEST(ConfigHostName, Labels) {
  EXPECT_TRUE(is_host_name("mx1.example.org"));
  EXPECT_TRUE(is_host_name("localhost"));
  EXPECT_TRUE(is_host_name("mx.example.org."));
  EXPECT_FALSE(is_host_name(""));
  EXPECT_FALSE(is_host_name("mx..example.org"));
  EXPECT_FALSE(is_host_name("-mx.example.org"));
  EXPECT_FALSE(is_host_name("mx-.example.org"));
  EXPECT_FALSE(is_host_name("mx example.org"));
  EXPECT_FALSE(is_host_name(std::string(64, 'a') + ".org"));
  EXPECT_FALSE(is_host_name("*.example.org"));
  EXPECT_TRUE(is_host_name("*.example.org", true));
  EXPECT_FALSE(is_host_name("a.*.example.org", true));
}

TEST(ConfigSuggest, ClosestKnownName) {
  std::vector<std::string> keys = {"reuse-addr", "reuse-port", "backlog", "ttl", "linger"};
  EXPECT_EQ(closest("backlg", keys), "backlog");
  EXPECT_EQ(closest("backlgo", keys), "backlog");  // a swap is one edit
  EXPECT_EQ(closest("reuse_port", keys), "reuse-port");
  EXPECT_EQ(closest("TTL", keys), "ttl");
  EXPECT_EQ(closest("completely-different", keys), std::nullopt);
  // Not a typo but a part of the name, or the name plus something.
  std::vector<std::string> cert = {"cert", "private-key"};
  EXPECT_EQ(closest("key", cert), "private-key");
  EXPECT_EQ(closest("certificate", cert), "cert");
  std::vector<std::string> limits = {"size", "messages", "received-headers"};
  EXPECT_EQ(closest("max-size", limits), "size");
  EXPECT_EQ(closest("ab", std::vector<std::string>{"abcdef"}), std::nullopt);  // too short to tell
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(ConfigCiphers, BothSpellingsOfTheSeedAreKnown) {
  const CipherSuite* a = find_cipher_suite("TLS13_CHACHA20_POLY1305_SHA256");
  const CipherSuite* b = find_cipher_suite("TLS_CHACHA20_POLY1305_SHA256");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a->version, TlsVersion::tls13);
  const CipherSuite* c = find_cipher_suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->wolfssl, "ECDHE-RSA-CHACHA20-POLY1305");
  EXPECT_EQ(c->version, TlsVersion::tls12);
  EXPECT_EQ(find_cipher_suite("TLS_RSA_WITH_RC4_128_SHA"), nullptr);
  EXPECT_EQ(find_cipher_suite("ECDHE-RSA-CHACHA20-POLY1305"), nullptr);  // not an IANA name
}

}  // namespace
}  // namespace ringmx::config
