// HTTP request parser: a table of requests and expected results, each fed
// whole and one byte at a time.
#include "protocols/http/request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringmx::http {
namespace {

using namespace std::string_literals;

struct Case {
  const char* name;
  std::string input;
  ParseStatus status;
  std::size_t consumed = 0;  // complete: request length (kWhole: all of input)
  int error_status = 0;      // error: expected status
};

constexpr std::size_t kWhole = ~std::size_t{0};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

const std::string kGet = "GET /metrics HTTP/1.1\r\nHost: localhost:9090\r\n\r\n";

std::vector<Case> cases() {
  Limits l;
  std::string big_value(l.max_header_bytes, 'a');
  std::string many_headers = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (std::size_t i = 0; i < kMaxHeaders; ++i)
    many_headers += "X-" + std::to_string(i) + ": v\r\n";
  std::string max_headers = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 1; i < kMaxHeaders; ++i)
    max_headers += "X-" + std::to_string(i) + ": v\r\n";
  max_headers += "Host: h\r\n\r\n";
  // A header block of exactly max_header_bytes is allowed; one more is not.
  std::string exact = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  exact += std::string(l.max_header_bytes - exact.size() - 4, 'p') + "\r\n\r\n";
  std::string over = exact;
  over.insert(over.size() - 4, "p");
  std::vector<Case> t = {
      {"get", kGet, ParseStatus::complete, kGet.size()},
      {"get then next request", kGet + "GET /healthz", ParseStatus::complete, kGet.size()},
      {"http/1.0 without host", "GET /healthz HTTP/1.0\r\n\r\n", ParseStatus::complete, kWhole},
      {"leading empty line", "\r\n" + kGet, ParseStatus::complete, kGet.size() + 2},
      {"post with body", "POST /reload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
       ParseStatus::complete, kWhole},
      {"post with repeated equal lengths",
       "POST /reload HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n",
       ParseStatus::complete, kWhole},
      {"header value with tabs and obs-text",
       "GET / HTTP/1.1\r\nHost: h\r\nX: \ta\xe9"
       "b \r\n\r\n",
       ParseStatus::complete, kWhole},
      {"exactly max headers", max_headers, ParseStatus::complete, max_headers.size()},
      {"header block at the limit", exact, ParseStatus::complete, exact.size()},
      {"header block over the limit", over, ParseStatus::error, 0, 431},
      {"endless header line", "GET / HTTP/1.1\r\nX: " + big_value, ParseStatus::error, 0, 431},
      {"endless request line", "GET /" + big_value, ParseStatus::error, 0, 431},
      {"too many headers", many_headers + "\r\n", ParseStatus::error, 0, 431},
      {"body over the limit",
       "POST /reload HTTP/1.1\r\nHost: h\r\nContent-Length: " +
           std::to_string(l.max_body_bytes + 1) + "\r\n\r\n",
       ParseStatus::error, 0, 413},
      {"huge content-length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
       ParseStatus::error, 0, 400},
      {"negative content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
       ParseStatus::error, 0, 400},
      {"conflicting content-length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       ParseStatus::error, 0, 400},
      {"content-length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\na",
       ParseStatus::error, 0, 400},
      {"chunked", "POST /reload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       ParseStatus::error, 0, 411},
      {"chunked and length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       ParseStatus::error, 0, 400},
      {"http/1.1 without host", "GET / HTTP/1.1\r\n\r\n", ParseStatus::error, 0, 400},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ParseStatus::error, 0, 400},
      {"http/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", ParseStatus::error, 0, 505},
      {"http/0.9 style", "GET /\r\n", ParseStatus::error, 0, 400},
      {"lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", ParseStatus::error, 0, 400},
      {"double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", ParseStatus::error, 0, 400},
      {"trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", ParseStatus::error, 0, 400},
      {"bare LF request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", ParseStatus::error, 0, 400},
      {"bare LF end of headers", "GET / HTTP/1.1\r\nHost: h\r\n\n", ParseStatus::error, 0, 400},
      {"bare CR", "GET / HTTP/1.1\rHost: h\r\n\r\n", ParseStatus::error, 0, 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", ParseStatus::error, 0, 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", ParseStatus::error, 0, 400},
      {"header without colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", ParseStatus::error, 0, 400},
      {"empty header name", "GET / HTTP/1.1\r\n: h\r\n\r\n", ParseStatus::error, 0, 400},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n"s, ParseStatus::error, 0, 400},
      {"NUL in target", "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n"s, ParseStatus::error, 0, 400},
      {"bad method byte", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", ParseStatus::error, 0, 400},
      {"TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"s, ParseStatus::error,
       0, 400},
      {"SMTP greeting-style", "EHLO client\r\n", ParseStatus::error, 0, 400},
  };
  for (Case& c : t) {
    if (c.consumed == kWhole) c.consumed = c.input.size();
  }
  return t;
}

class RequestTable : public testing::TestWithParam<Case> {};

void expect_result(const Case& c, const ParseResult& r) {
  ASSERT_EQ(r.status, c.status) << "reason: " << r.reason;
  if (c.status == ParseStatus::complete) {
    EXPECT_EQ(r.consumed, c.consumed);
  } else {
    EXPECT_EQ(r.error_status, c.error_status) << "reason: " << r.reason;
    EXPECT_FALSE(r.reason.empty());
  }
}

TEST_P(RequestTable, WholeBuffer) {
  Request req;
  expect_result(GetParam(), parse_request(GetParam().input, Limits{}, req));
}

// Every prefix answers need_more until the answer is decided, then the
// same answer as the whole input.
TEST_P(RequestTable, ByteByByte) {
  const Case& c = GetParam();
  Request req;
  for (std::size_t n = 0; n <= c.input.size(); ++n) {
    ParseResult r = parse_request(std::span<const char>(c.input.data(), n), Limits{}, req);
    if (r.status == ParseStatus::need_more) continue;
    SCOPED_TRACE("decided at " + std::to_string(n) + " bytes");
    expect_result(c, r);
    if (c.status == ParseStatus::complete) {
      EXPECT_EQ(n, c.consumed);
    }
    return;
  }
  FAIL() << "never decided";
}

INSTANTIATE_TEST_SUITE_P(Requests, RequestTable, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           std::string n;
                           for (char ch : std::string(info.param.name)) {
                             n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           }
                           return n;
                         });

TEST(Request, FieldsAreViewsIntoTheInput) {
  std::string in =
      "POST /reload?dry=1 HTTP/1.1\r\nHost: localhost\r\nAuthorization:  Bearer abc  \r\n"
      "Content-Length: 3\r\n\r\nxyz";
  Request req;
  ParseResult r = parse_request(in, Limits{}, req);
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/reload?dry=1");
  EXPECT_EQ(req.path(), "/reload");
  EXPECT_EQ(req.minor_version, 1);
  ASSERT_EQ(req.header_count, 3u);
  EXPECT_EQ(req.headers[0].name, "Host");
  ASSERT_NE(req.find("authorization"), nullptr);
  EXPECT_EQ(req.find("AUTHORIZATION")->value, "Bearer abc");
  EXPECT_EQ(req.find("X-Missing"), nullptr);
  EXPECT_EQ(req.body, "xyz");
  EXPECT_EQ(req.body.data(), in.data() + in.size() - 3);
  EXPECT_TRUE(req.keep_alive);
}

TEST(Request, KeepAliveRules) {
  struct Row {
    std::string head;
    bool keep_alive;
  } rows[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, CLOSE\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n", true},
      {"GET / HTTP/1.0\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n", false},
  };
  for (const Row& row : rows) {
    Request req;
    std::string in = row.head + "\r\n";
    ASSERT_EQ(parse_request(in, Limits{}, req).status, ParseStatus::complete) << row.head;
    EXPECT_EQ(req.keep_alive, row.keep_alive) << row.head;
  }
}

TEST(Request, AbsoluteFormTargetRoutesByPath) {
  Request req;
  std::string in = "GET http://mx1.example:9090/metrics?x HTTP/1.1\r\nHost: mx1.example\r\n\r\n";
  ASSERT_EQ(parse_request(in, Limits{}, req).status, ParseStatus::complete);
  EXPECT_EQ(req.path(), "/metrics");
}

TEST(Request, LimitsAreTheCallers) {
  Limits tight;
  tight.max_header_bytes = 64;
  tight.max_body_bytes = 2;
  Request req;
  EXPECT_EQ(parse_request(kGet, tight, req).status, ParseStatus::complete);
  std::string post = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  EXPECT_EQ(parse_request(post, tight, req).error_status, 413);
  std::string long_get = "GET /" + std::string(60, 'a') + " HTTP/1.1\r\n";
  EXPECT_EQ(parse_request(long_get, tight, req).error_status, 431);
}

}  // namespace
}  // namespace ringmx::http
