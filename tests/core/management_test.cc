// The management (http) listener through a running ringmx: each endpoint,
// the auth rules, metrics that move as SMTP sessions run (read back by
// parsing the exposition), and POST /reload changing the greeting.
#include <gtest/gtest.h>
#include <signal.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "core/ring_setup.h"
#include "core/ring_wait.h"
#include "tests/core/management_support.h"
#include "tests/core/server_fixture.h"
#include "tests/core/server_process.h"

namespace ringmx::test {
namespace {

struct Ports {
  int smtp = free_port();
  int http = free_port();
};

// `management`: extra keys of the http listener; `greeting`: server.greeting.
std::string config(const Ports& p, const std::string& management = "",
                   const std::string& greeting = "ringmx ESMTP") {
  return fmt::format(R"(
[server]
shards = 2
hostname = "mx.test"
greeting = "{}"
[server.listener.smtp]
bind = "127.0.0.1:{}"
[server.listener.management]
bind = "127.0.0.1:{}"
protocol = "http"
{}
[spool]
path = "spool"
)",
                     greeting, p.smtp, p.http, management);
}

class ManagementTest : public ServerFixture {
 protected:
  Ports ports_;
};

TEST_F(ManagementTest, HealthAndReadiness) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  HttpReply h = http(ports_.http, request("GET", "/healthz"));
  EXPECT_EQ(h.status, 200) << h.head;
  HttpReply r = http(ports_.http, request("GET", "/readyz"));
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(http(ports_.http, request("GET", "/nope")).status, 404);
  EXPECT_EQ(http(ports_.http, request("DELETE", "/metrics")).status, 405);
  EXPECT_EQ(http(ports_.http, "GARBAGE\r\n\r\n").status, 400);
}

TEST_F(ManagementTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.http));
  // Pipelined: both answers come back in order on the same connection.
  c.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string carry;
  HttpReply a = read_http(c.fd(), carry);
  HttpReply b = read_http(c.fd(), carry);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(b.status, 200);
  c.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  HttpReply m = read_http(c.fd(), carry);
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.head.find("version=0.0.4"), std::string::npos) << m.head;
}

TEST_F(ManagementTest, IdleManagementConnectionIsClosedAfterTheSessionTimeout) {
  ASSERT_TRUE(server_.start(config(ports_) + "[session]\ntimeout = \"1s\"\n", dir_.path()))
      << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.http));
  EXPECT_TRUE(c.closed(5000));
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "listener=management", "reason=timeout"}));
}

TEST_F(ManagementTest, MetricsMoveAsSessionsRun) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  auto before = scrape(ports_.http);
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(before["ringmx_messages_accepted_total"], 0);
  EXPECT_EQ(before["ringmx_connections_accepted_total{listener=\"smtp\"}"], 0);
  // Both shards report their ring, and each listening socket its backlog.
  EXPECT_TRUE(before.count("ringmx_ring_submissions_total{shard=\"0\"}"));
  EXPECT_TRUE(before.count("ringmx_ring_submissions_total{shard=\"1\"}"));
  const std::string addr = fmt::format("127.0.0.1:{}", ports_.smtp);
  EXPECT_EQ(before[fmt::format(
                "ringmx_listen_backlog{{listener=\"smtp\",address=\"{}\",shard=\"0\"}}", addr)],
            1024);
  EXPECT_EQ(
      before[fmt::format(
          "ringmx_listen_queue_length{{listener=\"smtp\",address=\"{}\",shard=\"1\"}}", addr)],
      0);
  EXPECT_TRUE(before.count("ringmx_kernel_listen_overflows_total"));
  EXPECT_TRUE(before.count("ringmx_tls_handshake_failures_total"));

  const std::string body = "Subject: m\r\n\r\nhello\r\n";
  for (int i = 0; i < 3; ++i) {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
    ASSERT_EQ(c.reply().substr(0, 3), "220");
    ASSERT_TRUE(send_message(c, body));
    EXPECT_TRUE(c.closed());
  }
  {
    Client idle;  // open while scraping
    ASSERT_TRUE(idle.connect("127.0.0.1", ports_.smtp));
    ASSERT_EQ(idle.reply().substr(0, 3), "220");
    ASSERT_TRUE(server_.wait_for_log({"event=conn.close", "reason=quit"}));
    auto after = scrape(ports_.http);
    EXPECT_EQ(after["ringmx_connections_accepted_total{listener=\"smtp\"}"], 4);
    EXPECT_EQ(after["ringmx_connections_open{listener=\"smtp\"}"], 1);
    EXPECT_EQ(after["ringmx_messages_accepted_total"], 3);
    EXPECT_EQ(after["ringmx_spool_commits_total"], 3);
    // Each message is our Received header plus the body.
    EXPECT_GT(after["ringmx_message_bytes_received_total"], 3.0 * body.size());
    EXPECT_GE(after["ringmx_spool_fsync_rounds_total"], 1);
    EXPECT_EQ(after["ringmx_spool_fsync_seconds_count"], after["ringmx_spool_fsync_rounds_total"]);
    EXPECT_GT(after["ringmx_spool_write_bytes_total"],
              after["ringmx_message_bytes_received_total"]);
    // Segment gauges: the .seg files in spool/<shard>/, counted and summed.
    double segments = 0;
    for (int shard = 0; shard < 2; ++shard) {
      std::uintmax_t files = 0, bytes = 0;
      for (const auto& e :
           std::filesystem::directory_iterator(dir_.path() / "spool" / std::to_string(shard))) {
        if (e.path().extension() != ".seg") continue;
        ++files;
        bytes += e.file_size();
      }
      EXPECT_EQ(after[fmt::format("ringmx_spool_segments{{shard=\"{}\"}}", shard)], files);
      EXPECT_EQ(after[fmt::format("ringmx_spool_segment_bytes{{shard=\"{}\"}}", shard)], bytes);
      segments += static_cast<double>(files);
    }
    EXPECT_GE(segments, 1);  // three messages were committed somewhere
    EXPECT_GT(after["ringmx_ring_completions_total{shard=\"0\"}"] +
                  after["ringmx_ring_completions_total{shard=\"1\"}"],
              before["ringmx_ring_completions_total{shard=\"0\"}"] +
                  before["ringmx_ring_completions_total{shard=\"1\"}"]);
  }
  ASSERT_TRUE(server_.wait_for_log({"event=conn.close", "reason=disconnect"}));
  auto last = scrape(ports_.http);
  EXPECT_EQ(last["ringmx_sessions_total{outcome=\"quit\"}"], 3);
  EXPECT_EQ(last["ringmx_sessions_total{outcome=\"disconnect\"}"], 1);
  EXPECT_EQ(last["ringmx_connections_open{listener=\"smtp\"}"], 0);
}

