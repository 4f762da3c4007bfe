// The client state machine fed scripted server replies, read as
// transcripts: what the server says, what the client sends back, and what
// it reports. Includes wrong replies, replies split across reads, and the
// same transcript fed one byte at a time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/loadgen/client_session.h"

namespace ringmx::loadgen {
namespace {

constexpr std::string_view kMessage = "Subject: t\r\n\r\nbody\r\n";
constexpr std::string_view kEhloPipelining =
    "250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n";

Options options_with(void (*tweak)(Options&)) {
  Options o;
  o.helo = "client.test";
  if (tweak) tweak(o);
  return o;
}

class Transcript {
 public:
  explicit Transcript(const Options& o) : plan_(make_plan(o)), session_(&plan_) {
    session_.reset();
  }

  // Feeds the server's bytes; returns what the client sent in answer.
  std::string server(std::string_view bytes) {
    session_.on_bytes(bytes);
    return take_output();
  }
  std::string server_bytewise(std::string_view bytes) {
    for (char c : bytes)
      session_.on_bytes(std::string_view(&c, 1));
    return take_output();
  }
  std::string begin() {
    session_.begin_message(kMessage);
    return take_output();
  }
  std::string tls_ready() {
    session_.on_tls_ready();
    return take_output();
  }
  // Events since the last call, as words: "greeting", "ready", "done ok", ...
  std::vector<std::string> events() {
    std::vector<std::string> out;
    for (const auto& e : session_.events()) {
      switch (e.kind) {
        case SessionEvent::Kind::greeting:
          out.push_back("greeting");
          break;
        case SessionEvent::Kind::ready:
          out.push_back("ready");
          break;
        case SessionEvent::Kind::start_tls:
          out.push_back("start_tls");
          break;
        case SessionEvent::Kind::message_done:
          out.push_back(e.ok ? "done ok" : "done failed");
          break;
        case SessionEvent::Kind::error:
          out.push_back("error " + e.error);
          break;
        case SessionEvent::Kind::finished:
          out.push_back("finished");
          break;
      }
    }
    session_.events().clear();
    return out;
  }
  ClientSession& session() { return session_; }

  // Greeting and EHLO, up to an idle session.
  void open(std::string_view ehlo_reply = kEhloPipelining) {
    EXPECT_EQ(server("220 mx.test ESMTP\r\n"), "EHLO client.test\r\n");
    EXPECT_EQ(server(ehlo_reply), "");
    EXPECT_EQ(events(), (std::vector<std::string>{"greeting", "ready"}));
    EXPECT_TRUE(session_.idle());
  }

