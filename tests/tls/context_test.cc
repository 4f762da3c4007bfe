// Contexts, SNI, version and cipher policy, seen from a real wolfSSL client
// handshaking in memory with the server Session.
#include "tls/context.h"

#include <gtest/gtest.h>

#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

using testing::certificate;
using testing::ClientOptions;
using testing::KeyKind;
using testing::make_self_signed;
using testing::MemClient;
using testing::PumpResult;

config::TlsSettings tls_with(std::string cert) {
  config::TlsSettings s;
  s.enable = true;
  s.certificate = std::move(cert);
  return s;
}

struct Handshook {
  PumpResult result;
  SessionInfo server;
  std::string client_version, client_cipher, client_cn;
  std::string failure;
};

Handshook handshake(std::shared_ptr<const ServerContext> ctx, const ClientOptions& opts) {
  Session server(ctx, "192.0.2.7:40000");
  MemClient client(opts);
  Handshook h{testing::pump(server, client), server.info(), {}, {}, {}, server.failure()};
  if (h.result == PumpResult::established) {
    h.client_version = client.version();
    h.client_cipher = client.cipher();
    h.client_cn = client.peer_common_name();
  }
  return h;
}

class Contexts : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_["ec"] = certificate("ec", make_self_signed(KeyKind::ecdsa_p256, "mx.example.org"));
    certs_["rsa"] = certificate("rsa", make_self_signed(KeyKind::rsa_2048, "rsa.example.org"));
    certs_["mail"] = certificate("mail", make_self_signed(KeyKind::ecdsa_p256, "mail.example.com"));
    certs_["wild"] = certificate("wild", make_self_signed(KeyKind::rsa_2048, "any.example.net"));
  }
  std::shared_ptr<const ServerContext> build(const config::TlsSettings& s) {
    auto r = ServerContext::build("smtp", s, certs_);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.context;
  }
  std::map<std::string, config::Certificate> certs_;
};

TEST_F(Contexts, EcdsaDefaultNegotiatesTls13) {
  auto ctx = build(tls_with("ec"));
  ASSERT_TRUE(ctx);
  auto h = handshake(ctx, {});
  ASSERT_EQ(h.result, PumpResult::established) << h.failure;
  EXPECT_EQ(h.server.version, "TLSv1.3");
  EXPECT_EQ(h.server.cipher, "TLS_AES_128_GCM_SHA256");  // first in the default order
  EXPECT_EQ(h.server.offered, "TLSv1.3");
  EXPECT_EQ(h.server.certificate, "ec");
  EXPECT_EQ(h.client_cn, "mx.example.org");
}

