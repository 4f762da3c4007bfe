// The libcrypto offload gives byte-for-byte what wolfSSL's own AES-GCM
// gives, refuses a forged tag the same way, and really carries the records
// of a TLS session.
#include "tls/crypto_offload.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/ssl.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

struct Sealed {
  std::vector<byte> ct;
  byte tag[16];
};

Sealed seal(int dev_id, const std::vector<byte>& key, const byte* iv, const std::vector<byte>& aad,
            const std::vector<byte>& plain) {
  Aes aes;
  EXPECT_EQ(wc_AesInit(&aes, nullptr, dev_id), 0);
  EXPECT_EQ(wc_AesGcmSetKey(&aes, key.data(), static_cast<word32>(key.size())), 0);
  Sealed s{std::vector<byte>(plain.size()), {}};
  EXPECT_EQ(wc_AesGcmEncrypt(&aes, s.ct.data(), plain.data(), plain.size(), iv, 12, s.tag, 16,
                             aad.data(), aad.size()),
            0);
  wc_AesFree(&aes);
  return s;
}

int open(int dev_id, const std::vector<byte>& key, const byte* iv, const std::vector<byte>& aad,
         const Sealed& s, std::vector<byte>& plain) {
  Aes aes;
  wc_AesInit(&aes, nullptr, dev_id);
  wc_AesGcmSetKey(&aes, key.data(), static_cast<word32>(key.size()));
  plain.resize(s.ct.size());
  const int rc = wc_AesGcmDecrypt(&aes, plain.data(), s.ct.data(), s.ct.size(), iv, 12, s.tag, 16,
                                  aad.data(), aad.size());
  wc_AesFree(&aes);
  return rc;
}

TEST(CryptoOffload, MatchesWolfsslAesGcmForBothKeySizesAndManyLengths) {
  const int dev = crypto_offload_device();
  ASSERT_NE(dev, INVALID_DEVID);
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  for (size_t key_len : {16u, 32u}) {
    for (size_t len : {0u, 1u, 15u, 16u, 17u, 1000u, 16384u + 1}) {
      std::vector<byte> key(key_len), aad(13), plain(len);
      byte iv[12];
      wc_RNG_GenerateBlock(&rng, key.data(), key.size());
      wc_RNG_GenerateBlock(&rng, iv, sizeof iv);
      wc_RNG_GenerateBlock(&rng, aad.data(), aad.size());
      if (len) wc_RNG_GenerateBlock(&rng, plain.data(), len);

      const uint64_t before = crypto_offload_counts().aes_gcm;
      const Sealed hw = seal(dev, key, iv, aad, plain);
      EXPECT_EQ(crypto_offload_counts().aes_gcm, before + 1);  // went through libcrypto
      const Sealed sw = seal(INVALID_DEVID, key, iv, aad, plain);
      EXPECT_EQ(hw.ct, sw.ct) << key_len << "/" << len;
      EXPECT_EQ(0, std::memcmp(hw.tag, sw.tag, 16)) << key_len << "/" << len;

      std::vector<byte> back;
      EXPECT_EQ(open(dev, key, iv, aad, sw, back), 0);
      EXPECT_EQ(back, plain);
      Sealed forged = sw;
      forged.tag[0] ^= 1;
      EXPECT_EQ(open(dev, key, iv, aad, forged, back), AES_GCM_AUTH_E);
    }
  }
  wc_FreeRng(&rng);
}

TEST(CryptoOffload, CarriesTheKeyExchangeAndRecordsOfATls13Session) {
  std::map<std::string, config::Certificate> certs;
  certs["c"] = testing::certificate(
      "c", testing::make_self_signed(testing::KeyKind::ecdsa_p256, "mx.example.org"));
  config::TlsSettings s;
  s.enable = true;
  s.certificate = "c";
  auto ctx = ServerContext::build("smtp", s, certs);
  ASSERT_TRUE(ctx.ok()) << ctx.error;
  Session server(ctx.context, "192.0.2.1:1");
  testing::MemClient client({.cipher_list = "TLS13-AES128-GCM-SHA256"});
  wolfSSL_UseKeyShare(client.ssl(), WOLFSSL_ECC_SECP256R1);
  const auto start = crypto_offload_counts();
  ASSERT_EQ(testing::pump(server, client), testing::PumpResult::established);
  // The server's ECDHE key, the shared secret and the CertificateVerify
  // signature went through libcrypto; the client (plain wolfSSL) agreed with
  // all three, or the handshake would have failed.
  EXPECT_EQ(crypto_offload_counts().p256 - start.p256, 3u);
  EXPECT_GT(crypto_offload_counts().aes_gcm, start.aes_gcm);  // encrypted handshake records

  const uint64_t before = crypto_offload_counts().aes_gcm;
  const std::string body(50000, 'm');
  server.write(testing::as_bytes(body));  // 4 records
  std::vector<std::byte> out;
  server.take_output(out);
  EXPECT_GE(crypto_offload_counts().aes_gcm - before, 4u);
  client.feed(out);
  EXPECT_EQ(client.read_all(), body);  // the client decrypts in wolfSSL software
}

TEST(CryptoOffload, RsaSignatureOfATls13HandshakeGoesThroughLibcrypto) {
  std::map<std::string, config::Certificate> certs;
  certs["c"] = testing::certificate(
      "c", testing::make_self_signed(testing::KeyKind::rsa_2048, "rsa.example.org"));
  config::TlsSettings s;
  s.enable = true;
  s.certificate = "c";
  auto ctx = ServerContext::build("smtp", s, certs);
  ASSERT_TRUE(ctx.ok()) << ctx.error;
  for (int round = 0; round < 2; ++round) {  // the second uses the cached key object
    Session server(ctx.context, "192.0.2.1:1");
    testing::MemClient client({});
    const auto start = crypto_offload_counts();
    ASSERT_EQ(testing::pump(server, client), testing::PumpResult::established);
    // RSA-PSS CertificateVerify, verified by the wolfSSL client in software.
    EXPECT_EQ(crypto_offload_counts().rsa - start.rsa, 1u);
  }
}

}  // namespace
}  // namespace ringmx::tls
