// The option parser: every option's syntax, its bounds, and the rules
// between options, with the messages a user sees.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "bench/loadgen/options.h"

namespace ringmx::loadgen {
namespace {

std::variant<Options, ParseError> parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"ringmx-bench"};
  argv.insert(argv.end(), args);
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

Options ok(std::initializer_list<const char*> args) {
  auto r = parse(args);
  if (auto* e = std::get_if<ParseError>(&r)) ADD_FAILURE() << e->message;
  return std::get_if<Options>(&r) ? std::get<Options>(r) : Options{};
}

std::string error(std::initializer_list<const char*> args) {
  auto r = parse(args);
  auto* e = std::get_if<ParseError>(&r);
  return e ? e->message : "(parsed)";
}

std::string ip_of(const Address& a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.family() == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, text,
              sizeof text);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr, text,
              sizeof text);
  return text;
}

int port_of(const Address& a) {
  return ntohs(a.family() == AF_INET
                   ? reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port
                   : reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port);
}

TEST(LoadgenOptions, DefaultsWithTargetAndMessages) {
  auto o = ok({"--target", "127.0.0.1:2525", "--messages", "200"});
  EXPECT_EQ(ip_of(o.target), "127.0.0.1");
  EXPECT_EQ(port_of(o.target), 2525);
  EXPECT_EQ(o.messages, 200u);
  EXPECT_FALSE(o.duration);
  EXPECT_EQ(o.connections, 10u);
  EXPECT_EQ(o.per_connection, 1u);
  EXPECT_TRUE(o.pipelining);
  EXPECT_FALSE(o.pin);
  EXPECT_EQ(o.protocol, Protocol::smtp);
  EXPECT_EQ(o.tls, TlsMode::none);
  ASSERT_EQ(o.sizes.size(), 1u);
  EXPECT_EQ(o.sizes[0].bytes, 1024u);
}

TEST(LoadgenOptions, EveryOptionTakesItsValue) {
  auto o = ok({"--target=[::1]:25",
               "--threads",
               "3",
               "--pin",
               "on",
               "--connections",
               "50",
               "--duration",
               "1.5s",
               "--messages",
               "20000",
               "--size",
               "100k",
               "--recipients",
               "5",
               "--per-connection",
               "0",
               "--pipelining",
               "off",
               "--protocol",
               "lmtp",
               "--tls",
               "starttls",
               "--sni",
               "mx.example",
               "--bdat",
               "--rate",
               "6000/m",
               "--json",
               "/tmp/x.json",
               "--helo",
               "client.test",
               "--reply-timeout",
               "250ms"});
  EXPECT_EQ(ip_of(o.target), "::1");
  EXPECT_EQ(port_of(o.target), 25);
  EXPECT_EQ(o.threads, 3u);
  EXPECT_TRUE(o.pin);
  EXPECT_EQ(o.connections, 50u);
  EXPECT_EQ(o.duration, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.sizes[0].bytes, 100u * 1024);
  EXPECT_EQ(o.recipients, 5u);
  EXPECT_EQ(o.per_connection, 0u);
  EXPECT_FALSE(o.pipelining);
  EXPECT_EQ(o.protocol, Protocol::lmtp);
  EXPECT_EQ(o.tls, TlsMode::starttls);
  EXPECT_EQ(o.sni, "mx.example");
  EXPECT_TRUE(o.bdat);
  EXPECT_DOUBLE_EQ(*o.rate, 100.0);
  EXPECT_EQ(o.json_path, "/tmp/x.json");
  EXPECT_EQ(o.helo, "client.test");
  EXPECT_EQ(o.reply_timeout, std::chrono::milliseconds(250));
}

TEST(LoadgenOptions, SizeDistribution) {
  auto s = parse_sizes("1k:80,100k:20");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].bytes, 1024u);
  EXPECT_EQ((*s)[0].weight, 80u);
  EXPECT_EQ((*s)[1].bytes, 102400u);
  EXPECT_EQ((*s)[1].weight, 20u);
  EXPECT_FALSE(parse_sizes("1k:80,100k"));  // a mix needs every weight
  EXPECT_FALSE(parse_sizes("1k:0"));
  EXPECT_FALSE(parse_sizes("100"));  // under the 256-byte floor (headers)
  EXPECT_FALSE(parse_sizes("65M"));  // over the 64 MiB ceiling
  EXPECT_EQ(parse_bytes("2M"), 2u << 20);
}

