#include "tls/self_signed.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace ringmx::tls {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SelfSigned : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringmx-selfsigned-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ / "var" / "tls";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
  fs::path dir_;
};

TEST_F(SelfSigned, CreatesP256PairWithHostnameAndLocalhostValidOneYear) {
  ASSERT_EQ(ensure_self_signed(dir_, "mx.example.org"), std::nullopt);

  for (const char* name : {"cert.pem", "key.pem"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  const std::string cert = slurp(dir_ / "cert.pem");
  const std::string key = slurp(dir_ / "key.pem");
  EXPECT_TRUE(cert.starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_TRUE(key.starts_with("-----BEGIN EC PRIVATE KEY-----"));

  WOLFSSL_X509* x509 =
      wolfSSL_X509_load_certificate_buffer(reinterpret_cast<const unsigned char*>(cert.data()),
                                           static_cast<int>(cert.size()), WOLFSSL_FILETYPE_PEM);
  ASSERT_NE(x509, nullptr);
  EXPECT_EQ(wolfSSL_X509_get_pubkey_type(x509), ECDSAk);
  std::set<std::string> sans;
  while (const char* san = wolfSSL_X509_get_next_altname(x509))
    sans.insert(san);
  EXPECT_EQ(sans, (std::set<std::string>{"mx.example.org", "localhost"}));
  EXPECT_EQ(wolfSSL_X509_get_isCA(x509), 0);
  // Expires one year from now (nullptr = now). wolfSSL back-dates notBefore
  // by a day for clock skew, so it is measured from now, not from notBefore.
  int days = 0, secs = 0;
  ASSERT_EQ(wolfSSL_ASN1_TIME_diff(&days, &secs, nullptr, wolfSSL_X509_get_notAfter(x509)),
            WOLFSSL_SUCCESS);
  const long remaining = days * 86400L + secs;
  EXPECT_LE(remaining, 365 * 86400L);
  EXPECT_GE(remaining, 365 * 86400L - 60);  // the seconds this test took
  wolfSSL_X509_free(x509);

  // The key is the certificate's: a server context accepts the pair.
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfTLS_server_method());
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(wolfSSL_CTX_use_certificate_chain_buffer(
                ctx, reinterpret_cast<const unsigned char*>(cert.data()), cert.size()),
            WOLFSSL_SUCCESS);
  EXPECT_EQ(
      wolfSSL_CTX_use_PrivateKey_buffer(ctx, reinterpret_cast<const unsigned char*>(key.data()),
                                        key.size(), WOLFSSL_FILETYPE_PEM),
      WOLFSSL_SUCCESS);
  EXPECT_EQ(wolfSSL_CTX_check_private_key(ctx), WOLFSSL_SUCCESS);
  wolfSSL_CTX_free(ctx);
}

TEST_F(SelfSigned, LeavesAnExistingPairUntouched) {
  ASSERT_EQ(ensure_self_signed(dir_, "mx.example.org"), std::nullopt);
  const std::string cert = slurp(dir_ / "cert.pem");
  const std::string key = slurp(dir_ / "key.pem");
  ASSERT_EQ(ensure_self_signed(dir_, "other.example.org"), std::nullopt);
  EXPECT_EQ(slurp(dir_ / "cert.pem"), cert);
  EXPECT_EQ(slurp(dir_ / "key.pem"), key);
}

TEST_F(SelfSigned, RefusesToCompleteAHalfPair) {
  ASSERT_EQ(ensure_self_signed(dir_, "mx.example.org"), std::nullopt);
  fs::remove(dir_ / "key.pem");
  const auto err = ensure_self_signed(dir_, "mx.example.org");
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("key.pem"), std::string::npos) << *err;
  EXPECT_FALSE(fs::exists(dir_ / "key.pem"));
}

TEST_F(SelfSigned, RefusesAnEmptyHostname) {
  const auto err = ensure_self_signed(dir_, "");
  ASSERT_TRUE(err.has_value());
  EXPECT_FALSE(fs::exists(dir_ / "cert.pem"));
}

}  // namespace
}  // namespace ringmx::tls