TEST_F(Contexts, RsaDefaultNegotiatesTls12WhenClientCapsAt12) {
  auto ctx = build(tls_with("rsa"));
  ASSERT_TRUE(ctx);
  auto h = handshake(ctx, {.max_version = TLS1_2_VERSION});
  ASSERT_EQ(h.result, PumpResult::established) << h.failure;
  EXPECT_EQ(h.server.version, "TLSv1.2");
  EXPECT_EQ(h.server.cipher, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(h.server.offered, "TLSv1.2");
  EXPECT_EQ(h.client_cn, "rsa.example.org");
}

TEST_F(Contexts, ChainIsServedLeafFirstAndVerifiesAgainstItsCa) {
  const auto chain = testing::make_chain(KeyKind::ecdsa_p256, "chained.example.org");
  config::Certificate c;
  c.name = "chained";
  c.cert_pem = chain.cert;
  c.key_pem = chain.key;
  certs_["chained"] = c;
  auto ctx = build(tls_with("chained"));
  ASSERT_TRUE(ctx);
  Session server(ctx, "192.0.2.7:40000");
  MemClient client({.trust_pem = chain.ca});
  ASSERT_EQ(testing::pump(server, client), PumpResult::established) << server.failure();
  EXPECT_EQ(client.peer_common_name(), "chained.example.org");
  EXPECT_EQ(client.peer_chain_length(), 2);
}

TEST_F(Contexts, KeyThatDoesNotMatchItsCertificateIsRefusedByName) {
  config::Certificate bad = certs_["ec"];
  bad.name = "bad";
  bad.key_pem = certs_["mail"].key_pem;  // another P-256 key
  bad.key_ref = "file:///etc/ringmx/bad.key";
  certs_["bad"] = bad;
  auto r = ServerContext::build("smtp", tls_with("bad"), certs_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error,
            "listener smtp: certificate.bad: the private key does not match the certificate");
}

TEST_F(Contexts, GarbageCertificateIsRefusedWithItsReference) {
  config::Certificate bad = certs_["ec"];
  bad.name = "bad";
  bad.cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  bad.cert_ref = "file:///etc/ringmx/bad.pem";
  certs_["bad"] = bad;
  auto r = ServerContext::build("smtp", tls_with("bad"), certs_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(
      r.error.starts_with("listener smtp: certificate.bad: cannot load the certificate chain "
                          "(file:///etc/ringmx/bad.pem): "))
      << r.error;
}

TEST_F(Contexts, UnknownCertificateNameAndCipherAreRefused) {
  auto r = ServerContext::build("smtp", tls_with("nope"), certs_);
  EXPECT_EQ(r.error, "listener smtp: certificate \"nope\" is not defined");
  auto s = tls_with("ec");
  s.ciphers = {"TLS_RSA_WITH_RC4_128_MD5"};
  r = ServerContext::build("smtp", s, certs_);
  EXPECT_EQ(r.error,
            "listener smtp: tls.ciphers: unknown cipher suite \"TLS_RSA_WITH_RC4_128_MD5\"");
}

TEST_F(Contexts, EnabledVersionWithoutAnySuiteIsRefused) {
  auto s = tls_with("ec");
  s.ciphers = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};  // TLS 1.2 only, 1.3 still enabled
  auto r = ServerContext::build("smtp", s, certs_);
  EXPECT_EQ(r.error,
            "listener smtp: tls.ciphers lists no TLSv1.3 suite but tls.protocols enables TLSv1.3");
  s.protocols = {config::TlsVersion::tls12};
  EXPECT_TRUE(ServerContext::build("smtp", s, certs_).ok());
}

// --- SNI -------------------------------------------------------------------

class Sni : public Contexts {
 protected:
  std::shared_ptr<const ServerContext> sni_ctx(std::string default_cert = "rsa") {
    auto s = tls_with(std::move(default_cert));
    s.sni = {{"mail.example.com", "mail"}, {"*.example.net", "wild"}};
    return build(s);
  }
};

TEST_F(Sni, SelectsExactWildcardAndDefault) {
  auto ctx = sni_ctx();
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->select("mail.example.com").name, "mail");
  EXPECT_EQ(ctx->select("MAIL.Example.COM.").name, "mail");
  EXPECT_EQ(ctx->select("a.example.net").name, "wild");
  EXPECT_EQ(ctx->select("example.net").name, "rsa");      // wildcard needs a label
  EXPECT_EQ(ctx->select("a.b.example.net").name, "rsa");  // and only one
  EXPECT_EQ(ctx->select("other.example.com").name, "rsa");
  EXPECT_EQ(ctx->select("").name, "rsa");
}

TEST_F(Sni, HandshakeServesEachCertificateAndFallsBack) {
  auto ctx = sni_ctx();
  ASSERT_TRUE(ctx);
  struct Case {
    std::string sni, certificate, cn;
  } cases[] = {
      {"mail.example.com", "mail", "mail.example.com"},
      {"smtp.example.net", "wild", "any.example.net"},
      {"unknown.example.org", "rsa", "rsa.example.org"},
      {"", "rsa", "rsa.example.org"},
  };
  for (const auto& c : cases) {
    for (int max : {TLS1_2_VERSION, TLS1_3_VERSION}) {
      auto h = handshake(ctx, {.sni = c.sni, .max_version = max});
      ASSERT_EQ(h.result, PumpResult::established) << c.sni << " " << max << " " << h.failure;
      EXPECT_EQ(h.server.certificate, c.certificate) << c.sni;
      EXPECT_EQ(h.client_cn, c.cn) << c.sni;
      EXPECT_EQ(h.server.sni, c.sni);
    }
  }
}

