// certificate.<name>: inline PEM or file://, parsed and matched by wolfSSL.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/certificate_check.h"
#include "config/ciphers.h"
#include "config/config.h"
#include "tests/config/test_util.h"

namespace ringmx::config {
namespace {

using testing::data_dir;
using testing::has_error;
using testing::line_of;
using testing::load;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr std::string_view kListener = "[server.listener.smtp]\nbind = \"127.0.0.1:2525\"\n";

std::string certificate(std::string_view cert, std::string_view key) {
  return std::string(kListener) + "[certificate.main]\ncert = " + std::string(cert) +
         "\nprivate-key = " + std::string(key) + "\n";
}

TEST(ConfigCertificates, RsaAndEcdsaFilesRelativeToTheConfigFolder) {
  LoadResult r = load(std::string(kListener) + R"(
[certificate.rsa]
cert = "file://rsa-cert.pem"
private-key = "file://rsa-key.pem"
[certificate.ecdsa]
cert = "file://./ecdsa-cert.pem"
private-key = "file://ecdsa-key.pem"
)");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
  EXPECT_TRUE(r.warnings.empty());
  const Certificate& rsa = r.config->certificates.at("rsa");
  EXPECT_EQ(rsa.name, "rsa");
  EXPECT_EQ(rsa.cert_pem, read(data_dir() / "rsa-cert.pem"));
  EXPECT_EQ(rsa.key_pem, read(data_dir() / "rsa-key.pem"));
  EXPECT_EQ(rsa.cert_ref, "file://" + (data_dir() / "rsa-cert.pem").lexically_normal().string());
  EXPECT_FALSE(rsa.key_inline());
  const Certificate& ecdsa = r.config->certificates.at("ecdsa");
  EXPECT_EQ(ecdsa.cert_ref,
            "file://" + (data_dir() / "ecdsa-cert.pem").lexically_normal().string());
}

TEST(ConfigCertificates, AbsoluteFilePath) {
  std::string abs = "\"file://" + (data_dir() / "ecdsa-cert.pem").string() + "\"";
  std::string key = "\"file://" + (data_dir() / "ecdsa-key.pem").string() + "\"";
  LoadResult r = load_string(certificate(abs, key), "test.toml", "/");
  ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
}

TEST(ConfigCertificates, RelativePathsFollowTheFileNotTheCurrentDirectory) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ringmx-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "tls");
  std::filesystem::copy_file(data_dir() / "ecdsa-cert.pem", dir / "tls/c.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(data_dir() / "ecdsa-key.pem", dir / "tls/k.pem",
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream out(dir / "ringmx.toml");
    out << certificate("\"file://tls/c.pem\"", "\"file://tls/k.pem\"");
  }
  LoadResult r = load_file(dir / "ringmx.toml");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
  EXPECT_EQ(r.config->certificates.at("main").cert_ref, "file://" + (dir / "tls/c.pem").string());
  EXPECT_EQ(r.config->source_path, (dir / "ringmx.toml").string());
  EXPECT_EQ(r.config->spool_path, (dir / "var/spool").string());
}

TEST(ConfigCertificates, InlineKeyLoadsWithAWarning) {
  std::string text = certificate("'''" + read(data_dir() / "ecdsa-cert.pem") + "'''",
                                 "'''" + read(data_dir() / "ecdsa-key.pem") + "'''");
  LoadResult r = load(text);
  ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
  ASSERT_EQ(r.warnings.size(), 1u);
  const Diagnostic& w = r.warnings[0];
  EXPECT_EQ(w.key, "certificate.main.private-key");
  EXPECT_EQ(w.line, line_of(text, "private-key"));
  EXPECT_TRUE(w.to_string().find(": warning: certificate.main.private-key: the private key is "
                                 "written inline") != std::string::npos)
      << w.to_string();
  EXPECT_TRUE(r.config->certificates.at("main").key_inline());
}

TEST(ConfigCertificates, UnreadableFileNamesThePathAndTheOsError) {
  std::string text = certificate("\"file:///nonexistent/cert.pem\"", "\"file://ecdsa-key.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.cert", line_of(text, "cert ="),
                        "cannot read /nonexistent/cert.pem: No such file or directory"));
  std::string dir = "\"file://" + data_dir().string() + "\"";
  text = certificate("\"file://ecdsa-cert.pem\"", dir);
  EXPECT_TRUE(has_error(load(text), "certificate.main.private-key", line_of(text, "private-key"),
                        "Is a directory"));
}

TEST(ConfigCertificates, HugeFileIsNotTakenForPem) {
  std::filesystem::path big = std::filesystem::temp_directory_path() /
                              ("ringmx-big-" + std::to_string(::getpid()) + ".pem");
  {
    std::ofstream out(big);
    out << std::string((1 << 20) + 1, 'A');
  }
  std::string text = certificate("\"file://" + big.string() + "\"", "\"file://ecdsa-key.pem\"");
  LoadResult r = load(text);
  std::filesystem::remove(big);
  EXPECT_TRUE(has_error(r, "certificate.main.cert", line_of(text, "cert ="), "larger than 1 MiB"));
}

TEST(ConfigCertificates, KeyOfAnotherCertificate) {
  std::string text = certificate("\"file://ecdsa-cert.pem\"", "\"file://other-ecdsa-key.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.private-key", line_of(text, "private-key"),
                        "does not belong to the certificate"));
  text = certificate("\"file://rsa-cert.pem\"", "\"file://ecdsa-key.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.private-key", line_of(text, "private-key"),
                        "does not belong"));
}