// A body sent in one write arrives in recvs of whole buffers: the shard
// then lingers in its next waits (core/ring_wait.h), and counts it.
TEST_F(ManagementTest, AStreamedBodyIsTakenInLingeringWaits) {
  {
    io_uring ring{};
    std::string mode;
    ASSERT_EQ(core::setup_ring(&ring, 8, &mode), 0);
    const bool can = core::ring_can_linger(&ring);
    io_uring_queue_exit(&ring);
    if (!can) GTEST_SKIP() << "this kernel has no IORING_FEAT_MIN_TIMEOUT (Linux 6.12)";
  }
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  EXPECT_TRUE(server_.wait_for_log({"event=shard.ring", "stream_linger_us=300"}));
  auto before = scrape(ports_.http);
  EXPECT_EQ(before["ringmx_ring_lingers_total{shard=\"0\"}"] +
                before["ringmx_ring_lingers_total{shard=\"1\"}"],
            0);
  std::string body = "Subject: big\r\n\r\n";
  const std::string line = std::string(76, 'x') + "\r\n";
  while (body.size() < 2 * 1024 * 1024)
    body += line;
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  ASSERT_TRUE(send_message(c, body));
  auto after = scrape(ports_.http);
  EXPECT_GE(after["ringmx_ring_lingers_total{shard=\"0\"}"] +
                after["ringmx_ring_lingers_total{shard=\"1\"}"],
            1);
  EXPECT_EQ(after["ringmx_messages_accepted_total"], 1);
}

