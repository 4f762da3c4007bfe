// The libcrypto offload gives byte-for-byte what wolfSSL's own AES-GCM
// gives, refuses a forged tag the same way, and really carries the records
// of a TLS session; X25519 through it agrees with RFC 7748 and with wolfSSL's
// own X25519, and carries the key exchange of an X25519-only handshake.
#include "tls/crypto_offload.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/ssl.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

std::vector<byte> unhex(std::string_view hex) {
  std::vector<byte> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

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
  auto ctx = testing::one_certificate_context(testing::KeyKind::ecdsa_p256, "mx.example.org");
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
  auto ctx = testing::one_certificate_context(testing::KeyKind::rsa_2048, "rsa.example.org");
  ASSERT_TRUE(ctx.ok()) << ctx.error;
  for (int round = 0; round < 2; ++round) {  // the second uses the cached key object
    Session server(ctx.context, "192.0.2.1:1");
    testing::MemClient client({});
    const auto start = crypto_offload_counts();
    ASSERT_EQ(testing::pump(server, client), testing::PumpResult::established);
    // RSA-PSS CertificateVerify, verified by the wolfSSL client in software;
    // the server's own check of it went through libcrypto too.
    EXPECT_EQ(crypto_offload_counts().rsa - start.rsa, 1u);
    EXPECT_EQ(crypto_offload_counts().rsa_public - start.rsa_public, 1u);
  }
}

TEST(CryptoOffload, Tls13KeyScheduleGoesThroughLibcryptoForBothHashes) {
  auto ctx = testing::one_certificate_context(testing::KeyKind::ecdsa_p256, "mx.example.org");
  ASSERT_TRUE(ctx.ok()) << ctx.error;
  for (const char* suite : {"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384"}) {
    Session server(ctx.context, "192.0.2.1:1");
    testing::MemClient client({.cipher_list = suite});
    const auto start = crypto_offload_counts();
    ASSERT_EQ(testing::pump(server, client), testing::PumpResult::established) << suite;
    // Early, handshake and master secrets (3 extracts) and the traffic
    // keys, IVs and finished keys (at least a dozen expands); the client
    // derived the same in wolfSSL, or the handshake would have failed.
    EXPECT_GE(crypto_offload_counts().hkdf - start.hkdf, 15u) << suite;
    const std::string body = "250 derived alike\r\n";
    server.write(testing::as_bytes(body));
    std::vector<std::byte> out;
    server.take_output(out);
    client.feed(out);
    EXPECT_EQ(client.read_all(), body) << suite;
  }
}

