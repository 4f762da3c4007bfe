// The tls.* and socket.* keys: each per-listener override beats the
// server.* default while the other keys keep theirs.
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

// Each tls.* key: the server default reaches a listener that does not
// override it, and the override wins on the listener that does.
TEST(ConfigTlsKeys, EachOverrideBeatsTheServerDefault) {
  std::string text = R"(
[server.tls]
enable = true
require = true
timeout = "30s"
certificate = "default"
sni = [ { subject = "a.example.org", certificate = "default" } ]
protocols = ["TLSv1.3"]
ciphers = ["TLS13_AES_128_GCM_SHA256"]
ignore-client-order = false

[server.listener.plain]
bind = "127.0.0.1:1"

[server.listener.custom]
bind = "127.0.0.1:2"
tls.implicit = true
tls.require = false
tls.timeout = "10s"
tls.certificate = "rsa"
tls.sni = [ { subject = "*.Example.NET", certificate = "rsa" } ]
tls.protocols = ["TLSv1.2", "TLSv1.3"]
tls.ciphers = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]
tls.ignore-client-order = true

[certificate.rsa]
cert = "file://rsa-cert.pem"
private-key = "file://rsa-key.pem"
)" + std::string(kDefaultCertificate);
  Config c = load_ok(text);
  const TlsSettings& d = listener(c, "plain").tls;
  EXPECT_TRUE(d.enable);
  EXPECT_FALSE(d.implicit);
  EXPECT_TRUE(d.require);
  EXPECT_EQ(d.timeout, 30s);
  EXPECT_EQ(d.certificate, "default");
  ASSERT_EQ(d.sni.size(), 1u);
  EXPECT_EQ(d.sni[0], (SniEntry{"a.example.org", "default"}));
  EXPECT_EQ(d.protocols, std::vector{TlsVersion::tls13});
  EXPECT_EQ(d.ciphers, std::vector<std::string>{"TLS13_AES_128_GCM_SHA256"});
  EXPECT_FALSE(d.ignore_client_order);

  const TlsSettings& o = listener(c, "custom").tls;
  EXPECT_TRUE(o.enable);  // implicit implies enable
  EXPECT_TRUE(o.implicit);
  EXPECT_FALSE(o.require);
  EXPECT_EQ(o.timeout, 10s);
  EXPECT_EQ(o.certificate, "rsa");
  ASSERT_EQ(o.sni.size(), 1u);
  EXPECT_EQ(o.sni[0], (SniEntry{"*.example.net", "rsa"}));  // subjects compare in lower case
  EXPECT_EQ(o.protocols, (std::vector{TlsVersion::tls12, TlsVersion::tls13}));
  EXPECT_EQ(o.ciphers.size(), 2u);
  EXPECT_TRUE(o.ignore_client_order);
}

TEST(ConfigTlsKeys, SingleOverrideLeavesTheOtherDefaults) {
  Config c = load_ok(R"(
[server.tls]
timeout = "20s"
protocols = ["TLSv1.3"]
[server.listener.smtp]
bind = "127.0.0.1:1"
tls.timeout = "5s"
)");
  const TlsSettings& t = c.listeners.at(0).tls;
  EXPECT_EQ(t.timeout, 5s);
  EXPECT_EQ(t.protocols, std::vector{TlsVersion::tls13});
  EXPECT_FALSE(t.enable);
  EXPECT_TRUE(t.ignore_client_order);
}

