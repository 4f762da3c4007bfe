// The sans-I/O session as the ring loop drives it: bytes in any split,
// plaintext both ways, close_notify, and the handshake failure log line.
#include "tls/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/log/log.h"
#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/client_hello.h"
#include "tls/context.h"

namespace ringmx::tls {
namespace {

using testing::as_bytes;
using testing::ClientOptions;
using testing::KeyKind;
using testing::MemClient;
using testing::PumpResult;

std::string to_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Reads the log lines written while it lives.
class LogCapture {
 public:
  LogCapture() {
    char tmpl[] = "/tmp/ringmx-tls-log-XXXXXX";
    fd_ = ::mkstemp(tmpl);
    ::unlink(tmpl);
    log::set_fd(fd_);
  }
  ~LogCapture() {
    log::set_fd(2);
    ::close(fd_);
  }
  std::string text() const {
    std::string out(1 << 16, '\0');
    const ssize_t n = ::pread(fd_, out.data(), out.size(), 0);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }

 private:
  int fd_ = -1;
};

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { ctx_ = make({config::TlsVersion::tls12, config::TlsVersion::tls13}); }
  std::shared_ptr<const ServerContext> make(std::vector<config::TlsVersion> versions) {
    std::map<std::string, config::Certificate> certs;
    certs["ec"] = testing::certificate(
        "ec", testing::make_self_signed(KeyKind::ecdsa_p256, "mx.example.org"));
    config::TlsSettings s;
    s.enable = true;
    s.certificate = "ec";
    s.protocols = std::move(versions);
    auto r = ServerContext::build("smtp", s, certs);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.context;
  }
  std::shared_ptr<const ServerContext> ctx_;
};

TEST_F(SessionTest, PlaintextBothWaysAfterHandshake) {
  Session server(ctx_, "192.0.2.7:40000");
  MemClient client({});
  ASSERT_EQ(testing::pump(server, client), PumpResult::established);
  std::vector<std::byte> out;
  EXPECT_FALSE(server.take_output(out));  // nothing left to send
  EXPECT_TRUE(out.empty());

  client.write("EHLO client.example\r\n");
  server.feed(client.take_output());
  std::byte buf[256];
  auto r = server.read(buf);
  ASSERT_EQ(r.status, IoResult::Status::ok);
  EXPECT_EQ(to_string({buf, r.bytes}), "EHLO client.example\r\n");
  EXPECT_EQ(server.read(buf).status, IoResult::Status::want_more);

  const std::string reply = "250-mx.example.org\r\n250 PIPELINING\r\n";
  ASSERT_EQ(server.write(as_bytes(reply)).bytes, reply.size());
  ASSERT_TRUE(server.take_output(out));
  client.feed(out);
  EXPECT_EQ(client.read_all(), "250-mx.example.org\r\n250 PIPELINING\r\n");
}

TEST_F(SessionTest, LargeWriteIsSplitIntoRecordsAndArrivesWhole) {
  Session server(ctx_, "192.0.2.7:40000");
  MemClient client({});
  ASSERT_EQ(testing::pump(server, client), PumpResult::established);
  const std::string big(100000, 'x');
  ASSERT_EQ(server.write(as_bytes(big)).bytes, big.size());
  std::vector<std::byte> out;
  ASSERT_TRUE(server.take_output(out));
  EXPECT_GT(out.size(), big.size());  // 7 records of overhead
  client.feed(out);
  EXPECT_EQ(client.read_all(), big);
}

// The ring hands over whatever one recv returned: a handshake fed one byte
// at a time must end exactly as one fed whole.
TEST_F(SessionTest, HandshakeFedOneByteAtATime) {
  Session server(ctx_, "192.0.2.7:40000");
  MemClient client({.sni = "mx.example.org"});
  std::vector<std::byte> out;
  bool client_done = false;
  Handshake h = Handshake::in_progress;
  for (int round = 0; round < 16 && !(client_done && h == Handshake::done); ++round) {
    client_done = client.connect_step() || client_done;
    for (std::byte b : client.take_output()) {
      server.feed({&b, 1});
      h = server.handshake();
      ASSERT_NE(h, Handshake::failed) << server.failure();
    }
    if (server.take_output(out)) client.feed(out);
  }
  EXPECT_EQ(h, Handshake::done);
  EXPECT_TRUE(client_done);
  EXPECT_EQ(server.info().sni, "mx.example.org");
  EXPECT_EQ(server.unconsumed_input(), 0u);
}

// The kTLS hand-off relies on this: a record the client sent right behind
// its Finished, read in the same recv, is still the session's unconsumed
// input when the handshake is done (wolfSSL read no further than Finished),
// so the runtime sees it and keeps that connection in userspace.
TEST_F(SessionTest, DataPipelinedBehindFinishedStaysUnconsumedInput) {
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Session server(ctx_, "192.0.2.7:40000");
    MemClient client({.max_version = version});
    std::vector<std::byte> buf;
    bool client_done = false;
    Handshake h = Handshake::in_progress;
    for (int round = 0; round < 16 && !client_done; ++round) {
      client_done = client.connect_step();
      if (client_done) client.write("EHLO client.example\r\n");  // behind Finished
      server.feed(client.take_output());
      h = server.handshake();
      if (server.take_output(buf)) client.feed(buf);
    }
    ASSERT_TRUE(client_done) << version;
    ASSERT_EQ(h, Handshake::done) << version;
    EXPECT_GT(server.unconsumed_input(), 0u) << version;
    std::byte plain[256];
    const IoResult r = server.read(plain);
    ASSERT_EQ(r.status, IoResult::Status::ok) << version;
    EXPECT_EQ(to_string(std::span<const std::byte>(plain, r.bytes)), "EHLO client.example\r\n");
    EXPECT_EQ(server.unconsumed_input(), 0u) << version;
  }
}

