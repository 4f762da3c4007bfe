// Every way a value can be wrong: the error names the key and the line
// where it was written, and says what to write instead.
#include <gtest/gtest.h>

#include "config/config.h"
#include "tests/config/test_util.h"

namespace ringmx::config {
namespace {

using testing::has_error;
using testing::kDefaultCertificate;
using testing::line_of;
using testing::load;

struct Case {
  const char* name;
  std::string toml;     // appended to one valid listener
  const char* key;      // the key the error must name
  const char* snippet;  // the error's line is the line of this text
  const char* words;    // the message contains this
};

// gtest prints the case by name, not as bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

constexpr std::string_view kListener = "[server.listener.smtp]\nbind = \"127.0.0.1:2525\"\n";

class ConfigValueErrors : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigValueErrors, NameTheKeyAndLine) {
  const Case& c = GetParam();
  std::string text = std::string(kListener) + c.toml;
  LoadResult r = load(text);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r, c.key, line_of(text, c.snippet), c.words));
}

const Case kCases[] = {
    // server.*
    {"hostname_type", "[server]\nhostname = 1\n", "server.hostname", "hostname",
     "expected a string"},
    {"hostname_form", "[server]\nhostname = \"mx example\"\n", "server.hostname", "hostname",
     "not a host name"},
    {"greeting_newline", "[server]\ngreeting = \"a\\r\\nb\"\n", "server.greeting", "greeting",
     "printable ASCII"},
    {"greeting_empty", "[server]\ngreeting = \"\"\n", "server.greeting", "greeting", "1 to 200"},
    {"shards_range", "[server]\nshards = -1\n", "server.shards", "shards", "0 to 1024"},
    {"steering_choice", "[server]\nconnection-steering = \"rss\"\n", "server.connection-steering",
     "connection-steering", "\"cpu\""},
    {"shards_float", "[server]\nshards = 2.5\n", "server.shards", "shards", "expected an integer"},
    {"max_connections_zero", "[server]\nmax-connections = 0\n", "server.max-connections",
     "max-connections", "1 to 1000000"},
    {"shutdown_timeout_unit", "[server]\nshutdown-timeout = \"30\"\n", "server.shutdown-timeout",
     "shutdown-timeout", "no known unit"},
    {"shutdown_timeout_range", "[server]\nshutdown-timeout = \"2h\"\n", "server.shutdown-timeout",
     "shutdown-timeout", "from \"0s\" to \"1h\""},
    {"allow_root_string", "[server]\nallow-root = \"yes\"\n", "server.allow-root", "allow-root",
     "write allow-root = true or allow-root = false"},
    {"log_level", "[server.log]\nlevel = \"verbose\"\n", "server.log.level", "level",
     "\"error\", \"warn\", \"info\", \"debug\""},
    {"run_as_user", "[server.run-as]\nuser = \"a b\"\n", "server.run-as.user", "user",
     "not an account name"},
    {"run_as_group_type", "[server.run-as]\ngroup = 0\n", "server.run-as.group", "group",
     "expected a string"},
    {"proxy_timeout", "[server.proxy]\ntimeout = \"10ms\"\n", "server.proxy.timeout", "timeout",
     "from \"100ms\" to \"5m\""},
    {"proxy_networks_host_bits", "[server.proxy]\ntrusted-networks = [\"10.1.0.0/8\"]\n",
     "server.proxy.trusted-networks", "trusted-networks", "write \"10.0.0.0/8\""},
    {"proxy_networks_type", "[server.proxy]\ntrusted-networks = \"10.0.0.0/8\"\n",
     "server.proxy.trusted-networks", "trusted-networks", "expected an array of strings"},
    {"management_token_space", "[server.management]\nauth-token = \"a b\"\n",
     "server.management.auth-token", "auth-token", "without spaces"},
    {"management_token_redacted", "[server.management]\nauth-token = \"<redacted>\"\n",
     "server.management.auth-token", "auth-token", "redacted by --print-config"},
    {"server_tls_not_table", "[server]\ntls = true\n", "server.tls", "tls = true",
     "expected a table"},
    // server.listener.<id>.*
    {"listener_protocol", "protocol = \"smtps\"\n", "server.listener.smtp.protocol", "protocol",
     "\"smtp\", \"lmtp\", \"http\""},
    {"listener_max_connections", "max-connections = 2000000\n",
     "server.listener.smtp.max-connections", "max-connections", "1 to 1000000"},
    {"listener_hostname", "hostname = \"-bad-\"\n", "server.listener.smtp.hostname", "hostname",
     "not a host name"},
    {"listener_greeting", "greeting = \"a\\tb\"\n", "server.listener.smtp.greeting", "greeting",
     "printable ASCII"},
    {"listener_token", "auth-token = \"\"\n", "server.listener.smtp.auth-token", "auth-token",
     "empty"},
    {"listener_networks", "proxy.trusted-networks = [\"nope\"]\n",
     "server.listener.smtp.proxy.trusted-networks", "trusted-networks", "not a network"},
    // tls.*
    {"tls_enable_type", "tls.enable = 1\n", "server.listener.smtp.tls.enable", "tls.enable",
     "expected true or false"},
    {"tls_timeout", "tls.timeout = \"1 minute\"\n", "server.listener.smtp.tls.timeout",
     "tls.timeout", "no known unit"},
    {"tls_timeout_range", "[server.tls]\ntimeout = \"1d\"\n", "server.tls.timeout", "timeout",
     "from \"100ms\" to \"5m\""},
    {"tls_protocol_unknown", "[server.tls]\nprotocols = [\"TLSv1.1\"]\n", "server.tls.protocols",
     "protocols", "write \"TLSv1.2\" or \"TLSv1.3\""},
    {"tls_protocol_empty", "[server.tls]\nprotocols = []\n", "server.tls.protocols", "protocols",
     "empty"},
    {"tls_protocol_twice", "[server.tls]\nprotocols = [\"TLSv1.3\", \"TLSv1.3\"]\n",
     "server.tls.protocols", "protocols", "listed twice"},
    {"tls_cipher_unknown", "[server.tls]\nciphers = [\"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305\"]\n",
     "server.tls.ciphers", "ciphers",
     "unknown cipher suite \"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305\"; did you mean "
     "\"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\"?"},
    {"tls_cipher_twice",
     "[server.tls]\nciphers = [\"TLS13_AES_128_GCM_SHA256\", \"TLS_AES_128_GCM_SHA256\"]\n",
     "server.tls.ciphers", "ciphers", "listed twice"},
    {"tls_cipher_no_tls13", "[server.tls]\nciphers = [\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"]\n",
     "server.tls.ciphers", "ciphers", "works with TLSv1.3"},
    {"tls_cipher_listener",
     "tls.protocols = [\"TLSv1.2\"]\ntls.ciphers = [\"TLS13_AES_128_GCM_SHA256\"]\n",
     "server.listener.smtp.tls.ciphers", "tls.ciphers", "works with TLSv1.2"},
    {"tls_cipher_wrong_key_type",
     "[server.tls]\ncertificate = \"default\"\n"
     "ciphers = [\"TLS13_AES_128_GCM_SHA256\", \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"]\n" +
         std::string(kDefaultCertificate),
     "server.tls.ciphers", "ciphers",
     "no TLS 1.2 suite in the list can be used with certificate \"default\" (an EC key)"},
    {"tls_cipher_wrong_key_type_sni",
     "tls.sni = [ { subject = \"a.org\", certificate = \"default\" } ]\n"
     "[server.tls]\nciphers = [\"TLS13_AES_128_GCM_SHA256\", "
     "\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"]\n" +
         std::string(kDefaultCertificate),
     "server.listener.smtp.tls.ciphers", "tls.sni", "(an EC key)"},
    {"tls_sni_not_array", "[server.tls]\nsni = \"a.example.org\"\n", "server.tls.sni", "sni",
     "expected an array"},
    {"tls_sni_subject",
     "[server.tls]\nsni = [ { subject = \"a b\", certificate = \"default\" } ]\n" +
         std::string(kDefaultCertificate),
     "server.tls.sni[0].subject", "sni", "not a host name"},
    {"tls_sni_missing_key", "[server.tls]\nsni = [ { subject = \"a.example.org\" } ]\n",
     "server.tls.sni[0]", "sni", "needs both keys"},
    {"tls_sni_unknown_key",
     "[server.tls]\nsni = [ { subject = \"a.org\", certificate = \"default\", cert = \"x\" } ]\n" +
         std::string(kDefaultCertificate),
     "server.tls.sni[0].cert", "sni", "did you mean \"certificate\"?"},
    {"tls_sni_twice",
     "[server.tls]\nsni = [ { subject = \"a.org\", certificate = \"default\" },\n"
     "  { subject = \"A.org\", certificate = \"default\" } ]\n" +
         std::string(kDefaultCertificate),
     "server.tls.sni[1]", "{ subject = \"A.org\"", "listed twice"},
    {"tls_certificate_missing", "tls.certificate = \"nope\"\n" + std::string(kDefaultCertificate),
     "server.listener.smtp.tls.certificate", "tls.certificate",
     "no certificate named \"nope\"; write one of \"default\""},
    {"tls_sni_certificate_missing",
     "tls.sni = [ { subject = \"a.org\", certificate = \"nope\" } ]\n",
     "server.listener.smtp.tls.sni[0].certificate", "tls.sni", "none is defined"},
    {"tls_enabled_without_certificate", "tls.enable = true\n",
     "server.listener.smtp.tls.certificate", "[server.listener.smtp]", "no certificate is set"},
    {"tls_implicit_without_certificate", "tls.implicit = true\n",
     "server.listener.smtp.tls.certificate", "[server.listener.smtp]", "TLS is on (implicit)"},
    {"tls_implicit_and_enable_false", "tls.implicit = true\ntls.enable = false\n",
     "server.listener.smtp.tls.enable", "tls.enable", "contradicts implicit = true"},
    {"tls_server_implicit_and_enable_false", "[server.tls]\nenable = false\nimplicit = true\n",
     "server.tls.enable", "enable", "contradicts implicit = true"},
    {"tls_inherited_implicit_and_enable_false",
     "tls.enable = false\n[server.tls]\nimplicit = true\ncertificate = \"default\"\n" +
         std::string(kDefaultCertificate),
     "server.listener.smtp.tls.enable", "tls.enable", "write tls.implicit = false"},
    {"tls_require_without_tls", "tls.require = true\n", "server.listener.smtp.tls.require",
     "tls.require", "needs TLS on this listener"},
    // socket.*
    {"socket_backlog_string", "[server.socket]\nbacklog = \"1024\"\n", "server.socket.backlog",
     "backlog", "write backlog = 1024 without quotes"},
    {"socket_backlog_range", "socket.backlog = 0\n", "server.listener.smtp.socket.backlog",
     "socket.backlog", "1 to 65535"},
    {"socket_ttl", "socket.ttl = 0\n", "server.listener.smtp.socket.ttl", "socket.ttl", "1 to 255"},
    {"socket_ttl_high", "[server.socket]\nttl = 256\n", "server.socket.ttl", "ttl", "1 to 255"},
    {"socket_tos", "socket.tos = 256\n", "server.listener.smtp.socket.tos", "socket.tos",
     "0 to 255"},
    {"socket_send_buffer", "socket.send-buffer-size = 100\n",
     "server.listener.smtp.socket.send-buffer-size", "send-buffer-size", "1024 to 1073741824"},
    {"socket_recv_buffer", "[server.socket]\nrecv-buffer-size = \"64k\"\n",
     "server.socket.recv-buffer-size", "recv-buffer-size", "expected an integer"},
    {"socket_linger_fraction", "socket.linger = \"1500ms\"\n", "server.listener.smtp.socket.linger",
     "socket.linger", "whole seconds; write \"2s\""},
    {"socket_linger_integer", "socket.linger = 5\n", "server.listener.smtp.socket.linger",
     "socket.linger", "write linger = \"5s\""},
    {"socket_reuse_port", "socket.reuse-port = \"true\"\n",
     "server.listener.smtp.socket.reuse-port", "reuse-port", "expected true or false"},
    {"socket_nodelay", "[server.socket]\nnodelay = 1\n", "server.socket.nodelay", "nodelay",
     "expected true or false"},
    // session.*
    {"session_timeout", "[session]\ntimeout = 300\n", "session.timeout", "timeout",
     "write timeout = \"300s\""},
    {"session_duration", "[session]\nduration = \"8d\"\n", "session.duration", "duration",
     "to \"7d\""},
    {"session_transfer_limit", "[session]\ntransfer-limit = 0\n", "session.transfer-limit",
     "transfer-limit", "out of range"},
    {"session_ehlo_require", "[session.ehlo]\nrequire = \"no\"\n", "session.ehlo.require",
     "require", "expected true or false"},
    {"session_max_recipients", "[session.rcpt]\nmax-recipients = 0\n",
     "session.rcpt.max-recipients", "max-recipients", "1 to 100000"},
    {"session_domains", "[session.rcpt]\ndomains = [\"example.org\", \"not a domain\"]\n",
     "session.rcpt.domains", "domains", "\"not a domain\" is not a domain"},
    {"session_size", "[session.data.limits]\nsize = -5\n", "session.data.limits.size", "size",
     "out of range"},
    {"session_messages", "[session.data.limits]\nmessages = 0\n", "session.data.limits.messages",
     "messages", "1 to 1000000"},
    {"session_received_headers", "[session.data.limits]\nreceived-headers = 1001\n",
     "session.data.limits.received-headers", "received-headers", "1 to 1000"},
    {"session_bare_newline", "[session.data]\nbare-newline = \"fix\"\n",
     "session.data.bare-newline", "bare-newline", "\"normalize\", \"reject\""},
    // delivery.*, spool.*
    {"delivery_mode", "[delivery]\nmode = \"relay\"\n", "delivery.mode", "mode",
     "\"spool\", \"discard\""},
    {"spool_path_empty", "[spool]\npath = \"\"\n", "spool.path", "path", "empty"},
    {"spool_segment_size", "[spool]\nsegment-size = 1000\n", "spool.segment-size", "segment-size",
     "1048576 to 17179869184"},
    // unknown keys
    {"unknown_socket_key", "socket.backlg = 5\n", "server.listener.smtp.socket.backlg",
     "socket.backlg", "did you mean \"backlog\"?"},
    {"unknown_key_one_table_up", "backlog = 5\n", "server.listener.smtp.backlog", "backlog = 5",
     "did you mean \"socket.backlog\"?"},
    {"unknown_server_table", "[server.listner.x]\nbind = \"1.2.3.4:1\"\n", "server.listner",
     "listner", "did you mean \"listener\"?"},
    {"unknown_top_level", "[sesion]\ntimeout = \"1m\"\n", "sesion", "[sesion]",
     "did you mean \"session\"?"},
    {"unknown_tls_key", "[server.tls]\nimplict = true\n", "server.tls.implict", "implict",
     "did you mean \"implicit\"?"},
    {"unknown_session_key", "[session.data.limits]\nmax-size = 5\n", "session.data.limits.max-size",
     "max-size", "did you mean \"size\"?"},
    {"unknown_far_from_everything", "[spool]\nzzzzzzzz = 1\n", "spool.zzzzzzzz", "zzzzzzzz",
     "the keys here are: path, segment-size"},
    {"unknown_certificate_key", "[certificate.x]\ncert = \"x\"\nkey = \"y\"\n", "certificate.x.key",
     "key = ", "did you mean \"private-key\"?"},
};

