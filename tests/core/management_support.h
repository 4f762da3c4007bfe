// Test support for the management listener and PROXY tests: one-shot HTTP
// requests over a real socket, the Prometheus exposition parsed into a
// map, and an SMTP conversation on an already connected Client.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "tests/core/server_process.h"

namespace ringmx::test {

struct HttpReply {
  int status = 0;  // 0: no response (connection failed or closed early)
  std::string head;
  std::string body;
};

// Sends `request` (a whole raw HTTP request) on a new connection to
// 127.0.0.1:`port` and reads one response (Content-Length framed).
HttpReply http(int port, std::string_view request);
// Reads one response from a connection that is already open. `carry`
// holds bytes read past it (the next pipelined response) between calls.
HttpReply read_http(int fd, std::string& carry, int timeout_ms = 10000);
// "GET <path> HTTP/1.1" with Host and Connection: close, plus `headers`.
std::string request(std::string_view method, std::string_view path, std::string_view headers = "");

// Every sample of an exposition: "name{labels}" -> value. Labels are as
// written by the server ("ringmx_x{listener=\"smtp\"}").
std::map<std::string, double> parse_metrics(const std::string& text);
// The metrics page of the management listener on `port`, parsed.
std::map<std::string, double> scrape(int port);

// EHLO, one message (MAIL, RCPT, DATA with `body`), QUIT, on `c` whose
// greeting was already read. True when the message got 250.
bool send_message(Client& c, const std::string& body);

}  // namespace ringmx::test
