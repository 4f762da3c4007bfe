// Every key: its default and its accepted forms (tls.* and socket.*
// overrides: tls_socket_keys_test.cc).
#include <gtest/gtest.h>

#include "config/config.h"
#include "tests/config/test_util.h"

namespace ringmx::config {
namespace {

using namespace std::chrono_literals;
using testing::kDefaultCertificate;
using testing::kOneListener;
using testing::listener;
using testing::load_ok;
using testing::with_listener;

TEST(ConfigDefaults, ServerSessionDeliveryAndSpool) {
  Config c = load_ok(kOneListener);
  EXPECT_FALSE(c.hostname.empty());
  EXPECT_EQ(c.greeting, "ringmx ESMTP");
  EXPECT_EQ(c.shards, 0u);
  EXPECT_EQ(c.steering, Steering::cpu);
  EXPECT_EQ(c.max_connections, 8192u);
  EXPECT_EQ(c.shutdown_timeout, 30s);
  EXPECT_EQ(c.proxy_timeout, 5s);
  EXPECT_TRUE(c.proxy_trusted_networks.empty());
  EXPECT_EQ(c.log_level, LogLevel::info);
  EXPECT_FALSE(c.run_as_user);
  EXPECT_FALSE(c.run_as_group);
  EXPECT_FALSE(c.allow_root);
  EXPECT_FALSE(c.management_auth_token);

  EXPECT_EQ(c.session.timeout, 5min);
  EXPECT_EQ(c.session.duration, 10min);
  EXPECT_EQ(c.session.transfer_limit, 262144000u);
  EXPECT_TRUE(c.session.ehlo_require);
  EXPECT_EQ(c.session.max_recipients, 100u);
  EXPECT_TRUE(c.session.rcpt_domains.empty());
  EXPECT_EQ(c.session.max_message_size, 104857600u);
  EXPECT_EQ(c.session.max_messages, 100u);
  EXPECT_EQ(c.session.max_received_headers, 50u);
  EXPECT_EQ(c.session.bare_newline, BareNewline::normalize);

  EXPECT_EQ(c.delivery_mode, DeliveryMode::spool);
  EXPECT_EQ(c.spool_path, (testing::data_dir() / "var/spool").lexically_normal().string());
  EXPECT_EQ(c.segment_size, 64u << 20);
  EXPECT_TRUE(c.certificates.empty());
}

TEST(ConfigDefaults, ListenerTlsAndSocket) {
  Config c = load_ok(kOneListener);
  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_EQ(l.id, "smtp");
  EXPECT_EQ(l.protocol, Protocol::smtp);
  EXPECT_EQ(l.hostname, c.hostname);
  EXPECT_EQ(l.greeting, "ringmx ESMTP");
  EXPECT_EQ(l.max_connections, 8192u);
  EXPECT_FALSE(l.auth_token);
  EXPECT_TRUE(l.proxy_trusted_networks.empty());
  EXPECT_EQ(l.origin.line, 2u);

  EXPECT_FALSE(l.tls.enable);
  EXPECT_FALSE(l.tls.implicit);
  EXPECT_FALSE(l.tls.require);
  EXPECT_EQ(l.tls.timeout, 1min);
  EXPECT_EQ(l.tls.certificate, "");
  EXPECT_TRUE(l.tls.sni.empty());
  EXPECT_EQ(l.tls.protocols, (std::vector{TlsVersion::tls12, TlsVersion::tls13}));
  EXPECT_TRUE(l.tls.ciphers.empty());
  EXPECT_TRUE(l.tls.ignore_client_order);

  EXPECT_TRUE(l.socket.reuse_addr);
  EXPECT_TRUE(l.socket.reuse_port);
  EXPECT_TRUE(l.socket.nodelay);
  EXPECT_EQ(l.socket.backlog, 1024);
  EXPECT_FALSE(l.socket.ttl);
  EXPECT_FALSE(l.socket.tos);
  EXPECT_FALSE(l.socket.send_buffer_size);
  EXPECT_FALSE(l.socket.recv_buffer_size);
  EXPECT_FALSE(l.socket.linger);
}

TEST(ConfigServerKeys, EveryKeySet) {
  Config c = load_ok(with_listener(R"(
[server]
hostname = "mx1.example.org"
greeting = "Example MX"
shards = 4
connection-steering = "hash"
max-connections = 100
shutdown-timeout = "2m"
allow-root = true
log.level = "debug"
run-as.user = "ringmx"
run-as.group = "mail"
proxy.timeout = "500ms"
proxy.trusted-networks = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]
management.auth-token = "0123456789abcdef0123"
)"));
  EXPECT_EQ(c.hostname, "mx1.example.org");
  EXPECT_EQ(c.greeting, "Example MX");
  EXPECT_EQ(c.shards, 4u);
  EXPECT_EQ(c.steering, Steering::hash);
  EXPECT_EQ(c.max_connections, 100u);
  EXPECT_EQ(c.shutdown_timeout, 2min);
  EXPECT_TRUE(c.allow_root);
  EXPECT_EQ(c.log_level, LogLevel::debug);
  EXPECT_EQ(c.run_as_user, "ringmx");
  EXPECT_EQ(c.run_as_group, "mail");
  EXPECT_EQ(c.proxy_timeout, 500ms);
  ASSERT_EQ(c.proxy_trusted_networks.size(), 3u);
  EXPECT_EQ(c.proxy_trusted_networks[2].text, "192.0.2.1/32");
  EXPECT_EQ(c.management_auth_token, "0123456789abcdef0123");
  // The server values are the listener's defaults.
  const Listener& l = c.listeners.at(0);
  EXPECT_EQ(l.hostname, "mx1.example.org");
  EXPECT_EQ(l.greeting, "Example MX");
  EXPECT_EQ(l.max_connections, 100u);
  EXPECT_EQ(l.proxy_trusted_networks, c.proxy_trusted_networks);
  EXPECT_EQ(l.auth_token, "0123456789abcdef0123");
}

TEST(ConfigServerKeys, LogLevels) {
  for (auto [text, level] : {std::pair{"error", LogLevel::error},
                             {"warn", LogLevel::warn},
                             {"info", LogLevel::info},
                             {"debug", LogLevel::debug}}) {
    Config c = load_ok(with_listener(std::string("[server.log]\nlevel = \"") + text + "\"\n"));
    EXPECT_EQ(c.log_level, level) << text;
  }
}

TEST(ConfigListenerKeys, OwnValuesBeatServerDefaults) {
  Config c = load_ok(R"(
[server]
hostname = "mx.example.org"
greeting = "Server greeting"
max-connections = 50
proxy.trusted-networks = ["10.0.0.0/8"]
management.auth-token = "server-token-0123456789"

[server.listener.smtp]
bind = "127.0.0.1:25"
hostname = "smtp.example.org"
greeting = "Listener greeting"
max-connections = 7
proxy.trusted-networks = ["192.0.2.0/24"]
auth-token = "listener-token-0123456789"

[server.listener.other]
bind = "127.0.0.1:26"
)");
  const Listener& smtp = listener(c, "smtp");
  EXPECT_EQ(smtp.hostname, "smtp.example.org");
  EXPECT_EQ(smtp.greeting, "Listener greeting");
  EXPECT_EQ(smtp.max_connections, 7u);
  ASSERT_EQ(smtp.proxy_trusted_networks.size(), 1u);  // replaces, does not add
  EXPECT_EQ(smtp.proxy_trusted_networks[0].text, "192.0.2.0/24");
  EXPECT_EQ(smtp.auth_token, "listener-token-0123456789");
  const Listener& other = listener(c, "other");
  EXPECT_EQ(other.hostname, "mx.example.org");
  EXPECT_EQ(other.greeting, "Server greeting");
  EXPECT_EQ(other.max_connections, 50u);
  ASSERT_EQ(other.proxy_trusted_networks.size(), 1u);
  EXPECT_EQ(other.proxy_trusted_networks[0].text, "10.0.0.0/8");
  EXPECT_EQ(other.auth_token, "server-token-0123456789");
}

TEST(ConfigListenerKeys, EmptyTrustedNetworksTurnsProxyOffForOneListener) {
  Config c = load_ok(R"(
[server]
proxy.trusted-networks = ["10.0.0.0/8"]
[server.listener.smtp]
bind = "127.0.0.1:25"
proxy.trusted-networks = []
)");
  EXPECT_TRUE(c.listeners.at(0).proxy_trusted_networks.empty());
}

TEST(ConfigListenerKeys, BindOneStringOrMany) {
  Config c = load_ok(R"(
[server.listener.a]
bind = "0.0.0.0:25"
[server.listener.b]
bind = ["10.0.0.21:587", "10.0.0.22:587", "[::1]:587", "[::]:465"]
)");
  ASSERT_EQ(listener(c, "a").bind.size(), 1u);
  EXPECT_EQ(listener(c, "a").bind[0].text, "0.0.0.0:25");
  const auto& b = listener(c, "b").bind;
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].text, "10.0.0.21:587");
  EXPECT_EQ(b[2].family, AF_INET6);
  EXPECT_EQ(b[3].text, "[::]:465");
}

