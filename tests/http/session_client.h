// Test support for the management session: a fake backend whose answers
// the tests set, a splitter that turns the session's output back into
// responses, and a client that sends requests and parses the replies.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocols/http/router.h"
#include "protocols/http/session.h"

namespace ringmx::http::test {

class FakeBackend : public Backend {
 public:
  std::string metrics = "# HELP up Up.\n# TYPE up gauge\nup 1\n";
  std::string not_ready_reason;  // empty: ready
  std::string config = "[server]\nhostname = \"mx1.example\"\n";
  // nullopt: the reload finishes later (the test calls reload_finished).
  std::optional<ReloadResult> reload_result = ReloadResult{true, ""};
  int reloads = 0;

  std::string metrics_text() override { return metrics; }
  std::string not_ready() override { return not_ready_reason; }
  std::string config_text() override { return config; }
  std::optional<ReloadResult> reload() override {
    ++reloads;
    return reload_result;
  }
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Splits the session's output into responses. `head` marks which ones
// answer HEAD (no body whatever Content-Length says).
inline std::vector<Reply> parse_replies(std::string_view out, std::vector<bool> head = {}) {
  std::vector<Reply> replies;
  while (!out.empty()) {
    Reply r;
    std::size_t end = out.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      ADD_FAILURE() << "truncated response: " << out;
      break;
    }
    std::string_view block = out.substr(0, end + 2);
    std::size_t eol = block.find("\r\n");
    std::string_view status_line = block.substr(0, eol);
    EXPECT_TRUE(status_line.starts_with("HTTP/1.1 ")) << status_line;
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    block.remove_prefix(eol + 2);
    while (!block.empty()) {
      eol = block.find("\r\n");
      std::string_view line = block.substr(0, eol);
      std::size_t colon = line.find(':');
      std::string name(line.substr(0, colon));
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(line.substr(colon + 2));
      block.remove_prefix(eol + 2);
    }
    out.remove_prefix(end + 4);
    std::size_t length = std::stoul(r.headers.at("content-length"));
    bool is_head = replies.size() < head.size() && head[replies.size()];
    if (!is_head) {
      EXPECT_GE(out.size(), length);
      r.body = std::string(out.substr(0, length));
      out.remove_prefix(std::min(length, out.size()));
    }
    replies.push_back(r);
  }
  return replies;
}

constexpr std::string_view kToken = "s3cret-t0ken";

struct Client {
  FakeBackend backend;
  Session session;
  explicit Client(SessionConfig config = {.auth_token = "", .peer_is_loopback = true, .limits = {}})
      : session(backend, config) {}
  Output last;
  std::vector<Reply> send(std::string_view bytes) {
    last = session.feed(bytes);
    return parse_replies(last.send);
  }
  Reply get(std::string_view path, std::string_view extra = "") {
    std::vector<Reply> r = send("GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" +
                                std::string(extra) + "\r\n");
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? Reply{} : r[0];
  }
  Reply post(std::string_view path, std::string_view extra = "") {
    std::vector<Reply> r = send("POST " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" +
                                std::string(extra) + "Content-Length: 0\r\n\r\n");
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? Reply{} : r[0];
  }
};

inline SessionConfig remote(std::string_view token = "") {
  return {.auth_token = token, .peer_is_loopback = false, .limits = {}};
}
inline SessionConfig loopback(std::string_view token = "") {
  return {.auth_token = token, .peer_is_loopback = true, .limits = {}};
}

}  // namespace ringmx::http::test
