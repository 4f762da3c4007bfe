// Message content: end of DATA, dot-unstuffing, bare LF/CR, smuggling,
// size and loop limits, BDAT. Each stream is also checked in every split.
#include <gtest/gtest.h>

#include "tests/smtp/harness.h"

namespace ringmx::smtp::testing {
namespace {

constexpr std::string_view kOpen =
    "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";

// The session after DATA's 354, fed `body` whole; returns the replies to it.
std::string data(Harness& h, std::string_view body) {
  h.start();
  h.say(kOpen);
  return h.say(body);
}

TEST(Body, DotUnstuffing) {
  Harness h;
  EXPECT_EQ(data(h, "..leading\r\n.\r\n"), "");
  h.commit(CommitResult::committed);
  EXPECT_EQ(h.content(), ".leading\r\n");
}

TEST(Body, DotLineThatIsNotTheEnd) {
  Harness h;
  data(h, "a\r\n.x\r\n..\r\n. \r\n.\r\n");
  EXPECT_EQ(h.content(), "a\r\nx\r\n.\r\n \r\n");
}

TEST(Body, EmptyMessage) {
  Harness h;
  data(h, ".\r\n");
  EXPECT_EQ(h.content(), "");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q1\r\n");
}

TEST(Body, BareCrIsContent) {
  Harness h;
  data(h, "a\rb\r\r\n\r.\r\r\n.\r\n");
  EXPECT_EQ(h.content(), "a\rb\r\r\n\r.\r\r\n");
}

TEST(Body, BareLfIsNormalizedByDefault) {
  Harness h;
  data(h, "Subject: x\n\nline1\nline2\r\n.\r\n");
  EXPECT_EQ(h.content(), "Subject: x\r\n\r\nline1\r\nline2\r\n");
}

TEST(Body, BareLfRejectedWhenConfigured) {
  Settings s = Harness::defaults();
  s.bare_newline = BareNewline::reject;
  Harness h(s);
  EXPECT_EQ(data(h, "line1\nline2\r\n.\r\n"),
            "550 5.6.0 Error: bare <LF> in message content, lines must end in <CR><LF> (RFC "
            "5321 2.3.8)\r\n");
  EXPECT_EQ(h.ended_order.size(), 0u);
  EXPECT_EQ(h.aborts, 1);
  // The session is still in step: a new transaction works.
  h.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nok\r\n.\r\n");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q2\r\n");
  EXPECT_EQ(h.content(), "ok\r\n");
}

// SMTP smuggling: none of these ends the message, so the MAIL FROM behind
// them stays content and no second transaction starts.
struct Smuggle {
  const char* name;
  const char* end;  // the fake end-of-data sequence after "x"
};
class Smuggling : public ::testing::TestWithParam<Smuggle> {};

TEST_P(Smuggling, FakeEndIsContent) {
  for (BareNewline mode : {BareNewline::normalize, BareNewline::reject}) {
    Settings s = Harness::defaults();
    s.bare_newline = mode;
    std::string stream = std::string(kOpen) + "x" + GetParam().end +
                         "MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\n"
                         "DATA\r\nsmuggled\r\n.\r\n";
    Outcome o = same_in_every_split(s, stream);
    std::string want_replies =
        "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250-8BITMIME\r\n"
        "250-BINARYMIME\r\n250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"
        "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
    std::string_view end = GetParam().end;
    bool has_bare_lf = false;
    for (size_t i = 0; i < end.size(); ++i)
      has_bare_lf |= end[i] == '\n' && (i == 0 || end[i - 1] != '\r');
    bool rejected = mode == BareNewline::reject && has_bare_lf;
    EXPECT_EQ(o.replies, want_replies + (rejected ? "550 5.6.0 Error: bare <LF> in message "
                                                    "content, lines must end in <CR><LF> (RFC "
                                                    "5321 2.3.8)\r\n"
                                                  : "250 2.0.0 Ok: queued as Q1\r\n"))
        << GetParam().name;
    if (rejected) {
      EXPECT_TRUE(o.stored.empty());
    } else {
      ASSERT_EQ(o.stored.size(), 1u) << GetParam().name;
      EXPECT_NE(o.stored[0].find("MAIL FROM:<evil@example.org>"), std::string::npos);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, Smuggling,
    ::testing::Values(Smuggle{"lf_dot_lf", "\n.\n"}, Smuggle{"cr_dot_cr", "\r.\r"},
                      Smuggle{"crlf_dot_lf", "\r\n.\n"}, Smuggle{"lf_dot_crlf", "\n.\r\n"},
                      Smuggle{"cr_dot_crlf", "\r.\r\n"}, Smuggle{"crlf_dot_cr", "\r\n.\r"},
                      Smuggle{"crlf_dot_lf_crlf", "\r\n.\n\r\n"},
                      Smuggle{"cr_lf_dot_cr_cr", "\r\n.\r\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Body, NormalizedSmugglingStoresWhatItSaw) {
  Harness h;
  data(h, "x\n.\nMAIL\r\n.\r\n");
  EXPECT_EQ(h.content(), "x\r\n\r\nMAIL\r\n") << "dot unstuffed, bare LFs become CRLF";
}

TEST(Body, TerminatorAfterNormalizedBareLfIsContent) {
  Harness h;
  EXPECT_EQ(data(h, "x\n.\r\nstill content\r\n.\r\n"), "");
  EXPECT_EQ(h.content(), "x\r\n\r\nstill content\r\n");
}

TEST(Body, SizeLimitCountsContentAndDropsTheRest) {
  Settings s = Harness::defaults();
  s.max_message_size = 1024;
  Harness h(s);
  std::string big(2000, 'a');
  EXPECT_EQ(data(h, big + "\r\n.\r\n"), "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  EXPECT_EQ(h.ended_order.size(), 0u);
  EXPECT_EQ(h.aborts, 1);
  // Exactly at the limit is accepted.
  h.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  h.say(std::string(1022, 'b') + "\r\n.\r\n");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q2\r\n");
  EXPECT_EQ(h.content().size(), 1024u);
}

TEST(Body, TooManyReceivedHeadersIsALoop) {
  Settings s = Harness::defaults();
  s.max_received_headers = 3;
  Harness h(s);
  std::string three = "Received: a\r\nreceived: b\r\nRECEIVED: c\r\n";
  EXPECT_EQ(data(h, three + "Subject: ok\r\n\r\nReceived: in body\r\n.\r\n"), "");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q1\r\n");
  h.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  EXPECT_EQ(h.say(three + "Received: d\r\n\r\nbody\r\n.\r\n"),
            "554 5.4.6 Error: too many Received headers, mail loop\r\n");
  EXPECT_EQ(h.ended_order.size(), 1u);
}

TEST(Body, BdatChunksAreStoredExactly) {
  Harness h;
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(h.say("BDAT 5\r\nab\r\n."), "250 2.0.0 5 octets received\r\n");
  EXPECT_EQ(h.say("BDAT 4\r\n\n.\r\n"), "250 2.0.0 4 octets received\r\n");
  EXPECT_EQ(h.say("BDAT 0 LAST\r\n"), "");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q1\r\n");
  EXPECT_EQ(h.content(), "ab\r\n.\n.\r\n") << "no unstuffing, no normalization in BDAT";
}

TEST(Body, BdatPipelinedWithCommands) {
  std::string stream =
      "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
      "BDAT 6\r\nRSET\r\nBDAT 3 LAST\r\nxyzNOOP\r\n"
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 0 LAST\r\nQUIT\r\n";
  Outcome o = same_in_every_split(Harness::defaults(), stream);
  EXPECT_NE(o.replies.find("250 2.0.0 6 octets received\r\n"
                           "250 2.0.0 Ok: queued as Q1\r\n"
                           "250 2.0.0 Ok\r\n"
                           "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                           "250 2.0.0 Ok: queued as Q2\r\n"
                           "221 2.0.0 Bye\r\n"),
            std::string::npos)
      << o.replies;
  ASSERT_EQ(o.stored.size(), 2u);
  EXPECT_TRUE(o.closed);
}

TEST(Body, BdatOverSizeLimit) {
  Settings s = Harness::defaults();
  s.max_message_size = 1024;
  Harness h(s);
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(h.say("BDAT 1000\r\n" + std::string(1000, 'x')), "250 2.0.0 1000 octets received\r\n");
  EXPECT_EQ(h.say("BDAT 100 LAST\r\n" + std::string(100, 'y') + "NOOP\r\n"),
            "552 5.3.4 Error: message size exceeds fixed limit\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.aborts, 1);
  EXPECT_FALSE(h.session->in_transaction());
}

TEST(Body, BdatSyntax) {
  Harness h;
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(h.say("BDAT\r\n"), "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
  EXPECT_EQ(h.say("BDAT x\r\n"), "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
  EXPECT_EQ(h.say("BDAT 1 FIRST\r\n"), "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
  EXPECT_EQ(h.say("BDAT 1 last\r\nz"), "");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q1\r\n");
  h.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 1\r\nz");
  EXPECT_EQ(h.say("DATA\r\n"), "503 5.5.1 Error: DATA after BDAT in one transaction\r\n");
}

// One long conversation with every content rule in it, in every split.
TEST(Body, EverySplitGivesTheSameRepliesAndBytes) {
  std::string stream =
      "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
      "Received: x\r\nSubject: t\r\n\r\n..dot\r\nbare\nlf\r\ncr\r.\r\n.\r\r\n\r\n.\n"
      "..\r\n.\r\n"
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 7\r\n.\r\n\n.\r\nBDAT 2 "
      "LAST\r\n"
      "\r\nNOOP\r\nQUIT\r\n";
  Outcome o = same_in_every_split(Harness::defaults(), stream);
  ASSERT_EQ(o.stored.size(), 2u);
  std::string content = o.stored[0].substr(o.stored[0].find("+0000\r\n") + 7);
  EXPECT_EQ(content,
            "Received: x\r\nSubject: t\r\n\r\n.dot\r\nbare\r\nlf\r\ncr\r.\r\n\r\r\n\r\n\r\n.\r\n");
  EXPECT_EQ(o.stored[1].substr(o.stored[1].find("+0000\r\n") + 7), ".\r\n\n.\r\n\r\n");
}

}  // namespace
}  // namespace ringmx::smtp::testing