INSTANTIATE_TEST_SUITE_P(Config, ConfigValueErrors, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigListenerErrors, BareIpv6FromTheSeedShowsBracketsAndPort) {
  std::string text = R"([server.listener."smtp"]
bind = ["10.0.0.21:25", "10.0.0.22:25", "a:3f::2"]
)";
  LoadResult r = load(text);
  ASSERT_TRUE(has_error(r, "server.listener.smtp.bind", 2, "write \"[a:3f::2]:PORT\""));
  EXPECT_EQ(r.errors[0].to_string(),
            "test.toml:2:41: error: server.listener.smtp.bind: \"a:3f::2\" is an IPv6 address "
            "without a port; write \"[a:3f::2]:PORT\", e.g. \"[a:3f::2]:25\"");
}

TEST(ConfigListenerErrors, MissingBind) {
  std::string text = "[server.listener.smtp]\nprotocol = \"smtp\"\n";
  EXPECT_TRUE(has_error(load(text), "server.listener.smtp.bind", 1, "needs an address"));
}

TEST(ConfigListenerErrors, EmptyBind) {
  std::string text = "[server.listener.smtp]\nbind = []\n";
  EXPECT_TRUE(has_error(load(text), "server.listener.smtp.bind", 2, "empty"));
}

TEST(ConfigListenerErrors, NoListenerAtAll) {
  LoadResult r = load("[server]\ngreeting = \"hi\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.at(0).key, "server.listener");
  EXPECT_NE(r.errors.at(0).message.find("no listener"), std::string::npos);
}

TEST(ConfigListenerErrors, ListenerIsNotATable) {
  std::string text = std::string(kListener) + "[server.listener]\nsmtp2 = \"0.0.0.0:25\"\n";
  // A key under [server.listener] that is not a table: not a listener.
  LoadResult r = load(text);
  EXPECT_TRUE(has_error(r, "server.listener.smtp2", 4, "expected a table"));
}

TEST(ConfigListenerErrors, IdWithSpaces) {
  std::string text = "[server.listener.\"my smtp\"]\nbind = \"127.0.0.1:25\"\n";
  EXPECT_TRUE(has_error(load(text), "server.listener.\"my smtp\"", 1, "listener id"));
}

TEST(ConfigListenerErrors, SameAddressAndPortOnTwoListeners) {
  std::string text = R"([server.listener.smtp]
bind = ["0.0.0.0:25"]

[server.listener.other]
bind = ["127.0.0.1:587", "0.0.0.0:25"]
)";
  LoadResult r = load(text);
  EXPECT_TRUE(has_error(r, "server.listener.other.bind", 5,
                        "0.0.0.0:25 is also bound by listener \"smtp\" (line 1)"));
}