TEST_F(SessionTest, CloseNotifyEndsTheSessionCleanly) {
  Session server(ctx_, "192.0.2.7:40000");
  MemClient client({});
  ASSERT_EQ(testing::pump(server, client), PumpResult::established);
  wolfSSL_shutdown(client.ssl());
  server.feed(client.take_output());
  std::byte buf[64];
  EXPECT_EQ(server.read(buf).status, IoResult::Status::closed);
}

TEST_F(SessionTest, ServerShutdownSendsCloseNotify) {
  Session server(ctx_, "192.0.2.7:40000");
  MemClient client({});
  ASSERT_EQ(testing::pump(server, client), PumpResult::established);
  client.read_all();  // consume the session ticket
  server.shutdown();
  std::vector<std::byte> out;
  ASSERT_TRUE(server.take_output(out));
  client.feed(out);
  char buf[16];
  EXPECT_EQ(wolfSSL_read(client.ssl(), buf, sizeof buf), 0);
  EXPECT_EQ(wolfSSL_get_error(client.ssl(), 0), WOLFSSL_ERROR_ZERO_RETURN);
}

TEST_F(SessionTest, RefusedVersionIsLoggedOnOneLineWithClientSniOfferAndReason) {
  auto tls13_only = make({config::TlsVersion::tls13});
  LogCapture log;
  Session server(tls13_only, "192.0.2.7:40000");
  MemClient client({.sni = "mx.example.org", .max_version = TLS1_2_VERSION});
  ASSERT_EQ(testing::pump(server, client), PumpResult::server_failed);
  server.log_failure();
  const std::string line = log.text();
  EXPECT_NE(line.find("level=warn event=tls.handshake_failed client=192.0.2.7:40000 "
                      "sni=mx.example.org offered=TLSv1.2 reason="),
            std::string::npos)
      << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  std::byte buf[16];
  EXPECT_EQ(server.read(buf).status, IoResult::Status::error);
}

TEST_F(SessionTest, TimeoutFromTheShardFailsTheHandshake) {
  LogCapture log;
  Session server(ctx_, "192.0.2.7:40000");
  server.fail("timeout");  // the shard's tls.timeout timer fired; nothing was received
  EXPECT_EQ(server.handshake(), Handshake::failed);
  server.log_failure();
  EXPECT_NE(log.text().find("client=192.0.2.7:40000 sni=- offered=- reason=timeout\n"),
            std::string::npos)
      << log.text();
}

TEST_F(SessionTest, PlaintextSmtpOnATlsPortFails) {
  Session server(ctx_, "192.0.2.7:40000");
  server.feed(as_bytes("EHLO client.example\r\n"));
  EXPECT_EQ(server.handshake(), Handshake::failed);
  EXPECT_EQ(server.info().offered, "not-tls");
  EXPECT_FALSE(server.failure().empty());
}

// --- ClientHello summary -----------------------------------------------------

std::vector<std::byte> client_hello(const ClientOptions& o) {
  MemClient client(o);
  client.connect_step();
  return client.take_output();
}

TEST(ClientHello, ReadsSniAndHighestVersion) {
  struct Case {
    ClientOptions opts;
    std::string_view sni;
    uint16_t version;
  } cases[] = {
      {{.sni = "mx.example.org"}, "mx.example.org", 0x0304},
      {{.max_version = TLS1_2_VERSION}, "", 0x0303},
      {{.sni = "a.example.net", .max_version = TLS1_2_VERSION}, "a.example.net", 0x0303},
  };
  for (const auto& c : cases) {
    const auto hello = client_hello(c.opts);
    const auto s = peek_client_hello(hello);
    ASSERT_EQ(s.status, ClientHelloSummary::Status::ok);
    EXPECT_EQ(s.server_name, c.sni);
    EXPECT_EQ(s.max_version, c.version);
    // Every strict prefix is "need more", never a wrong answer.
    for (size_t n = 0; n < hello.size(); ++n) {
      ASSERT_EQ(peek_client_hello(std::span(hello).first(n)).status,
                ClientHelloSummary::Status::need_more)
          << n;
    }
  }
}

TEST(ClientHello, RejectsWhatIsNotAHello) {
  EXPECT_EQ(peek_client_hello(as_bytes("EHLO x\r\n")).status,
            ClientHelloSummary::Status::malformed);
  auto hello = client_hello({});
  hello[5] = std::byte{2};  // ServerHello, not ClientHello
  EXPECT_EQ(peek_client_hello(hello).status, ClientHelloSummary::Status::malformed);
  hello = client_hello({});
  hello[6] = std::byte{0xff};  // hello body claims more than the record holds
  EXPECT_EQ(peek_client_hello(hello).status, ClientHelloSummary::Status::malformed);
}

TEST(ClientHello, VersionNames) {
  EXPECT_EQ(version_name(0x0304), "TLSv1.3");
  EXPECT_EQ(version_name(0x0303), "TLSv1.2");
  EXPECT_EQ(version_name(0x0301), "TLSv1.0");
  EXPECT_EQ(version_name(0x7f1c), "0x7f1c");
}

}  // namespace
}  // namespace ringmx::tls
