// A real OpenSSL client (`openssl s_client`) against the Session driven over
// a loopback socket by a minimal blocking loop, the way a shard drives it
// with the ring: implicit TLS, a greeting after the handshake, SNI, version
// and cipher choices as OpenSSL offers them (X25519 key share, its own suite
// order), and the refusal path.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/crypto_offload.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

using testing::KeyKind;

// Serves one connection: handshake, "220 ..." greeting, close_notify, then
// reads until the client closes. Returns the session's info and failure.
struct Served {
  SessionInfo info;
  std::string failure;
  bool established = false;
  uint64_t x25519 = 0;  // X25519 operations the libcrypto offload did for it
};

class OneShotServer {
 public:
  explicit OneShotServer(std::shared_ptr<const ServerContext> ctx) : ctx_(std::move(ctx)) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd_, 1) != 0 ||
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { served_ = serve(); });
  }
  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
    ::close(lfd_);
  }
  int port() const { return port_; }
  Served result() {
    thread_.join();
    return served_;
  }

 private:
  Served serve() {
    Served out;
    const int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return out;
    timeval tv{20, 0};  // a hung client fails the test instead of hanging it
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const uint64_t x25519 = crypto_offload_counts().x25519;  // this thread's
    Session s(ctx_, "127.0.0.1:client");
    std::vector<std::byte> outbuf;
    std::byte buf[16384];
    auto flush = [&] {
      if (s.take_output(outbuf)) ::send(fd, outbuf.data(), outbuf.size(), MSG_NOSIGNAL);
    };
    Handshake h = Handshake::in_progress;
    while (h == Handshake::in_progress) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        s.fail(n == 0 ? "eof" : "io-error");
        break;
      }
      s.feed({buf, static_cast<size_t>(n)});
      h = s.handshake();
      flush();
    }
    out.established = h == Handshake::done;
    if (out.established) {
      const std::string greeting = "220 mx.example.org ESMTP ringmx\r\n";
      s.write({reinterpret_cast<const std::byte*>(greeting.data()), greeting.size()});
      s.shutdown();  // close_notify: s_client (-ign_eof) prints the greeting and exits
      flush();
      for (bool open = true; open;) {  // until close_notify or EOF
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        s.feed({buf, static_cast<size_t>(n)});
        for (;;) {
          const auto r = s.read(buf);
          if (r.status == IoResult::Status::ok) continue;
          open = r.status == IoResult::Status::want_more;
          break;
        }
      }
    }
    out.info = s.info();
    out.failure = s.failure();
    out.x25519 = crypto_offload_counts().x25519 - x25519;
    ::close(fd);
    return out;
  }

  std::shared_ptr<const ServerContext> ctx_;
  int lfd_ = -1;
  int port_ = 0;
  std::thread thread_;
  Served served_;
};

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string s_client(int port, const std::string& args) {
  return run("timeout 20 openssl s_client -brief -ign_eof -connect 127.0.0.1:" +
             std::to_string(port) + " " + args + " </dev/null 2>&1");
}

class OpensslInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (run("command -v openssl").empty()) GTEST_SKIP() << "openssl not installed";
  }
  std::shared_ptr<const ServerContext> build(config::TlsSettings s) {
    std::map<std::string, config::Certificate> certs;
    certs["rsa"] = testing::certificate(
        "rsa", testing::make_self_signed(KeyKind::rsa_2048, "rsa.example.org"));
    certs["mail"] = testing::certificate(
        "mail", testing::make_self_signed(KeyKind::ecdsa_p256, "mail.example.com"));
    s.enable = true;
    s.implicit = true;
    s.certificate = "rsa";
    s.sni = {{"mail.example.com", "mail"}};
    auto r = ServerContext::build("smtps", s, certs);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.context;
  }
};

TEST_F(OpensslInterop, DefaultCertificateTls13AndGreetingOverTls) {
  auto ctx = build({});
  OneShotServer server(ctx);
  const std::string out = s_client(server.port(), "");
  const Served s = server.result();
  ASSERT_TRUE(s.established) << s.failure << "\n" << out;
  EXPECT_NE(out.find("Protocol version: TLSv1.3"), std::string::npos) << out;
  EXPECT_NE(out.find("CN = rsa.example.org"), std::string::npos) << out;
  EXPECT_NE(out.find("220 mx.example.org ESMTP ringmx"), std::string::npos) << out;
  EXPECT_EQ(s.info.version, "TLSv1.3");
  EXPECT_EQ(s.info.certificate, "rsa");
}

// OpenSSL's X25519 (its own assembly) on one side, the server's X25519
// through the offload on the other: both versions, X25519 the only group.
TEST_F(OpensslInterop, X25519OnlyThroughTheOffloadOnTls13AndTls12) {
  auto ctx = build({});
  for (const std::string version : {"-tls1_3", "-tls1_2"}) {
    OneShotServer server(ctx);
    const std::string out = s_client(server.port(), "-groups X25519 " + version);
    const Served s = server.result();
    ASSERT_TRUE(s.established) << version << ": " << s.failure << "\n" << out;
    EXPECT_NE(out.find("Server Temp Key: X25519"), std::string::npos) << out;
    EXPECT_NE(out.find("220 mx.example.org ESMTP ringmx"), std::string::npos) << out;
    EXPECT_EQ(s.x25519, 2u) << version;  // the server's key pair and the shared secret
  }
}

TEST_F(OpensslInterop, SniPicksTheEcdsaCertificateOnTls12) {
  auto ctx = build({});
  OneShotServer server(ctx);
  const std::string out = s_client(server.port(), "-servername mail.example.com -tls1_2");
  const Served s = server.result();
  ASSERT_TRUE(s.established) << s.failure << "\n" << out;
  EXPECT_NE(out.find("Protocol version: TLSv1.2"), std::string::npos) << out;
  EXPECT_NE(out.find("CN = mail.example.com"), std::string::npos) << out;
  EXPECT_NE(out.find("Ciphersuite: ECDHE-ECDSA-"), std::string::npos) << out;
  EXPECT_EQ(s.info.sni, "mail.example.com");
  EXPECT_EQ(s.info.certificate, "mail");
}

TEST_F(OpensslInterop, ClientOrderWinsWhenConfigured) {
  config::TlsSettings settings;
  settings.protocols = {config::TlsVersion::tls13};
  settings.ciphers = {"TLS13_AES_256_GCM_SHA384", "TLS13_CHACHA20_POLY1305_SHA256"};
  settings.ignore_client_order = false;
  auto ctx = build(settings);
  OneShotServer server(ctx);
  const std::string out =
      s_client(server.port(), "-ciphersuites TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
  const Served s = server.result();
  ASSERT_TRUE(s.established) << s.failure << "\n" << out;
  EXPECT_NE(out.find("Ciphersuite: TLS_CHACHA20_POLY1305_SHA256"), std::string::npos) << out;
}

TEST_F(OpensslInterop, Tls13OnlyRefusesOpensslAskingForTls12) {
  config::TlsSettings settings;
  settings.protocols = {config::TlsVersion::tls13};
  auto ctx = build(settings);
  OneShotServer server(ctx);
  const std::string out = s_client(server.port(), "-servername mail.example.com -tls1_2");
  const Served s = server.result();
  EXPECT_FALSE(s.established) << out;
  EXPECT_EQ(s.info.offered, "TLSv1.2");
  EXPECT_EQ(s.info.sni, "mail.example.com");
  EXPECT_FALSE(s.failure.empty());
  EXPECT_EQ(out.find("Protocol version:"), std::string::npos) << out;
}

}  // namespace
}  // namespace ringmx::tls
