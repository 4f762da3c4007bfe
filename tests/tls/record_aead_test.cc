// The record layer's two AES-GCM implementations (tls/record_aead.h) are
// the same function: ipsec-mb and libcrypto seal every record to the same
// bytes and tag, each opens what the other sealed whatever the pieces it is
// fed in, and each refuses a record, AAD or tag with one bit changed.
#include "tls/record_aead.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tls/evp_record.h"
#include "tls/mb_record.h"

namespace ringmx::tls {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Factory = std::unique_ptr<RecordAead> (*)(RecordCipher, std::span<const std::uint8_t>, bool);

struct Sealed {
  Bytes ciphertext;
  std::uint8_t tag[kRecordTag];
};

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(rng());
  return b;
}

// Feeds `in` to `aead` in random pieces (some empty), as reads would.
void update_in_pieces(RecordAead& aead, const Bytes& in, Bytes& out, std::mt19937& rng) {
  out.resize(in.size());
  std::size_t at = 0;
  while (at < in.size()) {
    const std::size_t n = std::min(in.size() - at, static_cast<std::size_t>(rng() % 5000));
    ASSERT_TRUE(aead.update(in.data() + at, n, out.data() + at));
    at += n;
  }
}

Sealed seal(Factory make, RecordCipher cipher, const Bytes& key, const Bytes& nonce,
            const Bytes& aad, const Bytes& plain, std::mt19937& rng) {
  Sealed s;
  auto aead = make(cipher, key, /*seal=*/true);
  EXPECT_TRUE(aead);
  if (!aead) return s;
  EXPECT_TRUE(aead->begin(nonce.data(), aad));
  update_in_pieces(*aead, plain, s.ciphertext, rng);
  EXPECT_TRUE(aead->seal_tag(s.tag));
  return s;
}

// Opens in pieces; the plaintext, or nullopt when the tag does not match.
std::optional<Bytes> open(Factory make, RecordCipher cipher, const Bytes& key, const Bytes& nonce,
                          const Bytes& aad, const Bytes& ciphertext, const std::uint8_t* tag,
                          std::mt19937& rng) {
  auto aead = make(cipher, key, /*seal=*/false);
  EXPECT_TRUE(aead);
  if (!aead) return std::nullopt;
  EXPECT_TRUE(aead->begin(nonce.data(), aad));
  Bytes plain;
  update_in_pieces(*aead, ciphertext, plain, rng);
  if (!aead->open_tag(tag)) return std::nullopt;
  return plain;
}

class RecordAeadTest : public ::testing::TestWithParam<RecordCipher> {
 protected:
  void SetUp() override {
    const Bytes key(GetParam() == RecordCipher::aes_128_gcm ? 16 : 32, 1);
    if (!mb::make_record_aead(GetParam(), key, true))
      GTEST_SKIP() << "built without ipsec-mb: libcrypto is the only implementation";
  }
  std::size_t key_size() const { return GetParam() == RecordCipher::aes_128_gcm ? 16 : 32; }
};

TEST_P(RecordAeadTest, BothImplementationsSealTheSameAndOpenEachOther) {
  std::mt19937 rng(7);
  const Factory impls[] = {evp::make_record_aead, mb::make_record_aead};
  for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 255u, 256u, 4096u, 16384u, 16385u, 16401u}) {
    for (int round = 0; round < 3; ++round) {
      const Bytes key = random_bytes(rng, key_size());
      const Bytes nonce = random_bytes(rng, kRecordNonce);
      const Bytes aad = random_bytes(rng, round == 0 ? 13 : 5);  // TLS 1.2 and 1.3 AADs
      const Bytes plain = random_bytes(rng, len);
      const Sealed by_evp = seal(impls[0], GetParam(), key, nonce, aad, plain, rng);
      const Sealed by_mb = seal(impls[1], GetParam(), key, nonce, aad, plain, rng);
      ASSERT_EQ(by_evp.ciphertext, by_mb.ciphertext) << "length " << len;
      ASSERT_EQ(Bytes(by_evp.tag, by_evp.tag + kRecordTag),
                Bytes(by_mb.tag, by_mb.tag + kRecordTag))
          << "length " << len;
      for (Factory opener : impls) {
        const auto opened =
            open(opener, GetParam(), key, nonce, aad, by_mb.ciphertext, by_mb.tag, rng);
        ASSERT_TRUE(opened) << "length " << len;
        EXPECT_EQ(*opened, plain);
      }
    }
  }
}

TEST_P(RecordAeadTest, OneChangedBitIsRefusedByBoth) {
  std::mt19937 rng(11);
  const Bytes key = random_bytes(rng, key_size());
  const Bytes nonce = random_bytes(rng, kRecordNonce);
  const Bytes aad = random_bytes(rng, 5);
  const Bytes plain = random_bytes(rng, 1000);
  const Sealed s = seal(mb::make_record_aead, GetParam(), key, nonce, aad, plain, rng);
  for (Factory opener : {evp::make_record_aead, mb::make_record_aead}) {
    Bytes ciphertext = s.ciphertext;
    ciphertext[500] ^= 0x10;
    EXPECT_FALSE(open(opener, GetParam(), key, nonce, aad, ciphertext, s.tag, rng));
    Bytes other_aad = aad;
    other_aad[3] ^= 0x01;  // the record's length byte
    EXPECT_FALSE(open(opener, GetParam(), key, nonce, other_aad, s.ciphertext, s.tag, rng));
    std::uint8_t tag[kRecordTag];
    std::copy(s.tag, s.tag + kRecordTag, tag);
    tag[kRecordTag - 1] ^= 0x80;
    EXPECT_FALSE(open(opener, GetParam(), key, nonce, aad, s.ciphertext, tag, rng));
    EXPECT_TRUE(open(opener, GetParam(), key, nonce, aad, s.ciphertext, s.tag, rng));
  }
}

TEST_P(RecordAeadTest, AWrongKeyLengthGetsNoDirection) {
  const Bytes key(key_size() + 1, 1);
  EXPECT_FALSE(mb::make_record_aead(GetParam(), key, true));
  EXPECT_FALSE(evp::make_record_aead(GetParam(), key, true));
}

INSTANTIATE_TEST_SUITE_P(AesGcm, RecordAeadTest,
                         ::testing::Values(RecordCipher::aes_128_gcm, RecordCipher::aes_256_gcm),
                         [](const auto& info) {
                           return info.param == RecordCipher::aes_128_gcm ? "Aes128" : "Aes256";
                         });

TEST(RecordAeadChoice, ChaCha20StaysOnLibcryptoAndIpsecMbHasNoChaCha) {
  EXPECT_EQ(record_aead_backend(RecordCipher::chacha20_poly1305), "libcrypto");
  EXPECT_FALSE(mb::make_record_aead(RecordCipher::chacha20_poly1305, Bytes(32, 1), true));
  EXPECT_TRUE(make_record_aead(RecordCipher::chacha20_poly1305, Bytes(32, 1), true));
}

}  // namespace
}  // namespace ringmx::tls
