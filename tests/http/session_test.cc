// The management session as a client sees it: endpoints, auth rules and
// connection handling, requests in and parsed responses out.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/http/session_client.h"

namespace ringmx::http {
namespace {

using namespace test;

// ---- endpoints

TEST(Session, Healthz) {
  Client c(remote());
  Reply r = c.get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_FALSE(c.last.close);
}

TEST(Session, ReadyzFollowsTheBackend) {
  Client c(remote());
  EXPECT_EQ(c.get("/readyz").status, 200);
  c.backend.not_ready_reason = "draining";
  Reply r = c.get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: draining\n");
  EXPECT_FALSE(c.last.close);
}

TEST(Session, MetricsServedAsExposition004) {
  Client c(remote());
  Reply r = c.get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, c.backend.metrics);
  EXPECT_EQ(r.headers["cache-control"], "no-store");
}

TEST(Session, QueryStringIgnoredForRouting) {
  Client c(remote());
  EXPECT_EQ(c.get("/metrics?name[]=up").status, 200);
}

TEST(Session, UnknownPathIs404AndKeepsTheConnection) {
  Client c(remote());
  Reply r = c.get("/metrics/");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(c.last.close);
  EXPECT_EQ(c.get("/").status, 404);
  EXPECT_EQ(c.get("/healthz").status, 200);
}

TEST(Session, WrongMethodIs405WithAllow) {
  Client c(loopback());
  Reply r = c.post("/metrics");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
  r = c.get("/reload");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "POST");
  EXPECT_EQ(c.backend.reloads, 0);
  std::vector<Reply> d = c.send("DELETE /config HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, 405);
  EXPECT_FALSE(c.last.close);
}

TEST(Session, HeadHasHeadersWithoutBody) {
  Client c(remote());
  c.last = c.session.feed(std::string_view("HEAD /metrics HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::vector<Reply> r = parse_replies(c.last.send, {true});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].headers["content-length"], std::to_string(c.backend.metrics.size()));
  EXPECT_TRUE(c.last.send.ends_with("\r\n\r\n"));
}

// ---- auth rules for /config and /reload

TEST(Session, NoTokenLoopbackMayReloadAndReadConfig) {
  Client c(loopback());
  Reply r = c.post("/reload");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "reloaded\n");
  EXPECT_EQ(c.backend.reloads, 1);
  r = c.get("/config");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, c.backend.config);
}

TEST(Session, NoTokenRemotePeerIs403) {
  Client c(remote());
  Reply r = c.post("/reload");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(c.backend.reloads, 0);
  EXPECT_EQ(c.get("/config").status, 403);
  // A bearer token does not help when none is configured.
  EXPECT_EQ(c.get("/config", "Authorization: Bearer anything\r\n").status, 403);
  // Unprivileged endpoints still answer.
  EXPECT_EQ(c.get("/metrics").status, 200);
}

TEST(Session, TokenConfiguredRightTokenFromAnyPeer) {
  Client c(remote(kToken));
  Reply r = c.post("/reload", "Authorization: Bearer s3cret-t0ken\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(c.backend.reloads, 1);
  EXPECT_EQ(c.get("/config", "Authorization: bearer   s3cret-t0ken\r\n").status, 200);
}

TEST(Session, TokenConfiguredWrongOrMissingTokenIs401) {
  for (SessionConfig config : {remote(kToken), loopback(kToken)}) {
    Client c(config);
    const char* bad[] = {
        "",  // missing
        "Authorization: Bearer s3cret-t0keN\r\n",
        "Authorization: Bearer s3cret-t0ken2\r\n",
        "Authorization: Bearer s3cret\r\n",
        "Authorization: Bearer \r\n",
        "Authorization: Basic czNjcmV0LXQwa2Vu\r\n",
        "Authorization: Bearers3cret-t0ken\r\n",
        "Authorization: s3cret-t0ken\r\n",
    };
    for (const char* header : bad) {
      Reply r = c.post("/reload", header);
      EXPECT_EQ(r.status, 401) << header;
      EXPECT_EQ(r.headers["www-authenticate"], "Bearer realm=\"ringmx\"") << header;
      EXPECT_EQ(c.get("/config", header).status, 401) << header;
    }
    EXPECT_EQ(c.backend.reloads, 0);
    EXPECT_FALSE(c.last.close);
  }
}

// The session keeps its own copy of the token: the caller's string may
// be a temporary, and a moved session keeps working.
TEST(Session, TokenOutlivesTheCallersStringAndMoves) {
  FakeBackend backend;
  std::string token(kToken);
  Session first(backend, remote(token));
  token.assign(token.size(), 'x');
  Session session = std::move(first);
  std::vector<Reply> r =
      parse_replies(session
                        .feed(std::string_view("GET /config HTTP/1.1\r\nHost: h\r\n"
                                               "Authorization: Bearer s3cret-t0ken\r\n\r\n"))
                        .send);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
}

TEST(Session, TokenComparison) {
  EXPECT_TRUE(token_matches("abc", "abc"));
  EXPECT_FALSE(token_matches("abd", "abc"));
  EXPECT_FALSE(token_matches("ab", "abc"));
  EXPECT_FALSE(token_matches("abcd", "abc"));
  EXPECT_FALSE(token_matches("", ""));  // an empty token never grants access
}

// ---- connection handling

TEST(Session, PipelinedRequestsInOneRead) {
  Client c(remote());
  std::vector<Reply> r = c.send(
      "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /metr");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[1].status, 404);
  EXPECT_EQ(r[2].body, "ready\n");
  r = c.send("ics HTTP/1.1\r\nHost: h\r\n\r\n");  // the rest of the fourth
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(c.session.requests(), 4u);
}

TEST(Session, RequestFedOneByteAtATime) {
  Client c(loopback());
  std::string req = "POST /reload HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
  for (std::size_t i = 0; i + 1 < req.size(); ++i) {
    Output out = c.session.feed(std::string_view(&req[i], 1));
    ASSERT_EQ(out.send, "") << "answered after " << i + 1 << " bytes";
  }
  std::vector<Reply> r = c.send(std::string_view(&req.back(), 1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(c.backend.reloads, 1);
}

// A request line that never ends is refused once the header bound is
// reached, even though no line end ever arrives to prompt a re-parse.
TEST(Session, EndlessLineInPiecesHitsTheBound) {
  Client c(remote());
  std::string chunk(100, 'a');
  c.session.feed(std::string_view("GET /"));
  Output out;
  std::size_t fed = 5;
  while (out.send.empty() && fed < 20000) {
    out = c.session.feed(chunk);
    fed += chunk.size();
  }
  std::vector<Reply> r = parse_replies(out.send);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 431);
  EXPECT_TRUE(out.close);
  EXPECT_LT(fed, Limits{}.max_header_bytes + chunk.size() + 5);
}

// A body arriving in pieces, with the next request right behind it.
TEST(Session, BodyInPiecesThenPipelinedRequest) {
  Client c(loopback());
  EXPECT_TRUE(
      c.send("POST /reload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234").empty());
  EXPECT_TRUE(c.send("567").empty());
  std::vector<Reply> r = c.send("89GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].body, "reloaded\n");
  EXPECT_EQ(r[1].body, "ok\n");
  EXPECT_EQ(c.backend.reloads, 1);
}

TEST(Session, ConnectionCloseEndsAfterTheResponse) {
  Client c(remote());
  std::vector<Reply> r = c.send(
      "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(r.size(), 1u);  // nothing after the closing response
  EXPECT_EQ(r[0].headers["connection"], "close");
  EXPECT_TRUE(c.last.close);
  EXPECT_EQ(c.last.reason, "request not keep-alive");
  // Anything fed afterwards is ignored.
  Output out = c.session.feed(std::string_view("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_EQ(out.send, "");
  EXPECT_TRUE(out.close);
}

TEST(Session, Http10ClosesUnlessKeepAlive) {
  Client c(remote());
  std::vector<Reply> r = c.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers["connection"], "keep-alive");
  EXPECT_FALSE(c.last.close);
  r = c.send("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers["connection"], "close");
  EXPECT_TRUE(c.last.close);
}

TEST(Session, MalformedRequestAnswersAndCloses) {
  struct Row {
    std::string input;
    int status;
  } rows[] = {
      {"GET / HTTP/1.1\nHost: h\n\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505},
      {"POST /reload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
      {"POST /reload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n", 413},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n", 431},
      {"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n", 400},
  };
  for (const Row& row : rows) {
    Client c(loopback());
    std::vector<Reply> r = c.send(row.input + "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(r.size(), 1u) << row.input.substr(0, 40);
    EXPECT_EQ(r[0].status, row.status) << row.input.substr(0, 40);
    EXPECT_EQ(r[0].headers["connection"], "close");
    EXPECT_TRUE(c.last.close);
    EXPECT_FALSE(c.last.reason.empty());
    EXPECT_EQ(c.backend.reloads, 0);
  }
}

TEST(Session, LoopbackAddresses) {
  auto v4 = [](const char* text) {
    sockaddr_storage ss{};
    auto& a = reinterpret_cast<sockaddr_in&>(ss);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, text, &a.sin_addr);
    return ss;
  };
  auto v6 = [](const char* text) {
    sockaddr_storage ss{};
    auto& a = reinterpret_cast<sockaddr_in6&>(ss);
    a.sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &a.sin6_addr);
    return ss;
  };
  EXPECT_TRUE(is_loopback(v4("127.0.0.1")));
  EXPECT_TRUE(is_loopback(v4("127.255.0.9")));
  EXPECT_FALSE(is_loopback(v4("128.0.0.1")));
  EXPECT_FALSE(is_loopback(v4("10.0.0.1")));
  EXPECT_TRUE(is_loopback(v6("::1")));
  EXPECT_TRUE(is_loopback(v6("::ffff:127.0.0.2")));
  EXPECT_FALSE(is_loopback(v6("::ffff:192.0.2.1")));
  EXPECT_FALSE(is_loopback(v6("::2")));
  EXPECT_FALSE(is_loopback(sockaddr_storage{}));
}

}  // namespace
}  // namespace ringmx::http