 private:
  std::string take_output() {
    std::string out;
    std::swap(out, session_.output());
    return out;
  }
  SessionPlan plan_;
  ClientSession session_;
};

using Events = std::vector<std::string>;

TEST(LoadgenClientSession, PipelinedMessageThenQuitInOneGroup) {
  Transcript t(options_with(nullptr));
  t.open();
  EXPECT_EQ(t.begin(),
            "MAIL FROM:<bench@ringmx-bench.invalid>\r\n"
            "RCPT TO:<rcpt1@ringmx-bench.invalid>\r\n"
            "DATA\r\n");
  EXPECT_TRUE(t.session().waiting_for_server());
  EXPECT_EQ(t.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"), "");  // no body before 354
  EXPECT_EQ(t.server("354 go ahead\r\n"), std::string(kMessage) + ".\r\nQUIT\r\n");
  EXPECT_EQ(t.server("250 2.0.0 queued\r\n"), "");
  EXPECT_EQ(t.events(), (Events{"done ok"}));
  EXPECT_EQ(t.session().state(), ClientSession::State::quit);
  EXPECT_EQ(t.server("221 bye\r\n"), "");
  EXPECT_EQ(t.events(), (Events{"finished"}));
  EXPECT_EQ(t.session().state(), ClientSession::State::done);
  t.session().on_peer_closed();  // the server closing after 221 is no error
  EXPECT_EQ(t.events(), (Events{}));
}

TEST(LoadgenClientSession, SameTranscriptFedOneByteAtATime) {
  Transcript t(options_with(nullptr));
  EXPECT_EQ(t.server_bytewise("220 mx.test ESMTP\r\n"), "EHLO client.test\r\n");
  EXPECT_EQ(t.server_bytewise(kEhloPipelining), "");
  t.begin();
  EXPECT_EQ(t.server_bytewise("250 Ok\r\n250 Ok\r\n354 go\r\n"),
            std::string(kMessage) + ".\r\nQUIT\r\n");
  t.server_bytewise("250 queued\r\n221 bye\r\n");
  EXPECT_EQ(t.events(), (Events{"greeting", "ready", "done ok", "finished"}));
}

TEST(LoadgenClientSession, RepliesSplitAnywhere) {
  Transcript t(options_with(nullptr));
  EXPECT_EQ(t.server("22"), "");
  EXPECT_EQ(t.server("0 hi\r"), "");
  EXPECT_EQ(t.server("\n250-mx.test\r\n250-PIPE"), "EHLO client.test\r\n");
  EXPECT_EQ(t.events(), (Events{"greeting"}));
  t.server("LINING\r\n250 OK\r\n");
  EXPECT_EQ(t.events(), (Events{"ready"}));
}

TEST(LoadgenClientSession, UnpipelinedWaitsForEachReply) {
  Transcript t(options_with([](Options& o) {
    o.pipelining = false;
    o.recipients = 2;
    o.per_connection = 2;
  }));
  t.open("250 mx.test\r\n");  // no PIPELINING needed when not pipelining
  EXPECT_EQ(t.begin(), "MAIL FROM:<bench@ringmx-bench.invalid>\r\n");
  EXPECT_EQ(t.server("250 Ok\r\n"), "RCPT TO:<rcpt1@ringmx-bench.invalid>\r\n");
  EXPECT_EQ(t.server("250 Ok\r\n"), "RCPT TO:<rcpt2@ringmx-bench.invalid>\r\n");
  EXPECT_EQ(t.server("251 will forward\r\n"), "DATA\r\n");
  EXPECT_EQ(t.server("354 go\r\n"), std::string(kMessage) + ".\r\n");
  EXPECT_EQ(t.server("250 queued\r\n"), "");  // first of two: stays open
  EXPECT_EQ(t.events(), (Events{"done ok"}));
  EXPECT_TRUE(t.session().idle());
  t.begin();
  t.server("250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
  EXPECT_EQ(t.server("250 queued\r\n"), "QUIT\r\n");  // second of two: QUIT
  EXPECT_EQ(t.events(), (Events{"done ok"}));
}

TEST(LoadgenClientSession, LmtpWaitsForOneReplyPerRecipient) {
  Transcript t(options_with([](Options& o) {
    o.protocol = Protocol::lmtp;
    o.recipients = 3;
  }));
  EXPECT_EQ(t.server("220 lmtp ready\r\n"), "LHLO client.test\r\n");
  t.server("250-lmtp\r\n250 PIPELINING\r\n");
  t.events();
  t.begin();
  EXPECT_EQ(t.server("250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"),
            std::string(kMessage) + ".\r\nQUIT\r\n");
  t.server("250 2.0.0 rcpt1 ok\r\n250 2.0.0 rcpt2 ok\r\n");
  EXPECT_EQ(t.events(), (Events{}));  // one recipient still owed
  t.server("250 2.0.0 rcpt3 ok\r\n221 bye\r\n");
  EXPECT_EQ(t.events(), (Events{"done ok", "finished"}));
}

TEST(LoadgenClientSession, LmtpFailureOfOneRecipientIsAnError) {
  Transcript t(options_with([](Options& o) {
    o.protocol = Protocol::lmtp;
    o.recipients = 2;
  }));
  t.server("220 lmtp\r\n");
  t.server("250-lmtp\r\n250 PIPELINING\r\n");
  t.events();
  t.begin();
  t.server("250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
  t.server("250 2.0.0 ok\r\n452 4.2.2 mailbox full\r\n");
  EXPECT_EQ(t.events(), (Events{"error end-of-data 452", "done failed", "finished"}));
  EXPECT_EQ(t.session().state(), ClientSession::State::failed);
}

TEST(LoadgenClientSession, BdatPipelinesBodyWithTheCommands) {
  Transcript t(options_with([](Options& o) { o.bdat = true; }));
  t.open();
  EXPECT_EQ(t.begin(),
            "MAIL FROM:<bench@ringmx-bench.invalid>\r\n"
            "RCPT TO:<rcpt1@ringmx-bench.invalid>\r\n"
            "BDAT " +
                std::to_string(kMessage.size()) + " LAST\r\n" + std::string(kMessage) + "QUIT\r\n");
  t.server("250 Ok\r\n250 Ok\r\n250 2.0.0 queued\r\n221 bye\r\n");
  EXPECT_EQ(t.events(), (Events{"done ok", "finished"}));
}

TEST(LoadgenClientSession, MissingCapabilitiesFailAtEhlo) {
  Transcript pipelining(options_with(nullptr));
  pipelining.server("220 hi\r\n");
  pipelining.server("250-mx\r\n250 8BITMIME\r\n");
  EXPECT_EQ(pipelining.events(), (Events{"greeting", "error hello no PIPELINING", "finished"}));

  Transcript chunking(options_with([](Options& o) { o.bdat = true; }));
  chunking.server("220 hi\r\n");
  chunking.server("250-mx\r\n250 PIPELINING\r\n");
  EXPECT_EQ(chunking.events(), (Events{"greeting", "error hello no CHUNKING", "finished"}));
}

struct WrongReply {
  const char* name;
  std::vector<std::string> server;  // replies in order; the last is the wrong one
  std::string error;
  bool in_message;
};

TEST(LoadgenClientSession, EveryWrongReplyIsCountedByStepAndCode) {
  const std::vector<WrongReply> table = {
      {"greeting", {"554 go away\r\n"}, "greeting 554", false},
      {"greeting 421", {"421 busy\r\n"}, "greeting 421", false},
      {"ehlo", {"220 hi\r\n", "502 no\r\n"}, "hello 502", false},
      {"mail", {"220 hi\r\n", std::string(kEhloPipelining), "451 later\r\n"}, "mail 451", true},
      {"rcpt",
       {"220 hi\r\n", std::string(kEhloPipelining), "250 ok\r\n", "550 unknown\r\n"},
       "rcpt 550",
       true},
      {"data",
       {"220 hi\r\n", std::string(kEhloPipelining), "250 ok\r\n250 ok\r\n", "250 what\r\n"},
       "data 250",
       true},
      {"end of data",
       {"220 hi\r\n", std::string(kEhloPipelining), "250 ok\r\n250 ok\r\n354 go\r\n", "554 no\r\n"},
       "end-of-data 554",
       true},
      {"malformed", {"220 hi\r\n", "25O oops\r\n"}, "hello malformed reply", false},
      {"bare LF", {"220 hi\n"}, "greeting malformed reply", false},
      {"code change",
       {"220 hi\r\n", "250-mx\r\n251 x\r\n"},
       "multiline code changed 250 to 251",
       false},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.name);
    Transcript t(options_with(nullptr));
    for (std::size_t i = 0; i < row.server.size(); ++i) {
      t.server(row.server[i]);
      if (i == 1 && t.session().idle()) t.begin();
    }
    auto events = t.events();
    ASSERT_GE(events.size(), 2u);
    Events tail(events.end() - (row.in_message ? 3 : 2), events.end());
    Events want = {"error " + row.error};
    if (row.in_message) want.push_back("done failed");
    want.push_back("finished");
    EXPECT_EQ(tail, want);
    EXPECT_EQ(t.session().state(), ClientSession::State::failed);
    EXPECT_EQ(t.server("250 late\r\n"), "");  // nothing is sent after a failure
  }
}

TEST(LoadgenClientSession, ReplyWhileIdleIsUnexpected) {
  Transcript t(options_with([](Options& o) { o.per_connection = 0; }));
  t.open();
  t.server("421 4.4.2 idle timeout\r\n");
  EXPECT_EQ(t.events(), (Events{"error unexpected 421", "finished"}));
}

TEST(LoadgenClientSession, PeerCloseAndAbortNameTheStep) {
  Transcript closed(options_with(nullptr));
  closed.open();
  closed.begin();
  closed.session().on_peer_closed();
  EXPECT_EQ(closed.events(), (Events{"error mail closed", "done failed", "finished"}));

  Transcript timeout(options_with(nullptr));
  timeout.server("220 hi\r\n");
  timeout.events();
  timeout.session().abort("timeout");
  EXPECT_EQ(timeout.events(), (Events{"error hello timeout", "finished"}));
}

TEST(LoadgenClientSession, StartTlsThenEhloAgain) {
  Transcript t(options_with([](Options& o) { o.tls = TlsMode::starttls; }));
  t.server("220 hi\r\n");
  EXPECT_EQ(t.server("250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n"), "STARTTLS\r\n");
  EXPECT_EQ(t.server("220 2.0.0 ready\r\n"), "");
  EXPECT_EQ(t.events(), (Events{"greeting", "start_tls"}));
  EXPECT_TRUE(t.session().waiting_for_server());
  EXPECT_EQ(t.tls_ready(), "EHLO client.test\r\n");
  // The capabilities before TLS are forgotten: this reply lacks PIPELINING.
  t.server("250-mx\r\n250 8BITMIME\r\n");
  EXPECT_EQ(t.events(), (Events{"error hello no PIPELINING", "finished"}));
}

TEST(LoadgenClientSession, StartTlsRefusedOrUnadvertised) {
  Transcript unadvertised(options_with([](Options& o) { o.tls = TlsMode::starttls; }));
  unadvertised.server("220 hi\r\n");
  unadvertised.server("250-mx\r\n250 PIPELINING\r\n");
  EXPECT_EQ(unadvertised.events(), (Events{"greeting", "error hello no STARTTLS", "finished"}));

  Transcript plaintext(options_with([](Options& o) { o.tls = TlsMode::starttls; }));
  plaintext.server("220 hi\r\n");
  plaintext.server("250-mx\r\n250 STARTTLS\r\n");
  plaintext.server("220 go\r\n250 injected\r\n");  // plaintext where the handshake should be
  EXPECT_EQ(plaintext.events(),
            (Events{"greeting", "start_tls", "error starttls plaintext after 220", "finished"}));
}

}  // namespace
}  // namespace ringmx::loadgen