TEST_F(ManagementTest, EngineRefusalsAreCountedByClassAndCode) {
  ASSERT_TRUE(server_.start(config(ports_) + R"(
[session]
rcpt.max-recipients = 1
data.limits.size = 100
)",
                            dir_.path()))
      << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  c.send("EHLO client.test\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  c.send("RCPT TO:<bob@mx.test>\r\n");  // no MAIL yet
  ASSERT_EQ(c.reply().substr(0, 3), "503");
  c.send("MAIL FROM:<alice@client.test>\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  c.send("RCPT TO:<bob@mx.test>\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "250");
  c.send("RCPT TO:<carol@mx.test>\r\n");  // over rcpt.max-recipients
  ASSERT_EQ(c.reply().substr(0, 3), "452");
  c.send("DATA\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "354");
  c.send("Subject: big\r\n\r\n" + std::string(200, 'x') + "\r\n.\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "552");  // over data.limits.size, at end of message
  c.send("HELO\r\n");                        // refused, but not an envelope step: not counted
  ASSERT_EQ(c.reply().substr(0, 1), "5");
  c.send("QUIT\r\n");
  ASSERT_EQ(c.reply().substr(0, 3), "221");

  auto m = scrape(ports_.http);
  EXPECT_EQ(m["ringmx_messages_refused_total{class=\"5xx\",code=\"503\"}"], 1);
  EXPECT_EQ(m["ringmx_messages_refused_total{class=\"4xx\",code=\"452\"}"], 1);
  EXPECT_EQ(m["ringmx_messages_refused_total{class=\"5xx\",code=\"552\"}"], 1);
  double refused = 0;
  for (const auto& [name, value] : m)
    if (name.rfind("ringmx_messages_refused_total{", 0) == 0) refused += value;
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(m["ringmx_messages_accepted_total"], 0);
}

TEST_F(ManagementTest, ReadyzAnswers503WhileTheSpoolIsNotWritable) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  // A shard's folder gone (or read-only: as root, access() ignores mode
  // bits, so the test moves the folder away instead of chmod-ing it).
  const std::filesystem::path shard = spool() / "1";
  const std::filesystem::path away = spool() / "moved";
  ASSERT_TRUE(std::filesystem::is_directory(shard));
  std::filesystem::rename(shard, away);
  // No /readyz before this one: no shard has a cached answer yet.
  HttpReply r = http(ports_.http, request("GET", "/readyz"));
  EXPECT_EQ(r.status, 503) << r.head;
  EXPECT_EQ(r.body.rfind("not ready: spool not writable: ", 0), 0) << r.body;
  EXPECT_NE(r.body.find("spool/1: No such file or directory"), std::string::npos) << r.body;
  std::filesystem::rename(away, shard);
  // Each shard re-checks at most once a second: wait for the new answer.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline)
    status = http(ports_.http, request("GET", "/readyz")).status;
  EXPECT_EQ(status, 200);
}

TEST_F(ManagementTest, ReadyzAnswers503WhileDraining) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  // A session inside a transaction keeps the drain going.
  Client smtp;
  ASSERT_TRUE(smtp.connect("127.0.0.1", ports_.smtp));
  ASSERT_EQ(smtp.reply().substr(0, 3), "220");
  smtp.send("EHLO client.test\r\n");
  ASSERT_EQ(smtp.reply().substr(0, 3), "250");
  smtp.send("MAIL FROM:<a@client.test>\r\n");
  ASSERT_EQ(smtp.reply().substr(0, 3), "250");
  Client m;
  ASSERT_TRUE(m.connect("127.0.0.1", ports_.http));
  std::string carry;
  m.send("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(read_http(m.fd(), carry).status, 200);

  server_.signal(SIGTERM);
  ASSERT_TRUE(server_.wait_for_log({"event=shard.draining"}));
  m.send("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(read_http(m.fd(), carry).status, 503);
  m.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(read_http(m.fd(), carry).status, 200);

  // The last session ends: the management connection closes and the
  // process exits cleanly.
  smtp.send("QUIT\r\n");
  EXPECT_EQ(smtp.reply().substr(0, 3), "221");
  EXPECT_TRUE(m.closed());
  EXPECT_EQ(server_.wait_exit(), 0);
}

TEST_F(ManagementTest, TlsHandshakesFailuresAndTimeoutsAreCounted) {
  const std::string d = dir_.path().string();
  ASSERT_EQ(run(fmt::format("cd {} && openssl req -x509 -newkey ec -pkeyopt "
                            "ec_paramgen_curve:P-256 -nodes -keyout mx.key -out mx.pem "
                            "-subj /CN=mx.test -days 2",
                            d)),
            0);
  const int smtps = free_port();
  ASSERT_TRUE(server_.start(config(ports_) + fmt::format(R"(
[server.listener.smtps]
bind = "127.0.0.1:{}"
tls.implicit = true
tls.certificate = "mx"
tls.timeout = "1s"
[certificate.mx]
cert = "file://mx.pem"
private-key = "file://mx.key"
)",
                                                         smtps),
                            dir_.path()))
      << server_.log_text();
  std::string out;
  EXPECT_EQ(run(fmt::format("printf 'QUIT\\r\\n' | timeout 20 openssl s_client -connect "
                            "127.0.0.1:{} -tls1_3 -ign_eof 2>&1",
                            smtps),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("221"), std::string::npos) << out;
  {
    Client plain;  // no ClientHello: a handshake failure
    ASSERT_TRUE(plain.connect("127.0.0.1", smtps));
    plain.send("EHLO client.test\r\n");
    EXPECT_TRUE(plain.closed());
  }
  {
    Client quiet;  // says nothing: tls.timeout
    ASSERT_TRUE(quiet.connect("127.0.0.1", smtps));
    EXPECT_TRUE(quiet.closed(5000));
  }
  ASSERT_TRUE(server_.wait_for_log({"event=conn.close", "reason=tls-timeout"}));
  auto m = scrape(ports_.http);
  // Labelled by the suite openssl reports ("Cipher is TLS_AES_256_GCM_SHA384"):
  // the IANA name, the same spelling tls.ciphers takes.
  const std::size_t at = out.find("Cipher is ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string cipher = out.substr(at + 10, out.find('\n', at) - at - 10);
  EXPECT_EQ(
      m[fmt::format("ringmx_tls_handshakes_total{{version=\"TLSv1.3\",cipher=\"{}\"}}", cipher)], 1)
      << cipher;
  double handshakes = 0;
  for (const auto& [name, value] : m)
    if (name.rfind("ringmx_tls_handshakes_total{", 0) == 0) handshakes += value;
  EXPECT_EQ(handshakes, 1);
  EXPECT_EQ(m["ringmx_tls_handshake_failures_total"], 1);
  EXPECT_EQ(m["ringmx_tls_handshake_timeouts_total"], 1);
}

TEST_F(ManagementTest, WithoutTokenConfigAndReloadAnswerLoopbackPeers) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  HttpReply c = http(ports_.http, request("GET", "/config"));
  EXPECT_EQ(c.status, 200) << c.head;
  EXPECT_NE(c.body.find("[server.listener.management]"), std::string::npos) << c.body;
  HttpReply r = http(ports_.http, request("POST", "/reload", "Content-Length: 0\r\n"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(server_.wait_for_log({"event=reload.done"}));
}

TEST_F(ManagementTest, WithTokenConfigAndReloadNeedTheBearerToken) {
  ASSERT_TRUE(server_.start(config(ports_, "auth-token = \"s3cret-token\""), dir_.path()))
      << server_.log_text();
  EXPECT_EQ(http(ports_.http, request("GET", "/config")).status, 401);
  EXPECT_EQ(http(ports_.http, request("GET", "/config", "Authorization: Bearer wrong\r\n")).status,
            401);
  EXPECT_EQ(http(ports_.http, request("POST", "/reload", "Content-Length: 0\r\n")).status, 401);
  HttpReply ok =
      http(ports_.http, request("GET", "/config", "Authorization: Bearer s3cret-token\r\n"));
  ASSERT_EQ(ok.status, 200);
  // The token itself is a secret: redacted in the printout.
  EXPECT_EQ(ok.body.find("s3cret-token"), std::string::npos);
  EXPECT_NE(ok.body.find("<redacted>"), std::string::npos) << ok.body;
  // Health, readiness and metrics stay open for scrapers.
  EXPECT_EQ(http(ports_.http, request("GET", "/metrics")).status, 200);
}

TEST_F(ManagementTest, NonLoopbackPeerWithoutTokenIsForbidden) {
  // The peer's address comes from a PROXY header here: the management
  // listener trusts loopback as a load balancer, which claims 192.0.2.9.
  ASSERT_TRUE(
      server_.start(config(ports_, "proxy.trusted-networks = [\"127.0.0.0/8\"]"), dir_.path()))
      << server_.log_text();
  HttpReply r =
      http(ports_.http, "PROXY TCP4 192.0.2.9 127.0.0.1 40000 80\r\n" + request("GET", "/config"));
  EXPECT_EQ(r.status, 403) << r.head;
  HttpReply lo =
      http(ports_.http, "PROXY TCP4 127.0.0.5 127.0.0.1 40000 80\r\n" + request("GET", "/config"));
  EXPECT_EQ(lo.status, 200) << lo.head;
  EXPECT_EQ(
      http(ports_.http, "PROXY TCP4 192.0.2.9 127.0.0.1 40000 80\r\n" + request("GET", "/healthz"))
          .status,
      200);
}

TEST_F(ManagementTest, ReloadChangesTheGreetingAndReportsErrors) {
  ASSERT_TRUE(server_.start(config(ports_), dir_.path())) << server_.log_text();
  {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
    EXPECT_EQ(c.reply(), "220 mx.test ringmx ESMTP\r\n");
  }
  server_.rewrite(config(ports_, "", "Welcome to the reloaded gateway"));
  HttpReply r = http(ports_.http, request("POST", "/reload", "Content-Length: 0\r\n"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "reloaded\n");
  {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
    EXPECT_EQ(c.reply(), "220 mx.test Welcome to the reloaded gateway\r\n");
  }
  server_.rewrite(config(ports_) + "[server.listener.smtp.bogus]\nkey = 1\n");
  HttpReply bad = http(ports_.http, request("POST", "/reload", "Content-Length: 0\r\n"));
  EXPECT_EQ(bad.status, 500) << bad.body;
  EXPECT_NE(bad.body.find("the running configuration is unchanged"), std::string::npos) << bad.body;
  EXPECT_GT(bad.body.size(), 60u) << "the loader's error lines are missing: " << bad.body;
  {
    Client c;
    ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
    EXPECT_EQ(c.reply(), "220 mx.test Welcome to the reloaded gateway\r\n");
  }
}

}  // namespace
}  // namespace ringmx::test
