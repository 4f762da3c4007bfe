// From a configuration file to served certificates: file:// and inline PEM,
// per listener, through the real loader.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "config/config.h"
#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/self_signed.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

namespace fs = std::filesystem;

class ContextSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringmx-ctxset-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(ensure_self_signed(dir_ / "var" / "tls", "mx.example.org"), std::nullopt);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string served_cn(std::shared_ptr<const ServerContext> ctx, std::string sni) {
  Session server(ctx, "192.0.2.1:1");
  testing::MemClient client({.sni = std::move(sni)});
  if (testing::pump(server, client) != testing::PumpResult::established) return server.failure();
  return client.peer_common_name();
}

TEST_F(ContextSetTest, FileAndInlineCertificatesPerListener) {
  const auto inline_pem = testing::make_self_signed(testing::KeyKind::ecdsa_p256, "inline.example");
  const std::string toml = R"(
[server.listener.smtp]
bind = "127.0.0.1:2525"

[server.listener.submission]
bind = "127.0.0.1:5870"
tls.enable = true
tls.sni = [{ subject = "inline.example", certificate = "inline" }]

[server.listener.submissions]
bind = "127.0.0.1:4650"
tls.implicit = true
tls.certificate = "inline"

[server.tls]
certificate = "default"

[certificate.default]
cert = "file://var/tls/cert.pem"
private-key = "file://var/tls/key.pem"

[certificate.inline]
cert = """
)" + inline_pem.cert + R"("""
private-key = """
)" + inline_pem.key + R"("""
)";
  auto loaded = config::load_string(toml, "test.toml", dir_);
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  auto set = ContextSet::build(*loaded.config);
  ASSERT_TRUE(set.ok()) << set.error;

  EXPECT_EQ(set.set->find("smtp"), nullptr);  // no tls.enable
  const auto submission = set.set->find("submission");
  const auto submissions = set.set->find("submissions");
  ASSERT_NE(submission, nullptr);
  ASSERT_NE(submissions, nullptr);
  EXPECT_EQ(served_cn(submission, ""), "mx.example.org");  // file:// default
  EXPECT_EQ(served_cn(submission, "inline.example"), "inline.example");
  EXPECT_EQ(served_cn(submissions, ""), "inline.example");
}

// Reload: the shard swaps in a new set; a connection accepted before keeps
// the context it started with, and new ones get the new certificate.
TEST_F(ContextSetTest, SessionOutlivesTheSetItCameFromAcrossAReload) {
  const auto first = testing::make_self_signed(testing::KeyKind::ecdsa_p256, "before.example");
  const auto second = testing::make_self_signed(testing::KeyKind::ecdsa_p256, "after.example");
  auto config_with = [&](const testing::Pem& pem) {
    config::Config c;
    config::Listener l;
    l.id = "smtp";
    l.tls.enable = true;
    l.tls.certificate = "default";
    c.listeners.push_back(l);
    c.certificates["default"] = testing::certificate("default", pem);
    return c;
  };
  auto set = ContextSet::build(config_with(first));
  ASSERT_TRUE(set.ok()) << set.error;
  Session old_connection(set.set->find("smtp"), "192.0.2.1:1");
  set = ContextSet::build(config_with(second));  // the reload drops the first set
  ASSERT_TRUE(set.ok()) << set.error;

  testing::MemClient old_client({});
  ASSERT_EQ(testing::pump(old_connection, old_client), testing::PumpResult::established);
  EXPECT_EQ(old_client.peer_common_name(), "before.example");
  EXPECT_EQ(served_cn(set.set->find("smtp"), ""), "after.example");
}

}  // namespace
}  // namespace ringmx::tls