TEST(ConfigCertificates, BrokenPem) {
  std::string text =
      certificate("\"-----BEGIN CERTIFICATE-----\\nnot base64\\n-----END CERTIFICATE-----\\n\"",
                  "\"file://ecdsa-key.pem\"");
  EXPECT_TRUE(
      has_error(load(text), "certificate.main.cert", line_of(text, "cert ="), "does not parse"));
  text = certificate("\"file://ecdsa-key.pem\"", "\"file://ecdsa-key.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.cert", line_of(text, "cert ="),
                        "no \"-----BEGIN CERTIFICATE-----\" block"));
  text = certificate("\"file://ecdsa-cert.pem\"", "\"file://ecdsa-cert.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.private-key", line_of(text, "private-key"),
                        "does not parse"));
}

TEST(ConfigCertificates, EncryptedKeyIsRefusedWithTheWayOut) {
  std::string text = certificate("\"file://ecdsa-cert.pem\"", "\"file://encrypted-key.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.private-key", line_of(text, "private-key"),
                        "openssl pkey"));
}

TEST(ConfigCertificates, NeitherPemNorFile) {
  std::string text = certificate("\"/etc/ssl/cert.pem\"", "\"file://ecdsa-key.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.cert", line_of(text, "cert ="),
                        "write cert = \"file:///path/to/file\""));
  text = certificate("\"file://\"", "\"file://ecdsa-key.pem\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.cert", line_of(text, "cert ="),
                        "file:// has no path"));
}

TEST(ConfigCertificates, BothKeysAreRequired) {
  std::string text =
      std::string(kListener) + "[certificate.main]\ncert = \"file://ecdsa-cert.pem\"\n";
  EXPECT_TRUE(has_error(load(text), "certificate.main.private-key", line_of(text, "[certificate"),
                        "missing"));
}

TEST(ConfigCertificates, RedactedKeyFromPrintConfigIsRefused) {
  std::string text = certificate("\"file://ecdsa-cert.pem\"", "\"<redacted>\"");
  EXPECT_TRUE(has_error(load(text), "certificate.main.private-key", line_of(text, "private-key"),
                        "redacted by --print-config"));
}

TEST(ConfigCertificates, CheckerAcceptsMatchingPairs) {
  EXPECT_FALSE(
      check_certificate(read(data_dir() / "rsa-cert.pem"), read(data_dir() / "rsa-key.pem")));
  EXPECT_FALSE(
      check_certificate(read(data_dir() / "ecdsa-cert.pem"), read(data_dir() / "ecdsa-key.pem")));
  auto p = check_certificate(read(data_dir() / "ecdsa-cert.pem"),
                             read(data_dir() / "other-ecdsa-key.pem"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->part, CertificateProblem::Part::pair);
}

TEST(ConfigCertificates, KeyTypeAndExpiryAreRecorded) {
  LoadResult r = load(std::string(kListener) + R"(
[certificate.rsa]
cert = "file://rsa-cert.pem"
private-key = "file://rsa-key.pem"
[certificate.ec]
cert = "file://ecdsa-cert.pem"
private-key = "file://ecdsa-key.pem"
)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->certificates.at("rsa").key_type, KeyType::rsa);
  EXPECT_EQ(r.config->certificates.at("ec").key_type, KeyType::ec);
  // openssl x509 -enddate: notAfter=Nov  2 00:34:52 2126 GMT
  using namespace std::chrono;
  auto expected = sys_days{2126y / November / 2} + 34min + 52s;
  EXPECT_EQ(r.config->certificates.at("ec").not_after, expected);
}

TEST(ConfigCertificates, ExpiredCertificateLoadsWithAWarning) {
  // Opportunistic TLS between MTAs still works with it: a warning, so the
  // MX keeps running while the operator renews.
  std::string text = certificate("\"file://expired-cert.pem\"", "\"file://expired-key.pem\"");
  LoadResult r = load(text);
  ASSERT_TRUE(r.ok()) << r.errors.at(0).to_string();
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].key, "certificate.main.cert");
  EXPECT_EQ(r.warnings[0].line, line_of(text, "cert ="));
  EXPECT_NE(r.warnings[0].message.find("expired on 2021-01-01"), std::string::npos)
      << r.warnings[0].message;
}

TEST(ConfigCertificates, ExpiryWarningThresholds) {
  using namespace std::chrono;
  sys_days not_after = 2030y / March / 15;
  EXPECT_EQ(expiry_warning(not_after, not_after - days(31)), "");
  EXPECT_NE(expiry_warning(not_after, not_after - days(29)).find("expires on 2030-03-15"),
            std::string::npos);
  EXPECT_NE(expiry_warning(not_after, not_after).find("expired on 2030-03-15"), std::string::npos);
  EXPECT_NE(expiry_warning(not_after, not_after + days(400)).find("expired"), std::string::npos);
}

// The names the TLS layer will hand to wolfSSL must be ones it knows.
TEST(ConfigCiphers, EveryWolfSslNameIsAcceptedByWolfSsl) {
  wolfSSL_Init();
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
  ASSERT_NE(ctx, nullptr);
  for (const CipherSuite& s : cipher_suites()) {
    std::string name(s.wolfssl);
    EXPECT_EQ(wolfSSL_CTX_set_cipher_list(ctx, name.c_str()), WOLFSSL_SUCCESS) << name;
  }
  EXPECT_NE(wolfSSL_CTX_set_cipher_list(ctx, "NOT-A-SUITE"), WOLFSSL_SUCCESS);
  wolfSSL_CTX_free(ctx);
  wolfSSL_Cleanup();
}

}  // namespace
}  // namespace ringmx::config