TEST(ConfigTlsKeys, EnableAloneMeansStartTls) {
  Config c = load_ok(with_listener(R"(tls.enable = true
tls.certificate = "default"
)" + std::string(kDefaultCertificate)));
  EXPECT_TRUE(c.listeners.at(0).tls.enable);
  EXPECT_FALSE(c.listeners.at(0).tls.implicit);
}

TEST(ConfigTlsKeys, ListenerCanTurnOffInheritedImplicitTls) {
  Config c = load_ok(R"(
[server.tls]
implicit = true
certificate = "default"
[server.listener.plain]
bind = "127.0.0.1:1"
tls.implicit = false
[server.listener.tls]
bind = "127.0.0.1:2"
)" + std::string(kDefaultCertificate));
  EXPECT_FALSE(listener(c, "plain").tls.enable);
  EXPECT_FALSE(listener(c, "plain").tls.implicit);
  EXPECT_TRUE(listener(c, "tls").tls.enable);
  EXPECT_TRUE(listener(c, "tls").tls.implicit);
}

TEST(ConfigTlsKeys, ServerEnableFalseDoesNotFightListenerImplicit) {
  Config c = load_ok(R"(
[server.tls]
enable = false
certificate = "default"
[server.listener.submissions]
bind = "127.0.0.1:465"
tls.implicit = true
)" + std::string(kDefaultCertificate));
  EXPECT_TRUE(c.listeners.at(0).tls.enable);
}

TEST(ConfigListenerKeys, TablesMayBeWrittenEveryTomlWay) {
  // Dotted keys, an inline table and a [header] table mean the same.
  Config c = load_ok(R"(
[server.listener.dotted]
bind = "127.0.0.1:1"
socket.backlog = 7
[server.listener.inline]
bind = "127.0.0.1:2"
socket = { backlog = 7 }
[server.listener.header]
bind = "127.0.0.1:3"
[server.listener.header.socket]
backlog = 7
)");
  ASSERT_EQ(c.listeners.size(), 3u);
  for (const Listener& l : c.listeners)
    EXPECT_EQ(l.socket.backlog, 7) << l.id;
}

TEST(ConfigSocketKeys, EachOverrideBeatsTheServerDefault) {
  Config c = load_ok(R"(
[server.socket]
reuse-addr = false
reuse-port = false
nodelay = false
backlog = 10
ttl = 64
tos = 16
send-buffer-size = 65536
recv-buffer-size = 131072
linger = "5s"

[server.listener.plain]
bind = "127.0.0.1:1"

[server.listener.custom]
bind = "127.0.0.1:2"
socket.reuse-addr = true
socket.reuse-port = true
socket.nodelay = true
socket.backlog = 2048
socket.ttl = 1
socket.tos = 255
socket.send-buffer-size = 1024
socket.recv-buffer-size = 1073741824
socket.linger = "0s"
)");
  const SocketSettings& d = listener(c, "plain").socket;
  EXPECT_FALSE(d.reuse_addr);
  EXPECT_FALSE(d.reuse_port);
  EXPECT_FALSE(d.nodelay);
  EXPECT_EQ(d.backlog, 10);
  EXPECT_EQ(d.ttl, 64);
  EXPECT_EQ(d.tos, 16);
  EXPECT_EQ(d.send_buffer_size, 65536);
  EXPECT_EQ(d.recv_buffer_size, 131072);
  EXPECT_EQ(d.linger, Duration(5s));

  const SocketSettings& o = listener(c, "custom").socket;
  EXPECT_TRUE(o.reuse_addr);
  EXPECT_TRUE(o.reuse_port);
  EXPECT_TRUE(o.nodelay);
  EXPECT_EQ(o.backlog, 2048);
  EXPECT_EQ(o.ttl, 1);
  EXPECT_EQ(o.tos, 255);
  EXPECT_EQ(o.send_buffer_size, 1024);
  EXPECT_EQ(o.recv_buffer_size, 1 << 30);
  EXPECT_EQ(o.linger, Duration(0s));  // set to zero, not unset: close with RST
}

TEST(ConfigSocketKeys, SingleOverrideLeavesTheOtherDefaults) {
  Config c = load_ok(R"(
[server.socket]
ttl = 32
[server.listener.smtp]
bind = "127.0.0.1:1"
socket.tos = 8
)");
  const SocketSettings& s = c.listeners.at(0).socket;
  EXPECT_EQ(s.tos, 8);
  EXPECT_EQ(s.ttl, 32);
  EXPECT_EQ(s.backlog, 1024);
  EXPECT_FALSE(s.linger);
}

}  // namespace
}  // namespace ringmx::config