TEST(ConfigListenerKeys, Protocols) {
  Config c = load_ok(R"(
[server.listener.s]
bind = "127.0.0.1:1"
protocol = "smtp"
[server.listener.l]
bind = "127.0.0.1:2"
protocol = "lmtp"
[server.listener.h]
bind = "127.0.0.1:3"
protocol = "http"
)");
  EXPECT_EQ(listener(c, "s").protocol, Protocol::smtp);
  EXPECT_EQ(listener(c, "l").protocol, Protocol::lmtp);
  EXPECT_EQ(listener(c, "h").protocol, Protocol::http);
}

TEST(ConfigListenerKeys, FileOrderIsKept) {
  Config c = load_ok(R"(
[server.listener.zeta]
bind = "127.0.0.1:1"
[server.listener.alpha]
bind = "127.0.0.1:2"
[server.listener.mid]
bind = "127.0.0.1:3"
)");
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].id, "zeta");
  EXPECT_EQ(c.listeners[1].id, "alpha");
  EXPECT_EQ(c.listeners[2].id, "mid");
}

TEST(ConfigListenerKeys, DifferentPortsAndFamiliesMayShareAnAddress) {
  Config c = load_ok(R"(
[server.listener.a]
bind = ["0.0.0.0:25", "[::]:25"]
[server.listener.b]
bind = ["0.0.0.0:587", "127.0.0.1:0"]
[server.listener.c]
bind = "127.0.0.1:0"
)");
  EXPECT_EQ(c.listeners.size(), 3u);
}

