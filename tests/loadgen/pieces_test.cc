// The small pure parts of ringmx-bench: reply-line parsing, the generated
// messages, and the /proc/net/netstat reader.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "bench/loadgen/message_catalog.h"
#include "core/netstat.h"
#include "bench/loadgen/reply_parser.h"

namespace ringmx::loadgen {
namespace {

using Status = ReplyLine::Status;
using core::parse_netstat;
using core::read_listen_counters;

TEST(LoadgenReplyParser, LinesByTable) {
  struct Row {
    std::string in;
    Status status;
    int code;
    bool last;
    std::string text;
    std::size_t consumed;
  };
  const Row rows[] = {
      {"250 2.0.0 Ok\r\n", Status::complete, 250, true, "2.0.0 Ok", 14},
      {"250-PIPELINING\r\nrest", Status::complete, 250, false, "PIPELINING", 16},
      {"354\r\n", Status::complete, 354, true, "", 5},
      {"250 Ok", Status::need_more, 0, false, "", 0},
      {"", Status::need_more, 0, false, "", 0},
      {"250 Ok\n", Status::malformed, 0, false, "", 0},   // bare LF
      {"25\r\n", Status::malformed, 0, false, "", 0},     // short code
      {"199 x\r\n", Status::malformed, 0, false, "", 0},  // not a reply class
      {"2x0 x\r\n", Status::malformed, 0, false, "", 0},
      {"250_x\r\n", Status::malformed, 0, false, "", 0},
      {std::string(kMaxReplyLine + 1, 'a'), Status::malformed, 0, false, "", 0},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.in.substr(0, 20));
    auto line = parse_reply_line(r.in);
    EXPECT_EQ(line.status, r.status);
    if (r.status != Status::complete) continue;
    EXPECT_EQ(line.code, r.code);
    EXPECT_EQ(line.last, r.last);
    EXPECT_EQ(line.text, r.text);
    EXPECT_EQ(line.consumed, r.consumed);
  }
}

TEST(LoadgenMessageCatalog, MessagesHaveTheExactSizeAndNoDotLines) {
  for (std::size_t size : {256u, 257u, 258u, 300u, 1024u, 1027u, 102400u}) {
    SCOPED_TRACE(size);
    auto text = MessageCatalog::build(size);
    EXPECT_EQ(text.size(), size);
    EXPECT_TRUE(text.ends_with("\r\n"));
    EXPECT_EQ(text.find("\r\n."), std::string::npos);
    // Every LF is part of a CRLF, and lines stay far below 998 octets.
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '\n') continue;
      ASSERT_GT(i, 0u);
      EXPECT_EQ(text[i - 1], '\r');
      EXPECT_LE(i + 1 - line_start, 80u);
      line_start = i + 1;
    }
  }
}

TEST(LoadgenMessageCatalog, PicksFollowTheWeights) {
  MessageCatalog catalog({{1024, 80}, {102400, 20}});
  ASSERT_EQ(catalog.count(), 2u);
  EXPECT_EQ(catalog.text(1).size(), 102400u);
  Random random(1);
  std::map<std::size_t, int> picks;
  for (int i = 0; i < 10000; ++i)
    ++picks[catalog.pick(random.next())];
  EXPECT_NEAR(picks[0], 8000, 300);
  EXPECT_NEAR(picks[1], 2000, 300);
}

TEST(LoadgenNetstat, ReadsListenCountersFromTcpExt) {
  const char* text =
      "TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPHPHits\n"
      "TcpExt: 0 0 17 23 9999\n"
      "IpExt: InNoRoutes InTruncatedPkts\n"
      "IpExt: 0 0\n";
  auto c = parse_netstat(text);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->overflows, 17u);
  EXPECT_EQ(c->drops, 23u);
  EXPECT_FALSE(parse_netstat("IpExt: A\nIpExt: 1\n"));
  EXPECT_FALSE(parse_netstat("TcpExt: ListenOverflows ListenDrops\nTcpExt: 1\n"));
}

TEST(LoadgenNetstat, ThisKernelHasTheCounters) {
  EXPECT_TRUE(read_listen_counters());
}

}  // namespace
}  // namespace ringmx::loadgen
