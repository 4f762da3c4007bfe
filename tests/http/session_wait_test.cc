// The management session when it must wait: a reload finishing later,
// and the bound on the response bytes one call produces.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/http/session_client.h"

namespace ringmx::http {
namespace {

using namespace test;

// ---- reload results, now and later

TEST(Session, ReloadFailureCarriesTheErrors) {
  Client c(loopback());
  c.backend.reload_result =
      ReloadResult{false, "ringmx.toml:3:1: server.listener.smtp.bind: bad address"};
  Reply r = c.post("/reload");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body,
            "reload failed, the running configuration is unchanged\n"
            "ringmx.toml:3:1: server.listener.smtp.bind: bad address\n");
}

TEST(Session, AsynchronousReloadHoldsPipelinedRequests) {
  Client c(loopback());
  c.backend.reload_result = std::nullopt;
  c.last = c.session.feed(std::string_view(
      "POST /reload HTTP/1.1\r\nHost: h\r\n\r\nGET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_EQ(c.last.send, "");  // nothing until the reload is done
  EXPECT_TRUE(c.last.awaiting_reload);
  EXPECT_TRUE(c.session.awaiting_reload());
  EXPECT_FALSE(c.last.close);
  // More requests keep arriving while it waits: still nothing.
  c.last = c.session.feed(std::string_view("GET /readyz HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_EQ(c.last.send, "");
  EXPECT_TRUE(c.last.awaiting_reload);

  Output done = c.session.reload_finished(ReloadResult{true, ""});
  std::vector<Reply> r = parse_replies(done.send);
  ASSERT_EQ(r.size(), 3u);  // in request order
  EXPECT_EQ(r[0].body, "reloaded\n");
  EXPECT_EQ(r[1].body, "ok\n");
  EXPECT_EQ(r[2].body, "ready\n");
  EXPECT_FALSE(done.awaiting_reload);
  EXPECT_FALSE(done.close);
  EXPECT_EQ(c.backend.reloads, 1);
  EXPECT_EQ(c.session.requests(), 3u);
}

TEST(Session, AsynchronousReloadWithConnectionClose) {
  Client c(loopback());
  c.backend.reload_result = std::nullopt;
  c.session.feed(std::string_view(
      "POST /reload HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\n"));
  Output done = c.session.reload_finished(ReloadResult{false, "bad"});
  std::vector<Reply> r = parse_replies(done.send);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 500);
  EXPECT_EQ(r[0].headers["connection"], "close");
  EXPECT_TRUE(done.close);
}

TEST(Session, ReloadFinishedWithoutAWaitingRequestDoesNothing) {
  Client c(loopback());
  Output out = c.session.reload_finished(ReloadResult{true, ""});
  EXPECT_EQ(out.send, "");
  EXPECT_FALSE(out.close);
}

TEST(Session, InputDuringReloadIsBounded) {
  SessionConfig config = loopback();
  config.limits.max_header_bytes = 256;
  config.limits.max_body_bytes = 16;
  Client c(config);
  c.backend.reload_result = std::nullopt;
  c.session.feed(std::string_view("POST /reload HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::string flood(10000, 'x');
  Output out = c.session.feed(flood);
  EXPECT_EQ(out.send, "");
  Output done = c.session.reload_finished(ReloadResult{true, ""});
  std::vector<Reply> r = parse_replies(done.send);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].headers["connection"], "close");
  EXPECT_TRUE(done.close);
  EXPECT_EQ(done.reason, "pipelined input over the limit");
}

// ---- output bound

TEST(Session, PipelinedFloodIsAnsweredInBoundedParts) {
  SessionConfig config = remote();
  config.limits.max_output_bytes = 1000;
  Client c(config);
  c.backend.metrics = std::string(300, 'm') + "\n";
  std::string one = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string ten;
  for (int i = 0; i < 10; ++i)
    ten += one;
  Output out = c.session.feed(ten);
  std::size_t answered = parse_replies(out.send).size();
  EXPECT_LT(answered, 10u);
  EXPECT_LT(out.send.size(), 1000u + 600u);  // the bound plus one response
  EXPECT_TRUE(out.resume_after_send);
  EXPECT_FALSE(out.close);
  // Input arriving before the resume is held, not answered.
  Output held = c.session.feed(one);
  EXPECT_EQ(held.send, "");
  EXPECT_TRUE(held.resume_after_send);
  int rounds = 0;
  while (out.resume_after_send && rounds++ < 20) {
    out = c.session.resume();
    answered += parse_replies(out.send).size();
  }
  EXPECT_EQ(answered, 11u);
  EXPECT_FALSE(out.close);
  EXPECT_EQ(c.session.resume().send, "");  // nothing left
}

TEST(Session, FloodBeyondTheInputBoundClosesAfterTheHeldRequests) {
  SessionConfig config = remote();
  config.limits.max_output_bytes = 100;
  config.limits.max_header_bytes = 256;
  config.limits.max_body_bytes = 0;
  Client c(config);
  std::string one = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";  // 35 bytes
  std::string many;
  for (int i = 0; i < 4; ++i)
    many += one;
  Output out = c.session.feed(many);
  ASSERT_TRUE(out.resume_after_send);
  std::string flood;
  for (int i = 0; i < 20; ++i)
    flood += one;
  c.session.feed(flood);  // mostly dropped: over 256 bytes held
  std::size_t answered = parse_replies(out.send).size();
  int rounds = 0;
  while (out.resume_after_send && rounds++ < 50) {
    out = c.session.resume();
    answered += parse_replies(out.send).size();
  }
  EXPECT_TRUE(out.close);
  EXPECT_EQ(out.reason, "pipelined input over the limit");
  EXPECT_GT(answered, 4u);
  EXPECT_LT(answered, 24u);
}

}  // namespace
}  // namespace ringmx::http