TEST(ConfigListenerErrors, SameAddressWrittenTwoWays) {
  std::string text = R"([server.listener.a]
bind = "[::1]:25"
[server.listener.b]
bind = "[0:0::1]:25"
)";
  EXPECT_TRUE(has_error(load(text), "server.listener.b.bind", 4, "[::1]:25 is also bound"));
}

TEST(ConfigListenerErrors, WildcardOverlapsSpecificAddress) {
  std::string text = R"([server.listener.a]
bind = "0.0.0.0:25"
[server.listener.b]
bind = "10.0.0.1:25"
)";
  EXPECT_TRUE(has_error(load(text), "server.listener.b.bind", 4,
                        "10.0.0.1:25 overlaps 0.0.0.0:25 of listener \"a\""));
}

TEST(ConfigListenerErrors, SameAddressTwiceInOneListener) {
  std::string text = "[server.listener.a]\nbind = [\"127.0.0.1:25\", \"127.0.0.1:25\"]\n";
  EXPECT_TRUE(has_error(load(text), "server.listener.a.bind", 2, "also bound by listener \"a\""));
}

TEST(ConfigListenerErrors, DuplicateIsFoundEvenBesideATypo) {
  // One bad address in the list does not hide the duplicate next to it.
  std::string text = R"([server.listener.a]
bind = ["10.0.0.21:25", "a:3f::2"]
[server.listener.b]
bind = "10.0.0.21:25"
)";
  LoadResult r = load(text);
  EXPECT_TRUE(has_error(r, "server.listener.a.bind", 2, "[a:3f::2]:PORT"));
  EXPECT_TRUE(has_error(r, "server.listener.b.bind", 4, "also bound"));
}

