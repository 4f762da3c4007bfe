// The PROXY stage through a running ringmx: hand-written v1 and v2
// headers over real sockets (whole, split, followed by SMTP bytes,
// malformed, late), an untrusted peer's PROXY line, and end to end
// through Debian's HAProxy (send-proxy and send-proxy-v2) in front of two
// ringmx listeners, the client's address from HAProxy's side landing in
// the spool envelope.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "delivery/spool_reader.h"
#include "tests/core/management_support.h"
#include "tests/core/server_fixture.h"
#include "tests/core/server_process.h"

extern char** environ;

namespace ringmx::test {
namespace {

struct Ports {
  int plain = free_port();    // no trusted networks
  int trusted = free_port();  // loopback must send PROXY
  int trusted2 = free_port();
  int http = free_port();
};

std::string config(const Ports& p, const std::string& extra = "") {
  return fmt::format(R"(
[server]
shards = 2
hostname = "mx.test"
[server.proxy]
timeout = "1s"
[server.listener.plain]
bind = "127.0.0.1:{}"
[server.listener.lb]
bind = "127.0.0.1:{}"
proxy.trusted-networks = ["127.0.0.0/8", "::1"]
[server.listener.lb2]
bind = "127.0.0.1:{}"
proxy.trusted-networks = ["127.0.0.1"]
[server.listener.management]
bind = "127.0.0.1:{}"
protocol = "http"
[spool]
path = "spool"
{}
)",
                     p.plain, p.trusted, p.trusted2, p.http, extra);
}

// True when nothing at all arrives on `fd` within `ms` (the server keeps
// quiet while a header is incomplete). A bounded check of an absence, not
// a synchronisation.
bool silent_for(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 0;
}

// A hand-written v2 header: signature, version 2 + `command`, `family`,
// the address block.
std::string v2(unsigned char command, unsigned char family, const std::string& addresses) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += static_cast<char>(0x20 | command);
  h += static_cast<char>(family);
  h += static_cast<char>(addresses.size() >> 8);
  h += static_cast<char>(addresses.size() & 0xff);
  return h + addresses;
}

std::string v2_inet(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
  std::string a(12, '\0');
  inet_pton(AF_INET, src, a.data());
  inet_pton(AF_INET, dst, a.data() + 4);
  a[8] = static_cast<char>(sport >> 8), a[9] = static_cast<char>(sport);
  a[10] = static_cast<char>(dport >> 8), a[11] = static_cast<char>(dport);
  return v2(0x1, 0x11, a);
}

std::string v2_inet6(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
  std::string a(36, '\0');
  inet_pton(AF_INET6, src, a.data());
  inet_pton(AF_INET6, dst, a.data() + 16);
  a[32] = static_cast<char>(sport >> 8), a[33] = static_cast<char>(sport);
  a[34] = static_cast<char>(dport >> 8), a[35] = static_cast<char>(dport);
  return v2(0x1, 0x21, a);
}

class ProxyTest : public ServerFixture {
 protected:
  // The envelope client of every stored message, in spool order.
  std::vector<std::string> clients() {
    delivery::SpoolReader reader(spool());
    std::vector<std::string> out;
    for (const auto& m : reader.messages())
      out.push_back(m.message->envelope.client);
    return out;
  }
  std::string first_body() {
    delivery::SpoolReader reader(spool());
    auto msgs = reader.messages();
    return msgs.empty() ? "" : reader.read_body(msgs[0]);
  }
  Ports ports_;
};

TEST_F(ProxyTest, V1HeaderWithPipelinedSmtpInTheSameWrite) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.trusted));
  c.send("PROXY TCP4 192.0.2.7 198.51.100.1 5555 25\r\nEHLO client.test\r\n");
  EXPECT_EQ(c.reply(), "220 mx.test ringmx ESMTP\r\n");
  EXPECT_EQ(c.reply().substr(0, 4), "250-");
  c.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "354");
  c.send("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "221");
  EXPECT_EQ(clients(), std::vector<std::string>{"192.0.2.7:5555"});
  EXPECT_NE(first_body().find("[192.0.2.7]"), std::string::npos) << first_body();
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "listener=lb", "client=192.0.2.7:5555"}));
  auto m = scrape(ports_.http);
  EXPECT_EQ(m["ringmx_proxy_headers_accepted_total"], 1);
}

TEST_F(ProxyTest, SplitHeaderGetsNoGreetingUntilComplete) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.trusted));
  const std::string header = "PROXY TCP6 2001:db8::7 2001:db8::1 40000 25\r\n";
  for (std::size_t i = 0; i + 1 < header.size(); ++i) {
    ASSERT_TRUE(c.send(header.substr(i, 1)));
    if (i % 10 == 0) {
      EXPECT_TRUE(silent_for(c.fd(), 50)) << "spoke before byte " << i;
    }
  }
  EXPECT_TRUE(silent_for(c.fd(), 200));
  c.send("\n");
  EXPECT_EQ(c.reply(), "220 mx.test ringmx ESMTP\r\n");
  ASSERT_TRUE(send_message(c, "Subject: y\r\n\r\nsplit\r\n"));
  EXPECT_EQ(clients(), std::vector<std::string>{"[2001:db8::7]:40000"});
}