TEST(ConfigSessionKeys, EveryKeySet) {
  Config c = load_ok(with_listener(R"(
[session]
timeout = "30s"
duration = "1h"
transfer-limit = 1000000
ehlo.require = false
rcpt.max-recipients = 5
rcpt.domains = ["Example.org", "example.NET.", "example.org"]
data.limits.size = 500000
data.limits.messages = 3
data.limits.received-headers = 20
data.bare-newline = "reject"
)"));
  const SessionSettings& s = c.session;
  EXPECT_EQ(s.timeout, 30s);
  EXPECT_EQ(s.duration, 1h);
  EXPECT_EQ(s.transfer_limit, 1000000u);
  EXPECT_FALSE(s.ehlo_require);
  EXPECT_EQ(s.max_recipients, 5u);
  EXPECT_EQ(s.rcpt_domains, (std::vector<std::string>{"example.org", "example.net"}));
  EXPECT_EQ(s.max_message_size, 500000u);
  EXPECT_EQ(s.max_messages, 3u);
  EXPECT_EQ(s.max_received_headers, 20u);
  EXPECT_EQ(s.bare_newline, BareNewline::reject);
}

TEST(ConfigSessionKeys, DuplicateDomainIsAWarning) {
  LoadResult r = testing::load(with_listener("[session.rcpt]\ndomains = [\"a.org\", \"A.org\"]\n"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].key, "session.rcpt.domains");
  EXPECT_EQ(r.warnings[0].line, 5u);
  EXPECT_EQ(r.config->session.rcpt_domains, std::vector<std::string>{"a.org"});
}

TEST(ConfigSessionKeys, MessageSizeAboveTransferLimitIsAWarning) {
  LoadResult r =
      testing::load(with_listener("[session]\ntransfer-limit = 1000\ndata.limits.size = 2000\n"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].key, "session.data.limits.size");
}

TEST(ConfigStorageKeys, DeliveryAndSpool) {
  LoadResult r = testing::load(with_listener(R"(
[delivery]
mode = "discard"
[spool]
path = "/var/spool/ringmx/"
segment-size = 1048576
)"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->delivery_mode, DeliveryMode::discard);
  EXPECT_EQ(r.config->spool_path, "/var/spool/ringmx");
  EXPECT_EQ(r.config->segment_size, 1u << 20);
  ASSERT_EQ(r.warnings.size(), 1u);  // discard throws mail away: say so
  EXPECT_EQ(r.warnings[0].key, "delivery.mode");
}

TEST(ConfigStorageKeys, RelativeSpoolPathResolvesAgainstTheConfigFolder) {
  Config c = load_ok(with_listener("[spool]\npath = \"queue/../spool\"\n"));
  EXPECT_EQ(c.spool_path, (testing::data_dir() / "spool").lexically_normal().string());
  EXPECT_TRUE(std::filesystem::path(c.spool_path).is_absolute());
}

TEST(ConfigWarnings, NoneForAPlainConfiguration) {
  LoadResult r = testing::load(kOneListener);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.warnings.empty());
}

}  // namespace
}  // namespace ringmx::config
