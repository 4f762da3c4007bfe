#include "tests/core/management_support.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

namespace ringmx::test {

HttpReply read_http(int fd, std::string& carry, int timeout_ms) {
  HttpReply r;
  std::string in;
  in.swap(carry);
  std::size_t head_end = std::string::npos;
  std::size_t want = std::string::npos;
  for (;;) {
    if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      r.head = in.substr(0, head_end + 2);
      std::size_t length = 0;
      std::size_t p = r.head.find("Content-Length: ");
      if (p != std::string::npos) length = std::strtoul(r.head.c_str() + p + 16, nullptr, 10);
      want = head_end + 4 + length;
    }
    if (want != std::string::npos && in.size() >= want) break;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return HttpReply{};
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return HttpReply{};
    in.append(buf, static_cast<std::size_t>(n));
  }
  r.body = in.substr(head_end + 4, want - head_end - 4);
  carry = in.substr(want);
  if (r.head.size() >= 12) r.status = std::atoi(r.head.c_str() + 9);
  return r;
}

HttpReply http(int port, std::string_view req) {
  Client c;
  if (!c.connect("127.0.0.1", port)) return HttpReply{};
  if (!c.send(req)) return HttpReply{};
  std::string carry;
  return read_http(c.fd(), carry);
}

std::string request(std::string_view method, std::string_view path, std::string_view headers) {
  return fmt::format("{} {} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{}\r\n", method, path,
                     headers);
}

std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

std::map<std::string, double> scrape(int port) {
  HttpReply r = http(port, request("GET", "/metrics"));
  if (r.status != 200) return {};
  return parse_metrics(r.body);
}

bool send_message(Client& c, const std::string& body) {
  c.send("EHLO client.test\r\n");
  if (c.reply().substr(0, 3) != "250") return false;
  c.send("MAIL FROM:<alice@client.test>\r\n");
  if (c.reply().substr(0, 3) != "250") return false;
  c.send("RCPT TO:<bob@mx.test>\r\n");
  if (c.reply().substr(0, 3) != "250") return false;
  c.send("DATA\r\n");
  if (c.reply().substr(0, 3) != "354") return false;
  c.send(body + ".\r\n");
  const bool ok = c.reply().substr(0, 3) == "250";
  c.send("QUIT\r\n");
  return c.reply().substr(0, 3) == "221" && ok;
}

}  // namespace ringmx::test