TEST_F(ProxyTest, V2HeadersIpv4Ipv6AndLocal) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.trusted));
    c.send(v2_inet("203.0.113.9", "192.0.2.1", 1234, 25));
    EXPECT_EQ(c.reply().substr(0, 4), "220 ");
    ASSERT_TRUE(send_message(c, "Subject: 4\r\n\r\nv2\r\n"));
  }
  {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.trusted));
    // Header and the first command in one write.
    c.send(v2_inet6("2001:db8::9", "2001:db8::1", 4321, 25) + "NOOP\r\n");
    EXPECT_EQ(c.reply().substr(0, 4), "220 ");
    EXPECT_EQ(c.reply().substr(0, 3), "250");
    ASSERT_TRUE(send_message(c, "Subject: 6\r\n\r\nv2\r\n"));
  }
  std::string own;
  {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.trusted));
    sockaddr_in me{};
    socklen_t len = sizeof me;
    getsockname(c.fd(), reinterpret_cast<sockaddr*>(&me), &len);
    own = fmt::format("127.0.0.1:{}", ntohs(me.sin_port));
    c.send(v2(0x0, 0x00, ""));  // LOCAL: the socket's own addresses stay
    EXPECT_EQ(c.reply().substr(0, 4), "220 ");
    ASSERT_TRUE(send_message(c, "Subject: l\r\n\r\nlocal\r\n"));
  }
  auto got = clients();
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {"203.0.113.9:1234", "[2001:db8::9]:4321", own};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST_F(ProxyTest, MalformedHeaderClosesWithoutGreetingCountedAndLoggedOncePerPeer) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  for (const std::string bad :
       {"EHLO client.test\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 99999 25\r\n"}) {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.trusted));
    c.send(bad);
    EXPECT_EQ(c.reply(), "") << bad;  // EOF, and not one byte before it
    EXPECT_TRUE(c.closed());
  }
  ASSERT_TRUE(server_.wait_for_log({"event=proxy.rejected", "reason=malformed"}));
  auto m = scrape(ports_.http);
  EXPECT_EQ(m["ringmx_proxy_headers_rejected_total{reason=\"malformed\"}"], 2);
  EXPECT_EQ(m["ringmx_sessions_total{outcome=\"proxy-header\"}"], 2);
  // Logged once per peer per shard: both connections came from 127.0.0.1,
  // and with two shards they may have landed on different ones.
  EXPECT_LE(server_.count_log("event=proxy.rejected"), 2);
  EXPECT_GE(server_.count_log("event=proxy.rejected"), 1);
}

TEST_F(ProxyTest, HeaderThatNeverCompletesTimesOut) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.trusted));
  c.send("PROXY TCP4 192.0.2.7");
  // server.proxy.timeout = 1s (checked on a 250 ms wheel).
  EXPECT_EQ(c.reply(5000), "");
  EXPECT_TRUE(c.closed(1000));
  ASSERT_TRUE(server_.wait_for_log({"event=proxy.rejected", "reason=timeout"}));
  auto m = scrape(ports_.http);
  EXPECT_EQ(m["ringmx_proxy_headers_rejected_total{reason=\"timeout\"}"], 1);
}

TEST_F(ProxyTest, UntrustedPeerIsNeverParsedAsProxy) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.plain));
  EXPECT_EQ(c.reply().substr(0, 4), "220 ");
  c.send("PROXY TCP4 192.0.2.7 198.51.100.1 5555 25\r\n");
  EXPECT_EQ(c.reply().substr(0, 9), "500 5.5.1");
  ASSERT_TRUE(send_message(c, "Subject: p\r\n\r\nplain\r\n"));
  auto got = clients();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rfind("127.0.0.1:", 0), 0u) << got[0];
}

// --- through a real HAProxy ------------------------------------------

int inheritable_listener(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);  // no CLOEXEC: HAProxy inherits it
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

TEST_F(ProxyTest, ThroughHaproxySendProxyAndSendProxyV2) {
  if (access("/usr/sbin/haproxy", X_OK) != 0) GTEST_SKIP() << "haproxy not installed";
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  int front1_port = 0, front2_port = 0;
  const int front1 = inheritable_listener(&front1_port);
  const int front2 = inheritable_listener(&front2_port);
  ASSERT_GE(front1, 0);
  ASSERT_GE(front2, 0);
  const std::string cfg = (dir_.path() / "haproxy.cfg").string();
  std::ofstream(cfg) << fmt::format(
      "global\n  maxconn 64\n"
      "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"
      "frontend v1\n  bind fd@{}\n  default_backend v1\n"
      "frontend v2\n  bind fd@{}\n  default_backend v2\n"
      "backend v1\n  server s1 127.0.0.1:{} send-proxy\n"
      "backend v2\n  server s2 127.0.0.1:{} send-proxy-v2\n",
      front1, front2, ports_.trusted, ports_.trusted2);
  std::vector<std::string> args = {"/usr/sbin/haproxy", "-f", cfg, "-db", "-q"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  close(front1);  // HAProxy has its copies
  close(front2);

  std::vector<std::string> want;
  for (int port : {front1_port, front2_port}) {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", port));
    sockaddr_in me{};
    socklen_t len = sizeof me;
    getsockname(c.fd(), reinterpret_cast<sockaddr*>(&me), &len);
    // The client's own address and port as HAProxy saw them: different
    // from the port HAProxy connects to ringmx from.
    want.push_back(fmt::format("127.0.0.1:{}", ntohs(me.sin_port)));
    EXPECT_EQ(c.reply(), "220 mx.test ringmx ESMTP\r\n") << "front " << port;
    EXPECT_TRUE(send_message(c, "Subject: h\r\n\r\nthrough haproxy\r\n"));
  }
  const std::string v2_client = want[1];  // through front2, send-proxy-v2, listener lb2
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);

  auto got = clients();
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  auto m = scrape(ports_.http);
  EXPECT_EQ(m["ringmx_proxy_headers_accepted_total"], 2);
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "listener=lb2", "client=" + v2_client}));
}

}  // namespace
}  // namespace ringmx::test