// The case the issue calls out: the session's suites were computed from the
// RSA default; an ECDSA SNI certificate must still get ECDHE-ECDSA on 1.2.
TEST_F(Sni, Tls12EcdsaCertificateBehindRsaDefault) {
  auto ctx = sni_ctx("rsa");
  ASSERT_TRUE(ctx);
  auto h = handshake(ctx, {.sni = "mail.example.com",
                           .max_version = TLS1_2_VERSION,
                           .cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384"});
  ASSERT_EQ(h.result, PumpResult::established) << h.failure;
  EXPECT_EQ(h.server.cipher, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(h.client_cn, "mail.example.com");
}

TEST_F(Sni, Tls12RsaCertificateBehindEcdsaDefault) {
  auto ctx = sni_ctx("ec");
  ASSERT_TRUE(ctx);
  auto h = handshake(ctx, {.sni = "x.example.net",
                           .max_version = TLS1_2_VERSION,
                           .cipher_list = "ECDHE-RSA-AES128-GCM-SHA256"});
  ASSERT_EQ(h.result, PumpResult::established) << h.failure;
  EXPECT_EQ(h.server.cipher, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(h.client_cn, "any.example.net");
}

// --- versions and ciphers ----------------------------------------------------

TEST_F(Contexts, Tls13OnlyRefusesATls12Client) {
  auto s = tls_with("ec");
  s.protocols = {config::TlsVersion::tls13};
  auto ctx = build(s);
  ASSERT_TRUE(ctx);
  auto h = handshake(ctx, {.max_version = TLS1_2_VERSION});
  EXPECT_EQ(h.result, PumpResult::server_failed);
  EXPECT_EQ(h.server.offered, "TLSv1.2");
  EXPECT_FALSE(h.failure.empty());
  EXPECT_EQ(handshake(ctx, {}).result, PumpResult::established);
}

TEST_F(Contexts, Tls12OnlyRefusesATls13OnlyClient) {
  auto s = tls_with("ec");
  s.protocols = {config::TlsVersion::tls12};
  auto ctx = build(s);
  ASSERT_TRUE(ctx);
  auto h = handshake(ctx, {.min_version = WOLFSSL_TLSV1_3});
  EXPECT_NE(h.result, PumpResult::established);
  EXPECT_EQ(h.server.offered, "TLSv1.3");
  auto ok = handshake(ctx, {});
  ASSERT_EQ(ok.result, PumpResult::established);
  EXPECT_EQ(ok.server.version, "TLSv1.2");
}

TEST_F(Contexts, CipherRestrictionRefusesOthers) {
  auto s = tls_with("ec");
  s.protocols = {config::TlsVersion::tls13};
  s.ciphers = {"TLS13_AES_256_GCM_SHA384"};
  auto ctx = build(s);
  ASSERT_TRUE(ctx);
  auto refused = handshake(ctx, {.cipher_list = "TLS13-AES128-GCM-SHA256"});
  EXPECT_EQ(refused.result, PumpResult::server_failed);
  auto ok = handshake(ctx, {});
  ASSERT_EQ(ok.result, PumpResult::established);
  EXPECT_EQ(ok.server.cipher, "TLS_AES_256_GCM_SHA384");
}

struct OrderCase {
  config::TlsVersion version;
  std::vector<std::string> server;  // IANA, server's order
  std::string client;               // wolfSSL names, client's order
  std::string server_pick, client_pick;
};

class Order : public Contexts, public ::testing::WithParamInterface<OrderCase> {};

TEST_P(Order, ServerOrderWhenIgnoringClientOrderElseClientOrder) {
  const auto& p = GetParam();
  for (bool ignore : {true, false}) {
    auto s = tls_with("ec");
    s.protocols = {p.version};
    s.ciphers = p.server;
    s.ignore_client_order = ignore;
    auto ctx = build(s);
    ASSERT_TRUE(ctx);
    auto h = handshake(ctx, {.cipher_list = p.client});
    ASSERT_EQ(h.result, PumpResult::established) << h.failure;
    EXPECT_EQ(h.server.cipher, ignore ? p.server_pick : p.client_pick) << "ignore=" << ignore;
  }
}

INSTANTIATE_TEST_SUITE_P(
    BothVersions, Order,
    ::testing::Values(OrderCase{config::TlsVersion::tls13,
                                {"TLS13_AES_256_GCM_SHA384", "TLS13_CHACHA20_POLY1305_SHA256"},
                                "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES256-GCM-SHA384",
                                "TLS_AES_256_GCM_SHA384",
                                "TLS_CHACHA20_POLY1305_SHA256"},
                      OrderCase{config::TlsVersion::tls12,
                                {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                 "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384",
                                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}));

}  // namespace
}  // namespace ringmx::tls
