// The kTLS key proof: this kernel has no TLS ULP, so the crypto_info that
// ringmx would hand to TLS_TX/TLS_RX is checked by doing in userspace what
// the kernel would do with it (tests/tls/kernel_record.h) against a real
// wolfSSL peer, per cipher suite, in both directions, over two records each
// so that the per-record sequence and nonce advance is covered too.
#include "tls/ktls.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/tls/kernel_record.h"
#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

using testing::KeyKind;
using testing::PumpResult;

constexpr uint8_t kApplicationData = 23;

struct Suite {
  const char* name;  // test name
  KeyKind key;
  int max_version;
  const char* client_ciphers;  // wolfSSL name: the client offers only this
  uint16_t kernel_version;
  uint16_t cipher_type;
  size_t info_size;
  uint64_t tx_seq;  // server TX record number at handover
  uint64_t rx_seq;  // server RX record number at handover
};

class KtlsProof : public ::testing::TestWithParam<Suite> {};

TEST_P(KtlsProof, KernelRecordsRoundTripWithWolfsslPeer) {
  const Suite& s = GetParam();
  auto ctx = testing::one_certificate_context(s.key);
  ASSERT_TRUE(ctx.ok()) << ctx.error;

  Session server(ctx.context, "192.0.2.1:1");
  testing::MemClient client({.max_version = s.max_version, .cipher_list = s.client_ciphers});
  ASSERT_EQ(testing::pump(server, client), PumpResult::established) << server.failure();
  ASSERT_EQ(server.unconsumed_input(), 0u);
  ASSERT_EQ(server.pending_plaintext(), 0u);

  auto params = server.ktls_params();
  ASSERT_TRUE(params.has_value());
  for (const KtlsCryptoInfo* info : {&params->tx, &params->rx}) {
    EXPECT_EQ(info->base.version, s.kernel_version);
    EXPECT_EQ(info->base.cipher_type, s.cipher_type);
    EXPECT_EQ(info->size, s.info_size);
  }
  // Neither number is 0 by rule: TLS 1.3 application keys start at 0 but
  // the server already sent a NewSessionTicket under them (TX 1, RX 0);
  // TLS 1.2 keys start with Finished, one record each way (TX 1, RX 1).
  EXPECT_EQ(testing::rec_seq(params->tx), s.tx_seq);
  EXPECT_EQ(testing::rec_seq(params->rx), s.rx_seq);

  // Server -> client: two records sealed as TLS_TX would, read by wolfSSL.
  // (The client still holds the ticket record, which it reads first.)
  const std::string down[] = {"220 sealed by the kernel's rules\r\n",
                              "250 and the next record\r\n"};
  for (uint64_t i = 0; i < 2; ++i) {
    client.feed(testing::kernel_seal(params->tx, i, kApplicationData, down[i]));
    EXPECT_EQ(client.read_all(), down[i]) << "record " << i;
  }

  // Client -> server: two wolfSSL records opened as TLS_RX would.
  const std::string up[] = {"EHLO client.example\r\n", "MAIL FROM:<a@example.org>\r\n"};
  for (uint64_t i = 0; i < 2; ++i) {
    client.write(up[i]);
    const auto record = client.take_output();
    auto opened = testing::kernel_open(params->rx, i, record);
    ASSERT_TRUE(opened.has_value()) << "record " << i;
    EXPECT_EQ(opened->content_type, kApplicationData);
    EXPECT_EQ(opened->plain, up[i]);
    EXPECT_EQ(opened->record_size, record.size());
    // The same record at the wrong sequence number must not open: the
    // sequence really is part of what is proven.
    EXPECT_FALSE(testing::kernel_open(params->rx, i + 1, record).has_value());
  }
}

constexpr size_t k128 = sizeof(tls12_crypto_info_aes_gcm_128);
constexpr size_t k256 = sizeof(tls12_crypto_info_aes_gcm_256);
constexpr size_t kChacha = sizeof(tls12_crypto_info_chacha20_poly1305);

