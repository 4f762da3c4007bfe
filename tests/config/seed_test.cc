// The examples of the seed document (shared/seed/listeners.md) load and
// resolve as the document says.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/config.h"
#include "tests/config/test_util.h"

namespace ringmx::config {
namespace {

using namespace std::chrono_literals;
using testing::data_dir;
using testing::has_error;
using testing::kDefaultCertificate;
using testing::listener;
using testing::load;
using testing::load_ok;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ConfigSeed, BindToAllInterfaces) {
  Config c = load_ok(R"(
[server.listener."smtp"]
bind = "0.0.0.0:25"
)");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].bind.at(0).text, "0.0.0.0:25");
  EXPECT_EQ(c.listeners[0].protocol, Protocol::smtp);  // "by default ... SMTP"
}

TEST(ConfigSeed, BindToSeveralAddressesWithTheIpv6PortFixed) {
  Config c = load_ok(R"(
[server.listener."smtp"]
bind = ["10.0.0.21:25", "10.0.0.22:25", "[a:3f::2]:25"]
)");
  const auto& b = c.listeners.at(0).bind;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].text, "10.0.0.21:25");
  EXPECT_EQ(b[1].text, "10.0.0.22:25");
  EXPECT_EQ(b[2].text, "[a:3f::2]:25");
  EXPECT_EQ(b[2].family, AF_INET6);
}

TEST(ConfigSeed, BindExampleAsPublishedIsRefusedWithTheFix) {
  LoadResult r = load(R"([server.listener."smtp"]
bind = ["10.0.0.21:25", "10.0.0.22:25", "a:3f::2"]
)");
  EXPECT_TRUE(has_error(r, "server.listener.smtp.bind", 2, "\"[a:3f::2]:PORT\""));
}

TEST(ConfigSeed, LmtpListener) {
  Config c = load_ok(R"(
[server.listener."lmtp"]
bind = ["0.0.0.0:24"]
protocol = "lmtp"
)");
  EXPECT_EQ(c.listeners.at(0).protocol, Protocol::lmtp);
  EXPECT_EQ(c.listeners.at(0).bind.at(0).port, 24);
}

TEST(ConfigSeed, TlsExampleWithTheMissingQuoteFixed) {
  Config c = load_ok(R"(
[server.tls]
enable = true
implicit = false
timeout = "1m"
certificate = "default"
sni = [ { subject = "otherdomain.org", certificate = "otherdomain_org" },
        { subject = "otherdomain.net", certificate = "otherdomain_net" } ]
protocols = [ "TLSv1.2", "TLSv1.3" ]
ciphers = [ "TLS13_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" ]
ignore-client-order = true

[server.listener.smtp]
bind = "0.0.0.0:25"

[certificate.otherdomain_org]
cert = "file://rsa-cert.pem"
private-key = "file://rsa-key.pem"

[certificate.otherdomain_net]
cert = "file://rsa-cert.pem"
private-key = "file://rsa-key.pem"

# The example's only TLS 1.2 suite is ECDHE_RSA: its certificates are RSA.
[certificate.default]
cert = "file://rsa-cert.pem"
private-key = "file://rsa-key.pem"
)");
  const TlsSettings& t = c.listeners.at(0).tls;
  EXPECT_TRUE(t.enable);
  EXPECT_FALSE(t.implicit);  // STARTTLS
  EXPECT_EQ(t.timeout, 1min);
  EXPECT_EQ(t.certificate, "default");
  ASSERT_EQ(t.sni.size(), 2u);
  EXPECT_EQ(t.sni[0], (SniEntry{"otherdomain.org", "otherdomain_org"}));
  EXPECT_EQ(t.sni[1], (SniEntry{"otherdomain.net", "otherdomain_net"}));
  EXPECT_EQ(t.protocols, (std::vector{TlsVersion::tls12, TlsVersion::tls13}));
  EXPECT_EQ(t.ciphers, (std::vector<std::string>{"TLS13_CHACHA20_POLY1305_SHA256",
                                                 "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"}));
  EXPECT_TRUE(t.ignore_client_order);
  EXPECT_EQ(c.certificates.size(), 3u);
}