TEST(LoadgenOptions, DurationsAndRates) {
  EXPECT_EQ(parse_duration("10"), std::chrono::seconds(10));
  EXPECT_EQ(parse_duration("10s"), std::chrono::seconds(10));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(parse_duration("20us"), std::chrono::microseconds(20));
  EXPECT_FALSE(parse_duration("ten"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_DOUBLE_EQ(*parse_rate("5000"), 5000);
  EXPECT_DOUBLE_EQ(*parse_rate("5000/s"), 5000);
  EXPECT_DOUBLE_EQ(*parse_rate("60000/m"), 1000);
  EXPECT_FALSE(parse_rate("fast"));
}

TEST(LoadgenOptions, TargetsAreLoopbackOnly) {
  EXPECT_TRUE(parse_target("127.0.0.1:25"));
  EXPECT_TRUE(parse_target("127.9.8.7:25"));
  EXPECT_TRUE(parse_target("localhost:25"));
  EXPECT_TRUE(parse_target("[::1]:25"));
  EXPECT_FALSE(parse_target("10.0.0.1:25"));
  EXPECT_FALSE(parse_target("[2001:db8::1]:25"));
  EXPECT_FALSE(parse_target("mx.example.com:25"));
  EXPECT_FALSE(parse_target("127.0.0.1"));
  EXPECT_FALSE(parse_target("127.0.0.1:0"));
  EXPECT_FALSE(parse_target("127.0.0.1:65536"));
  EXPECT_EQ(error({"--target", "192.0.2.1:25", "--messages", "1"}),
            "--target 192.0.2.1:25: expects a loopback HOST:PORT such as 127.0.0.1:2525 or "
            "[::1]:2525");
}

TEST(LoadgenOptions, SourceAddressRange) {
  auto r = parse_source_addresses("127.0.0.1-127.0.0.50");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 50u);
  EXPECT_EQ(ip_of(r->front()), "127.0.0.1");
  EXPECT_EQ(ip_of(r->back()), "127.0.0.50");
  auto list = parse_source_addresses("127.0.0.7,127.0.1.1-127.0.1.2");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 3u);
  EXPECT_FALSE(parse_source_addresses("127.0.0.50-127.0.0.1"));
  EXPECT_FALSE(parse_source_addresses("127.0.0.1-10.0.0.1"));
  EXPECT_FALSE(parse_source_addresses("::1-::2"));
  EXPECT_EQ(error({"--target", "[::1]:25", "--messages", "1", "--source-addresses", "127.0.0.2"}),
            "--source-addresses must be of the same family as --target");
}

TEST(LoadgenOptions, RunsMustBeBoundedAndCoherent) {
  EXPECT_EQ(error({"--messages", "5"}), "--target is required");
  EXPECT_EQ(error({"--target", "127.0.0.1:25"}),
            "give --messages or --duration so that the run is bounded");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--hold-idle", "100"}),
            "--hold-idle needs --duration (how long to hold)");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--hold-idle", "100", "--duration", "5s",
                   "--messages", "3"}),
            "--hold-idle sends no messages: drop --messages");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--messages", "1", "--sni", "mx.test"}),
            "--sni needs --tls starttls or implicit");
  auto o = ok({"--target", "127.0.0.1:25", "--hold-idle", "100", "--duration", "5s"});
  EXPECT_EQ(o.hold_idle, 100u);
}

TEST(LoadgenOptions, BadValuesNameTheOption) {
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--messages", "0"}),
            "--messages 0: expects a whole number from 1 to 1000000000");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--messages", "1", "--pipelining", "yes"}),
            "--pipelining yes: expects on or off");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--messages", "1", "--pin", "1"}),
            "--pin 1: expects on or off");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--messages", "1", "--tls", "ssl"}),
            "--tls ssl: expects none, starttls or implicit");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--messages", "1", "--connections", "0"}),
            "--connections 0: expects a whole number from 1 to 1000000");
  EXPECT_EQ(error({"--target", "127.0.0.1:25", "--frobnicate"}),
            "unknown option --frobnicate (see --help)");
  EXPECT_EQ(error({"--target"}), "--target needs a value (HOST:PORT)");
  EXPECT_EQ(error({"--bdat=yes"}), "--bdat takes no value");
}

TEST(LoadgenOptions, HelpListsEveryOption) {
  auto o = ok({"--help"});
  EXPECT_TRUE(o.help);
  auto text = usage();
  for (auto name :
       {"--target", "--threads", "--pin", "--connections", "--messages", "--duration", "--size",
        "--recipients", "--per-connection", "--pipelining", "--protocol", "--tls", "--sni",
        "--bdat", "--rate", "--source-addresses", "--hold-idle", "--json"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace ringmx::loadgen