INSTANTIATE_TEST_SUITE_P(
    EverySuite, KtlsProof,
    ::testing::Values(
        Suite{"Tls13Aes128Gcm", KeyKind::ecdsa_p256, 0, "TLS13-AES128-GCM-SHA256", TLS_1_3_VERSION,
              TLS_CIPHER_AES_GCM_128, k128, 1, 0},
        Suite{"Tls13Aes256Gcm", KeyKind::ecdsa_p256, 0, "TLS13-AES256-GCM-SHA384", TLS_1_3_VERSION,
              TLS_CIPHER_AES_GCM_256, k256, 1, 0},
        Suite{"Tls13Chacha20", KeyKind::ecdsa_p256, 0, "TLS13-CHACHA20-POLY1305-SHA256",
              TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305, kChacha, 1, 0},
        Suite{"Tls12EcdheRsaAes128Gcm", KeyKind::rsa_2048, TLS1_2_VERSION,
              "ECDHE-RSA-AES128-GCM-SHA256", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128, k128, 1, 1},
        Suite{"Tls12EcdheRsaAes256Gcm", KeyKind::rsa_2048, TLS1_2_VERSION,
              "ECDHE-RSA-AES256-GCM-SHA384", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_256, k256, 1, 1},
        Suite{"Tls12EcdheRsaChacha20", KeyKind::rsa_2048, TLS1_2_VERSION,
              "ECDHE-RSA-CHACHA20-POLY1305", TLS_1_2_VERSION, TLS_CIPHER_CHACHA20_POLY1305, kChacha,
              1, 1},
        Suite{"Tls12EcdheEcdsaAes128Gcm", KeyKind::ecdsa_p256, TLS1_2_VERSION,
              "ECDHE-ECDSA-AES128-GCM-SHA256", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128, k128, 1, 1},
        Suite{"Tls12EcdheEcdsaAes256Gcm", KeyKind::ecdsa_p256, TLS1_2_VERSION,
              "ECDHE-ECDSA-AES256-GCM-SHA384", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_256, k256, 1, 1},
        Suite{"Tls12EcdheEcdsaChacha20", KeyKind::ecdsa_p256, TLS1_2_VERSION,
              "ECDHE-ECDSA-CHACHA20-POLY1305", TLS_1_2_VERSION, TLS_CIPHER_CHACHA20_POLY1305,
              kChacha, 1, 1}),
    [](const ::testing::TestParamInfo<Suite>& i) { return std::string(i.param.name); });

TEST(KtlsParams, CbcSuiteHasNoKernelCipher) {
  std::map<std::string, config::Certificate> certs;
  certs["c"] =
      testing::certificate("c", testing::make_self_signed(KeyKind::ecdsa_p256, "mx.example.org"));
  config::TlsSettings settings;
  settings.enable = true;
  settings.certificate = "c";
  auto ctx = ServerContext::build("smtp", settings, certs);
  ASSERT_TRUE(ctx.ok()) << ctx.error;
  Session server(ctx.context, "192.0.2.1:1");
  testing::MemClient client(
      {.max_version = TLS1_2_VERSION, .cipher_list = "ECDHE-ECDSA-AES128-SHA256"});
  ASSERT_EQ(testing::pump(server, client), PumpResult::established) << server.failure();
  EXPECT_EQ(server.info().cipher, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256");
  EXPECT_FALSE(server.ktls_params().has_value());  // stays in userspace
}

// The probe and the fallback: whatever this kernel says, the cached answer,
// the uncached probe and installing on a real socket agree.
TEST(KtlsProbe, AvailabilityMatchesTheProbeAndInstall) {
  const auto why_not = ktls_probe();
  EXPECT_EQ(ktls_available(), !why_not.has_value());
  if (why_not) {
    // This development kernel: ENOENT, the tls module is not there.
    EXPECT_TRUE(why_not->starts_with("setsockopt(TCP_ULP, tls): ")) << *why_not;
  }
}

// Installing on a real connected socket: on a kernel without the ULP the
// error names the step, so the shard can log it and stay in userspace.
TEST(KtlsProbe, InstallOnAKernelWithoutTlsSaysWhichStepFailed) {
  if (!ktls_probe()) GTEST_SKIP() << "this kernel has kTLS";
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int cfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(cfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const int afd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(afd, 0);
  const auto err = ktls_install(afd, KtlsParams{});
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(err->reason.starts_with("setsockopt(TCP_ULP, tls): ")) << err->reason;
  EXPECT_FALSE(err->attached);
  // The socket is untouched and still carries bytes.
  ASSERT_EQ(::send(cfd, "x", 1, 0), 1);
  char c = 0;
  EXPECT_EQ(::recv(afd, &c, 1, 0), 1);
  EXPECT_EQ(c, 'x');
  for (int fd : {afd, cfd, lfd})
    ::close(fd);
}

}  // namespace
}  // namespace ringmx::tls
