// print(): the resolved TOML, secrets redacted, that loads back to the same
// configuration; and the embedded default.
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/config.h"
#include "tests/config/test_util.h"

namespace ringmx::config {
namespace {

using testing::data_dir;
using testing::load_ok;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// Every key set to something other than its default, so a key that print()
// forgets or writes wrongly changes the reloaded configuration.
std::string everything() {
  return R"(
[server]
hostname = "mx1.example.org"
greeting = "Example \"MX\" \\ ready"
shards = 3
connection-steering = "hash"
max-connections = 500
shutdown-timeout = "90s"
allow-root = true
log.level = "warn"
run-as.user = "ringmx"
run-as.group = "mail"
proxy.timeout = "1500ms"
proxy.trusted-networks = ["10.0.0.0/8", "2001:db8::/32"]
management.auth-token = "server-secret-token-0123"

[server.tls]
certificate = "ecdsa"
timeout = "45s"
ignore-client-order = false

[server.socket]
backlog = 4096
ttl = 64
linger = "3s"

[server.listener.mx]
bind = ["0.0.0.0:25", "[::]:25"]
tls.enable = true
tls.require = true
tls.sni = [ { subject = "*.example.net", certificate = "rsa" },
            { subject = "mx.example.org", certificate = "ecdsa" } ]
tls.protocols = ["TLSv1.3"]
tls.ciphers = ["TLS13_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
socket.reuse-port = false
socket.tos = 184
socket.send-buffer-size = 262144
socket.recv-buffer-size = 524288
proxy.trusted-networks = ["192.0.2.0/24"]

[server.listener.lmtp]
bind = "127.0.0.1:24"
protocol = "lmtp"
hostname = "lmtp.example.org"
greeting = "LMTP here"
max-connections = 10
socket.nodelay = false
socket.reuse-addr = false

[server.listener.management]
bind = "[::1]:8686"
protocol = "http"
auth-token = "listener-secret-token-4567"
tls.implicit = true

[session]
timeout = "2m"
duration = "1h"
transfer-limit = 50000000
ehlo.require = false
rcpt.max-recipients = 20
rcpt.domains = ["example.org", "example.net"]
data.limits.size = 20000000
data.limits.messages = 7
data.limits.received-headers = 30
data.bare-newline = "reject"

[delivery]
mode = "spool"

[spool]
path = "/srv/ringmx/spool"
segment-size = 134217728

[certificate.ecdsa]
cert = "file://ecdsa-cert.pem"
private-key = "file://ecdsa-key.pem"

[certificate."rsa cert"]
cert = "file://rsa-cert.pem"
private-key = "file://rsa-key.pem"
)";
}

std::string everything_fixed() {
  // "rsa cert" exercises a quoted table name; references use it too.
  std::string text = everything();
  size_t at;
  while ((at = text.find("certificate = \"rsa\"")) != std::string::npos)
    text.replace(at, 19, "certificate = \"rsa cert\"");
  return text;
}

Config reload(const std::string& printed) {
  // Another folder on purpose: printed file:// references are absolute.
  LoadResult r = load_string(printed, "printed.toml", "/");
  std::string errors;
  for (const Diagnostic& d : r.errors)
    errors += d.to_string() + "\n";
  EXPECT_TRUE(r.ok()) << errors << "\n--- printed ---\n" << printed;
  return r.config.value_or(Config{});
}

TEST(ConfigPrint, RoundTripGivesTheSameConfiguration) {
  // The secrets are shown so the auth tokens come back; the redacted form
  // is checked below.
  Config original = load_ok(everything_fixed());
  std::string printed = print(original, PrintOptions{.show_secrets = true});
  Config again = reload(printed);
  EXPECT_TRUE(again == original) << printed;
  EXPECT_EQ(again.source_path, "printed.toml");
  // And the printout of the reloaded configuration is the same text, but
  // for the first line naming the source.
  std::string second = print(again, PrintOptions{.show_secrets = true});
  EXPECT_EQ(printed.substr(printed.find('\n')), second.substr(second.find('\n')));
}

TEST(ConfigPrint, EqualityNoticesAChangedValue) {
  // The round-trip test is only worth something if == can fail.
  Config a = load_ok(everything_fixed());
  Config b = a;
  EXPECT_TRUE(a == b);
  b.listeners[1].socket.nodelay = true;
  EXPECT_FALSE(a == b);
  b = a;
  b.session.rcpt_domains.pop_back();
  EXPECT_FALSE(a == b);
  b = a;
  b.certificates.begin()->second.key_pem += "x";
  EXPECT_FALSE(a == b);
  b = a;
  b.source_path = "elsewhere.toml";
  b.listeners[0].origin.line = 999;
  EXPECT_TRUE(a == b);  // where things were written is not the configuration
}

TEST(ConfigPrint, EveryListenerHasEveryTlsAndSocketKey) {
  Config c = load_ok(everything_fixed());
  std::string printed = print(c);
  for (const char* key :
       {"tls.enable = ", "tls.implicit = ", "tls.require = ", "tls.timeout = ",
        "tls.certificate = ", "tls.sni = ", "tls.protocols = ", "tls.ciphers = ",
        "tls.ignore-client-order = ", "socket.reuse-addr = ", "socket.reuse-port = ",
        "socket.nodelay = ", "socket.backlog = ", "socket.linger = "})
    EXPECT_EQ(count(printed, std::string("\n") + key), 3u) << key;
  // Unset optional values are written as comments: absent reloads as unset.
  EXPECT_EQ(count(printed, "\nsocket.ttl = 64"), 3u);
  EXPECT_EQ(count(printed, "\nsocket.tos = 184"), 1u);
  EXPECT_EQ(count(printed, "\n# socket.tos: unset (kernel default)"), 2u);
  EXPECT_NE(printed.find("tls.timeout = \"45s\""), std::string::npos);
  EXPECT_NE(printed.find("tls.sni = [{ subject = \"*.example.net\", certificate = \"rsa cert\" }"),
            std::string::npos);
  EXPECT_NE(printed.find("[certificate.\"rsa cert\"]"), std::string::npos);
}

TEST(ConfigPrint, SecretsAreRedactedAndFileReferencesShown) {
  std::string text = everything_fixed();
  std::string inline_key = read(data_dir() / "ecdsa-key.pem");
  text += "[certificate.inline]\ncert = '''" + read(data_dir() / "ecdsa-cert.pem") +
          "'''\nprivate-key = '''" + inline_key + "'''\n";
  Config c = load_ok(text);
  std::string printed = print(c);
  EXPECT_EQ(printed.find("server-secret-token"), std::string::npos);
  EXPECT_EQ(printed.find("listener-secret-token"), std::string::npos);
  EXPECT_EQ(printed.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(printed.find("management.auth-token = \"<redacted>\""), std::string::npos);
  EXPECT_NE(printed.find("auth-token = \"<redacted>\""), std::string::npos);
  EXPECT_NE(printed.find("private-key = \"<redacted>\""), std::string::npos);
  EXPECT_NE(printed.find("-----BEGIN CERTIFICATE-----"), std::string::npos);  // inline cert: public
  EXPECT_NE(printed.find("private-key = \"file://" +
                         (data_dir() / "ecdsa-key.pem").lexically_normal().string() + "\""),
            std::string::npos);

  // A redacted printout does not load: a bogus secret never reaches a server.
  LoadResult r = load_string(printed, "printed.toml", "/");
  EXPECT_FALSE(r.ok());
  bool redacted_key_refused = false;
  for (const Diagnostic& d : r.errors)
    if (d.key == "certificate.inline.private-key" &&
        d.message.find("redacted by --print-config") != std::string::npos)
      redacted_key_refused = true;
  EXPECT_TRUE(redacted_key_refused);

  // With the secrets shown, the round trip is exact, inline key included.
  Config again = reload(print(c, PrintOptions{.show_secrets = true}));
  EXPECT_TRUE(again == c);
  EXPECT_EQ(again.certificates.at("inline").key_pem, inline_key);
}

TEST(ConfigPrint, SeedFourListenerRoundTrip) {
  Config c = load_ok(R"(
[server.listener."smtp"]
bind = ["0.0.0.0:25"]
[server.listener."submission"]
bind = ["0.0.0.0:587"]
[server.listener."submissions"]
bind = ["0.0.0.0:465"]
tls.implicit = true
[server.listener."management"]
bind = ["127.0.0.1:8686"]
protocol = "http"
[server.tls]
certificate = "default"
)" + std::string(testing::kDefaultCertificate));
  EXPECT_TRUE(reload(print(c)) == c);
}

// Runs `body` with the current directory set to a fresh folder holding
// var/tls/cert.pem and key.pem, as main.cc prepares them on first start.
template <typename F>
void in_fresh_directory(F&& body) {
  std::filesystem::path saved = std::filesystem::current_path();
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("ringmx-default-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "var/tls");
  std::filesystem::copy_file(data_dir() / "ecdsa-cert.pem", dir / "var/tls/cert.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(data_dir() / "ecdsa-key.pem", dir / "var/tls/key.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::current_path(dir);
  body(dir);
  std::filesystem::current_path(saved);
  std::filesystem::remove_all(dir);
}

TEST(ConfigEmbeddedDefault, IsTheFileInTheSourceTree) {
  EXPECT_EQ(embedded_default(),
            read(std::filesystem::path(std::getenv("RINGMX_SOURCE_DIR")) / "config/default.toml"));
}

TEST(ConfigEmbeddedDefault, LoadsWithTheFiveListeners) {
  in_fresh_directory([](const std::filesystem::path& dir) {
    LoadResult r = load_embedded_default();
    ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
    EXPECT_TRUE(r.warnings.empty());
    const Config& c = *r.config;
    EXPECT_EQ(c.source_path, "<embedded default>");
    ASSERT_EQ(c.listeners.size(), 5u);
    struct Expect {
      const char* id;
      const char* bind;
      Protocol protocol;
      bool enable, implicit;
    };
    const Expect expected[] = {{"smtp", "127.0.0.1:2525", Protocol::smtp, false, false},
                               {"submission", "127.0.0.1:5870", Protocol::smtp, true, false},
                               {"submissions", "127.0.0.1:4650", Protocol::smtp, true, true},
                               {"lmtp", "127.0.0.1:2424", Protocol::lmtp, false, false},
                               {"management", "127.0.0.1:8686", Protocol::http, false, false}};
    for (size_t i = 0; i < 5; ++i) {
      const Listener& l = c.listeners[i];
      EXPECT_EQ(l.id, expected[i].id);
      ASSERT_EQ(l.bind.size(), 1u);
      EXPECT_EQ(l.bind[0].text, expected[i].bind);
      EXPECT_EQ(l.protocol, expected[i].protocol) << l.id;
      EXPECT_EQ(l.tls.enable, expected[i].enable) << l.id;
      EXPECT_EQ(l.tls.implicit, expected[i].implicit) << l.id;
      EXPECT_EQ(l.tls.certificate, "default");
    }
    const Certificate& cert = c.certificates.at("default");
    EXPECT_EQ(cert.cert_ref, "file://" + (dir / "var/tls/cert.pem").string());
    EXPECT_EQ(cert.key_ref, "file://" + (dir / "var/tls/key.pem").string());
    EXPECT_EQ(c.spool_path, (dir / "var/spool").string());
    EXPECT_TRUE(reload(print(c)) == c);
  });
}

TEST(ConfigEmbeddedDefault, WithoutTheCertificateSaysWhichFile) {
  std::filesystem::path saved = std::filesystem::current_path();
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ringmx-empty-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::current_path(dir);
  LoadResult r = load_embedded_default();
  std::filesystem::current_path(saved);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.at(0).key, "certificate.default.cert");
  EXPECT_NE(r.errors.at(0).message.find((dir / "var/tls/cert.pem").string()), std::string::npos);
}

}  // namespace
}  // namespace ringmx::config