TEST(ConfigSyntaxErrors, SeedTlsExampleAsPublishedHasFileLineColumn) {
  // The seed's TLS example is missing a quote before TLSv1.3.
  std::string text = R"([server.tls]
enable = true
protocols = [ "TLSv1.2", TLSv1.3" ]
)";
  LoadResult r = load(text);
  ASSERT_EQ(r.errors.size(), 1u);
  const Diagnostic& d = r.errors[0];
  EXPECT_EQ(d.line, 3u);
  EXPECT_GT(d.column, 20u);
  EXPECT_TRUE(d.to_string().starts_with("test.toml:3:")) << d.to_string();
  EXPECT_NE(d.to_string().find(": error: TOML syntax:"), std::string::npos) << d.to_string();
}

TEST(ConfigCollection, UpToTwentyErrorsAreReported) {
  std::string text(kListener);
  for (int i = 0; i < 30; ++i)
    text += "unknown" + std::to_string(i) + " = 1\n";
  LoadResult r = load(text);
  EXPECT_EQ(r.errors.size(), kMaxErrors);
  EXPECT_EQ(r.errors.front().line, 3u);
}

TEST(ConfigCollection, ErrorsFromDifferentSectionsAllAppear) {
  std::string text = std::string(kListener) + R"(socket.backlog = 0
[server.socket]
ttl = 0
[session]
timeout = "5"
)";
  LoadResult r = load(text);
  EXPECT_EQ(r.errors.size(), 3u);
  EXPECT_TRUE(has_error(r, "server.listener.smtp.socket.backlog", 3));
  EXPECT_TRUE(has_error(r, "server.socket.ttl", 5));
  EXPECT_TRUE(has_error(r, "session.timeout", 7));
}

TEST(ConfigCollection, ErrorsComeInFileOrder) {
  // Certificates are read before the server keys; the report still goes
  // top down through the file.
  std::string text = std::string(kListener) + R"(socket.ttl = 0
[certificate.x]
cert = "not pem"
private-key = "file://ecdsa-key.pem"
)";
  LoadResult r = load(text);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].key, "server.listener.smtp.socket.ttl");
  EXPECT_EQ(r.errors[1].key, "certificate.x.cert");
}

TEST(ConfigCollection, ShortTokenIsAWarning) {
  std::string text = std::string(kListener) + "auth-token = \"secret\"\n";
  LoadResult r = load(text);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].key, "server.listener.smtp.auth-token");
  EXPECT_EQ(r.warnings[0].line, 3u);
  EXPECT_NE(r.warnings[0].message.find("6-character token is easy to guess"), std::string::npos);
}

TEST(ConfigCollection, MissingConfigurationFile) {
  LoadResult r = load_file("/nonexistent/ringmx.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "/nonexistent/ringmx.toml: error: cannot read the configuration: No such file or "
            "directory; check the path given to --config");
}

}  // namespace
}  // namespace ringmx::config