// RFC 5869 appendix A.1 to A.3 (SHA-256), through the functions wolfSSL's
// TLS 1.3 code calls, with and without the offload.
TEST(CryptoOffload, HkdfMatchesTheRfc5869VectorsInsideAndOutsideAnOffloadScope) {
  struct Vector {
    std::string_view ikm, salt, info, prk, okm;
  };
  const std::string long_ikm = [] {
    std::string h;
    for (int i = 0; i < 80; ++i)
      h += fmt::format("{:02x}", i);
    return h;
  }();
  const std::string long_salt = [] {
    std::string h;
    for (int i = 0x60; i < 0xb0; ++i)
      h += fmt::format("{:02x}", i);
    return h;
  }();
  const std::string long_info = [] {
    std::string h;
    for (int i = 0xb0; i < 0x100; ++i)
      h += fmt::format("{:02x}", i);
    return h;
  }();
  const Vector vectors[] = {
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
       "f0f1f2f3f4f5f6f7f8f9", "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {long_ikm, long_salt, long_info,
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e5"
       "9"
       "0e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  const auto starting = crypto_offload_counts().hkdf;
  for (bool offload : {false, true}) {
    const OffloadScope scope(offload);
    for (const Vector& v : vectors) {
      const auto ikm = unhex(v.ikm), salt = unhex(v.salt), info = unhex(v.info);
      const auto prk = unhex(v.prk), okm = unhex(v.okm);
      std::vector<byte> got_prk(32), got_okm(okm.size());
      ASSERT_EQ(wc_HKDF_Extract(WC_SHA256, salt.data(), static_cast<word32>(salt.size()),
                                ikm.data(), static_cast<word32>(ikm.size()), got_prk.data()),
                0);
      EXPECT_EQ(got_prk, prk) << "offload " << offload;
      ASSERT_EQ(wc_HKDF_Expand(WC_SHA256, prk.data(), static_cast<word32>(prk.size()), info.data(),
                               static_cast<word32>(info.size()), got_okm.data(),
                               static_cast<word32>(got_okm.size())),
                0);
      EXPECT_EQ(got_okm, okm) << "offload " << offload;
    }
  }
  EXPECT_EQ(crypto_offload_counts().hkdf - starting, 6u);  // only the scoped half
}

// SHA-384 has no RFC 5869 vector: libcrypto's result is checked against
// wolfSSL's own (outside a scope) over many lengths, 255 * 48 bytes included.
TEST(CryptoOffload, HkdfSha384AgreesWithWolfssl) {
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  for (word32 len : {1u, 31u, 48u, 49u, 97u, 200u, 255u * 48u}) {
    std::vector<byte> salt(len % 130), ikm(48 + len % 17), info(len % 60), a(48), b(48);
    for (auto* v : {&salt, &ikm, &info}) {
      if (!v->empty()) {
        ASSERT_EQ(wc_RNG_GenerateBlock(&rng, v->data(), static_cast<word32>(v->size())), 0);
      }
    }
    std::vector<byte> okm_a(len), okm_b(len);
    {
      const OffloadScope scope(true);
      ASSERT_EQ(wc_HKDF_Extract(WC_SHA384, salt.data(), static_cast<word32>(salt.size()),
                                ikm.data(), static_cast<word32>(ikm.size()), a.data()),
                0);
      ASSERT_EQ(wc_HKDF_Expand(WC_SHA384, a.data(), 48, info.data(),
                               static_cast<word32>(info.size()), okm_a.data(), len),
                0);
    }
    ASSERT_EQ(wc_HKDF_Extract(WC_SHA384, salt.data(), static_cast<word32>(salt.size()), ikm.data(),
                              static_cast<word32>(ikm.size()), b.data()),
              0);
    ASSERT_EQ(wc_HKDF_Expand(WC_SHA384, b.data(), 48, info.data(), static_cast<word32>(info.size()),
                             okm_b.data(), len),
              0);
    EXPECT_EQ(a, b) << len;
    EXPECT_EQ(okm_a, okm_b) << len;
  }
  wc_FreeRng(&rng);
}

// A curve25519_key on the offload device (`dev`) or in wolfSSL alone.
struct X25519Key {
  curve25519_key key;
  explicit X25519Key(int dev) { EXPECT_EQ(wc_curve25519_init_ex(&key, nullptr, dev), 0); }
  ~X25519Key() { wc_curve25519_free(&key); }
};

std::vector<byte> shared(X25519Key& priv, X25519Key& pub, int endian) {
  std::vector<byte> out(CURVE25519_KEYSIZE);
  word32 len = static_cast<word32>(out.size());
  EXPECT_EQ(wc_curve25519_shared_secret_ex(&priv.key, &pub.key, out.data(), &len, endian), 0);
  EXPECT_EQ(len, CURVE25519_KEYSIZE);
  return out;
}

TEST(CryptoOffload, X25519MatchesTheRfc7748Vectors) {
  // RFC 7748 section 6.1: Alice's private key, Bob's public key, and K, all
  // in the RFC's little-endian byte strings.
  const auto alice_priv = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const auto alice_pub = unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  const auto bob_pub = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const auto k = unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  const int dev = crypto_offload_device();
  ASSERT_NE(dev, INVALID_DEVID);

  X25519Key alice(dev), bob(INVALID_DEVID);
  ASSERT_EQ(wc_curve25519_import_private_raw_ex(alice_priv.data(), 32, alice_pub.data(), 32,
                                                &alice.key, EC25519_LITTLE_ENDIAN),
            0);
  ASSERT_EQ(wc_curve25519_import_public_ex(bob_pub.data(), 32, &bob.key, EC25519_LITTLE_ENDIAN), 0);
  const uint64_t before = crypto_offload_counts().x25519;
  EXPECT_EQ(shared(alice, bob, EC25519_LITTLE_ENDIAN), k);  // what TLS asks for
  auto reversed = k;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(shared(alice, bob, EC25519_BIG_ENDIAN), reversed);  // wolfSSL's default order
  EXPECT_EQ(crypto_offload_counts().x25519, before + 2);

  // Without its public half, libcrypto computes it: same secret.
  X25519Key alone(dev);
  ASSERT_EQ(
      wc_curve25519_import_private_ex(alice_priv.data(), 32, &alone.key, EC25519_LITTLE_ENDIAN), 0);
  EXPECT_EQ(shared(alone, bob, EC25519_LITTLE_ENDIAN), k);
  EXPECT_EQ(crypto_offload_counts().x25519, before + 3);
}

TEST(CryptoOffload, X25519KeysFromLibcryptoAgreeWithWolfsslKeys) {
  const int dev = crypto_offload_device();
  ASSERT_NE(dev, INVALID_DEVID);
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  for (int round = 0; round < 20; ++round) {
    X25519Key ours(dev), theirs(INVALID_DEVID);
    const uint64_t before = crypto_offload_counts().x25519;
    ASSERT_EQ(wc_curve25519_make_key(&rng, CURVE25519_KEYSIZE, &ours.key), 0);
    EXPECT_EQ(crypto_offload_counts().x25519, before + 1);  // generated by libcrypto
    ASSERT_EQ(wc_curve25519_make_key(&rng, CURVE25519_KEYSIZE, &theirs.key), 0);
    EXPECT_EQ(crypto_offload_counts().x25519, before + 1);  // wolfSSL's own

    // The generated private key is clamped as RFC 7748 requires, and its
    // public half is what wolfSSL itself computes from it.
    byte priv[32], pub[32], recomputed[32];
    word32 priv_len = 32, pub_len = 32;
    ASSERT_EQ(
        wc_curve25519_export_private_raw_ex(&ours.key, priv, &priv_len, EC25519_LITTLE_ENDIAN), 0);
    ASSERT_EQ(wc_curve25519_export_public_ex(&ours.key, pub, &pub_len, EC25519_LITTLE_ENDIAN), 0);
    EXPECT_EQ(priv[0] & 7, 0);
    EXPECT_EQ(priv[31] & 0xc0, 0x40);
    ASSERT_EQ(wc_curve25519_make_pub(32, recomputed, 32, priv), 0);
    EXPECT_EQ(0, std::memcmp(pub, recomputed, 32));

    // Both sides of the exchange: libcrypto for ours, wolfSSL for theirs.
    for (int endian : {EC25519_LITTLE_ENDIAN, EC25519_BIG_ENDIAN}) {
      const auto a = shared(ours, theirs, endian);
      const auto b = shared(theirs, ours, endian);
      EXPECT_EQ(a, b) << round << "/" << endian;
    }
    EXPECT_EQ(crypto_offload_counts().x25519, before + 3);
  }
  wc_FreeRng(&rng);
}

TEST(CryptoOffload, X25519RefusesASmallOrderPeerValue) {
  // A point of order 8 (RFC 7748's list; libsodium's blocklist): wolfSSL's
  // public-key check lets it through, and the shared secret is all zeros,
  // which RFC 8446 section 7.4.2 says to abort on.
  const auto small = unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  ASSERT_EQ(wc_curve25519_check_public(small.data(), 32, EC25519_LITTLE_ENDIAN), 0);
  const int dev = crypto_offload_device();
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  X25519Key ours(dev), peer(INVALID_DEVID);
  ASSERT_EQ(wc_curve25519_make_key(&rng, CURVE25519_KEYSIZE, &ours.key), 0);
  ASSERT_EQ(wc_curve25519_import_public_ex(small.data(), 32, &peer.key, EC25519_LITTLE_ENDIAN), 0);
  byte out[32];
  word32 len = sizeof out;
  EXPECT_NE(wc_curve25519_shared_secret_ex(&ours.key, &peer.key, out, &len, EC25519_LITTLE_ENDIAN),
            0);
  wc_FreeRng(&rng);
}

TEST(CryptoOffload, CarriesTheKeyExchangeOfAnX25519OnlyTls13Handshake) {
  auto ctx = testing::one_certificate_context(testing::KeyKind::ecdsa_p256, "mx.example.org");
  ASSERT_TRUE(ctx.ok()) << ctx.error;
  for (int round = 0; round < 3; ++round) {
    const auto made = crypto_offload_counts();
    Session server(ctx.context, "192.0.2.1:1");
    // The session's random generator draws from libcrypto: no Hash_DRBG,
    // so no seed and no health test.
    EXPECT_EQ(crypto_offload_counts().random_generators, made.random_generators + 1);
    EXPECT_EQ(crypto_offload_counts().seeds, made.seeds);
    testing::MemClient client({});  // plain wolfSSL: its X25519 is wolfSSL's own C code
    int groups[] = {WOLFSSL_ECC_X25519};
    ASSERT_EQ(wolfSSL_set_groups(client.ssl(), groups, 1), WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_UseKeyShare(client.ssl(), WOLFSSL_ECC_X25519), WOLFSSL_SUCCESS);
    const auto start = crypto_offload_counts();
    ASSERT_EQ(testing::pump(server, client), testing::PumpResult::established);
    // The server's key share and the shared secret came from libcrypto, and
    // the client derived the same handshake keys from its own, or the
    // encrypted handshake would have failed. P-256 only signed.
    EXPECT_EQ(crypto_offload_counts().x25519 - start.x25519, 2u);
    EXPECT_EQ(crypto_offload_counts().p256 - start.p256, 1u);
    EXPECT_EQ(client.version(), "TLSv1.3");

    const std::string body = "250 ok over x25519\r\n";
    server.write(testing::as_bytes(body));
    std::vector<std::byte> out;
    server.take_output(out);
    client.feed(out);
    EXPECT_EQ(client.read_all(), body);
  }
}

// A generator on the offload's device has no Hash_DRBG: its blocks come
// from libcrypto, differ from each other, and freeing it is safe; one
// without the device id is wolfSSL's own.
TEST(CryptoOffload, RandomGeneratorOnTheDeviceDrawsFromLibcrypto) {
  const auto start = crypto_offload_counts();
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng_ex(&rng, nullptr, crypto_offload_device()), 0);
  EXPECT_EQ(crypto_offload_counts().random_generators, start.random_generators + 1);
  byte a[64] = {}, b[64] = {};
  ASSERT_EQ(wc_RNG_GenerateBlock(&rng, a, sizeof a), 0);
  ASSERT_EQ(wc_RNG_GenerateBlock(&rng, b, sizeof b), 0);
  EXPECT_NE(std::memcmp(a, b, sizeof a), 0);
  EXPECT_EQ(crypto_offload_counts().random_blocks, start.random_blocks + 2);
  EXPECT_EQ(wc_FreeRng(&rng), 0);

  WC_RNG own;
  ASSERT_EQ(wc_InitRng_ex(&own, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_RNG_GenerateBlock(&own, a, sizeof a), 0);
  EXPECT_EQ(crypto_offload_counts().random_generators, start.random_generators + 1);
  EXPECT_EQ(crypto_offload_counts().random_blocks, start.random_blocks + 2);
  EXPECT_EQ(wc_FreeRng(&own), 0);
}

TEST(CryptoOffload, NothingOfAHandshakeGoesToLibcryptoForAContextBuiltWithTheOffloadOff) {
  set_crypto_offload(false);
  auto ctx = testing::one_certificate_context(testing::KeyKind::ecdsa_p256, "mx.example.org");
  set_crypto_offload(true);
  ASSERT_TRUE(ctx.ok()) << ctx.error;
  const auto start = crypto_offload_counts();
  Session server(ctx.context, "192.0.2.1:1");
  testing::MemClient client({});
  ASSERT_EQ(wolfSSL_UseKeyShare(client.ssl(), WOLFSSL_ECC_X25519), WOLFSSL_SUCCESS);
  ASSERT_EQ(testing::pump(server, client), testing::PumpResult::established);
  EXPECT_EQ(crypto_offload_counts().x25519, start.x25519);
  EXPECT_EQ(crypto_offload_counts().p256, start.p256);
  EXPECT_EQ(crypto_offload_counts().seeds, start.seeds);
  EXPECT_EQ(crypto_offload_counts().random_generators, start.random_generators);
  EXPECT_EQ(crypto_offload_counts().random_blocks, start.random_blocks);
  EXPECT_EQ(crypto_offload_counts().hkdf, start.hkdf);
  EXPECT_EQ(crypto_offload_counts().hash, start.hash);
}

}  // namespace
}  // namespace ringmx::tls