TEST(ConfigSeed, CertificateWithInlineCertAndKeyFromAFile) {
  std::string cert = read(data_dir() / "rsa-cert.pem");
  std::filesystem::path key = data_dir() / "rsa-key.pem";
  std::string text =
      "[server.listener.smtp]\nbind = \"0.0.0.0:25\"\n\n[certificate.\"default\"]\n"
      "cert = '''" +
      cert + "'''\nprivate-key = \"file://" + key.string() + "\"\n";
  LoadResult r = load(text);
  ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
  EXPECT_TRUE(r.warnings.empty());  // an inline certificate is public: no warning
  const Certificate& c = r.config->certificates.at("default");
  EXPECT_EQ(c.cert_pem, cert);
  EXPECT_EQ(c.cert_ref, "");
  EXPECT_EQ(c.key_pem, read(key));
  EXPECT_EQ(c.key_ref, "file://" + key.lexically_normal().string());
}

TEST(ConfigSeed, OverrideImplicitTlsForOneListener) {
  Config c = load_ok(R"(
[server.listener."submissions"]
bind = "0.0.0.0:465"
tls.implicit = true

[server.listener."submission"]
bind = "0.0.0.0:587"

[server.tls]
implicit = false
certificate = "default"
)" + std::string(kDefaultCertificate));
  EXPECT_TRUE(listener(c, "submissions").tls.implicit);
  EXPECT_TRUE(listener(c, "submissions").tls.enable);
  EXPECT_FALSE(listener(c, "submission").tls.implicit);
  EXPECT_FALSE(listener(c, "submission").tls.enable);
}

TEST(ConfigSeed, OverrideBacklogForOneListener) {
  Config c = load_ok(R"(
[server.listener."smtp"]
bind = "0.0.0.0:25"
socket.backlog = 2048

[server.listener."other"]
bind = "0.0.0.0:2525"

[server.socket]
backlog = 1024
)");
  EXPECT_EQ(listener(c, "smtp").socket.backlog, 2048);
  EXPECT_EQ(listener(c, "other").socket.backlog, 1024);
}

constexpr std::string_view kFourListeners = R"([server.listener."smtp"]
bind = ["0.0.0.0:25"]

[server.listener."submission"]
bind = ["0.0.0.0:587"]

[server.listener."submissions"]
bind = ["0.0.0.0:465"]
tls.implicit = true

[server.listener."management"]
bind = ["127.0.0.1:8686"]
protocol = "http"
)";

TEST(ConfigSeed, FourListenerExample) {
  // The example leaves out certificates; implicit TLS needs one, so the
  // test adds the default certificate the TLS section of the seed uses.
  Config c = load_ok(std::string(kFourListeners) + "\n[server.tls]\ncertificate = \"default\"\n" +
                     std::string(kDefaultCertificate));
  ASSERT_EQ(c.listeners.size(), 4u);
  EXPECT_EQ(c.listeners[0].id, "smtp");
  EXPECT_EQ(c.listeners[0].bind.at(0).text, "0.0.0.0:25");
  EXPECT_FALSE(c.listeners[0].tls.enable);
  EXPECT_EQ(c.listeners[1].id, "submission");
  EXPECT_EQ(c.listeners[1].bind.at(0).port, 587);
  EXPECT_FALSE(c.listeners[1].tls.implicit);
  EXPECT_EQ(c.listeners[2].id, "submissions");
  EXPECT_EQ(c.listeners[2].bind.at(0).port, 465);
  EXPECT_TRUE(c.listeners[2].tls.implicit);
  EXPECT_TRUE(c.listeners[2].tls.enable);
  EXPECT_EQ(c.listeners[2].tls.certificate, "default");
  EXPECT_EQ(c.listeners[3].id, "management");
  EXPECT_EQ(c.listeners[3].protocol, Protocol::http);
  EXPECT_EQ(c.listeners[3].bind.at(0).text, "127.0.0.1:8686");
  for (const Listener& l : c.listeners) {
    EXPECT_EQ(l.socket.backlog, 1024) << l.id;
    EXPECT_EQ(l.tls.timeout, 1min) << l.id;
  }
}

TEST(ConfigSeed, FourListenerExampleAloneAsksForTheCertificate) {
  LoadResult r = load(kFourListeners);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(has_error(r, "server.listener.submissions.tls.certificate", 7,
                        "TLS is on (implicit) but no certificate is set"));
}

}  // namespace
}  // namespace ringmx::config
