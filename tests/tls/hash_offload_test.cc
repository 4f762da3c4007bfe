// SHA-1, SHA-256, SHA-384 and SHA-512 objects made with the offload's device
// id (tls/crypto_offload.h, whose callback runs their blocks in libcrypto)
// give byte for byte what wolfSSL's own objects give and the FIPS 180
// vectors, however the input is split; their state stays in wolfSSL's struct
// (Copy, GetHash, FinalRaw, Transform and wolfSSL's own SHA-512 final go on
// from it); a final resets the object; HMAC agrees; and the hashes of real
// TLS 1.3 and TLS 1.2 handshakes go through the callback only for contexts
// built with the offload on.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>
#include <wolfssl/ssl.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/crypto_offload.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

using Bytes = std::vector<byte>;

Bytes unhex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

uint64_t hash_count() {
  return crypto_offload_counts().hash;
}

constexpr std::string_view kTwoBlock64 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr std::string_view kTwoBlock128 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

// One wolfSSL hash type behind a common face, so every check below runs on
// all of them. `Obj` is the wolfSSL struct.
template <class Obj>
struct Algo {
  const char* name;
  size_t digest_size;
  int (*init)(Obj*, void*, int);
  int (*update)(Obj*, const byte*, word32);
  int (*final)(Obj*, byte*);
  int (*get_hash)(Obj*, byte*);
  int (*copy)(Obj*, Obj*);
  void (*free)(Obj*);
  std::string_view abc;                // FIPS 180-2 "abc"
  std::string_view empty;              // the empty message
  std::string_view two_block_message;  // FIPS 180-2's, long enough that padding takes a block
  std::string_view two_block;
};

const Algo<wc_Sha> kSha1{"SHA-1",
                         WC_SHA_DIGEST_SIZE,
                         wc_InitSha_ex,
                         wc_ShaUpdate,
                         wc_ShaFinal,
                         wc_ShaGetHash,
                         wc_ShaCopy,
                         wc_ShaFree,
                         "a9993e364706816aba3e25717850c26c9cd0d89d",
                         "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                         kTwoBlock64,
                         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"};

const Algo<wc_Sha256> kSha256{"SHA-256",
                              WC_SHA256_DIGEST_SIZE,
                              wc_InitSha256_ex,
                              wc_Sha256Update,
                              wc_Sha256Final,
                              wc_Sha256GetHash,
                              wc_Sha256Copy,
                              wc_Sha256Free,
                              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                              kTwoBlock64,
                              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"};

const Algo<wc_Sha384> kSha384{"SHA-384",
                              WC_SHA384_DIGEST_SIZE,
                              wc_InitSha384_ex,
                              wc_Sha384Update,
                              wc_Sha384Final,
                              wc_Sha384GetHash,
                              wc_Sha384Copy,
                              wc_Sha384Free,
                              "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086"
                              "072ba1e7cc2358baeca134c825a7",
                              "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274e"
                              "debfe76f65fbd51ad2f14898b95b",
                              kTwoBlock128,
                              "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7"
                              "c71a557e2db966c3e9fa91746039"};

const Algo<wc_Sha512> kSha512{
    "SHA-512",
    WC_SHA512_DIGEST_SIZE,
    wc_InitSha512_ex,
    wc_Sha512Update,
    wc_Sha512Final,
    wc_Sha512GetHash,
    wc_Sha512Copy,
    wc_Sha512Free,
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feeb"
    "bd454d4423643ce80e2a9ac94fa54ca49f",
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec"
    "2f63b931bd47417a81a538327af927da3e",
    kTwoBlock128,
    "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b543"
    "3ac7d329eeb6dd26545e96e55b874be909"};

// A hash object on the offload's device (or INVALID_DEVID), freed on scope exit.
template <class Obj>
struct Hash {
  const Algo<Obj>& algo;
  Obj obj;
  Hash(const Algo<Obj>& a, int dev) : algo(a) { EXPECT_EQ(a.init(&obj, nullptr, dev), 0); }
  ~Hash() { algo.free(&obj); }
  Hash(const Hash&) = delete;
  Hash& operator=(const Hash&) = delete;

  void update(const byte* p, size_t n) {
    ASSERT_EQ(algo.update(&obj, p, static_cast<word32>(n)), 0);
  }
  void update(const Bytes& b) { update(b.data(), b.size()); }
  Bytes final() {
    Bytes d(algo.digest_size);
    EXPECT_EQ(algo.final(&obj, d.data()), 0);
    return d;
  }
  Bytes get_hash() {
    Bytes d(algo.digest_size);
    EXPECT_EQ(algo.get_hash(&obj, d.data()), 0);
    return d;
  }
};

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b)
    x = static_cast<byte>(rng());
  return b;
}

template <class Obj>
void check_vectors(const Algo<Obj>& algo) {
  const int dev = crypto_offload_device();
  ASSERT_NE(dev, INVALID_DEVID);
  Hash<Obj> h(algo, dev);
  const uint64_t before = hash_count();
  h.update(bytes_of("abc"));
  EXPECT_EQ(h.final(), unhex(algo.abc)) << algo.name;
  EXPECT_EQ(h.final(), unhex(algo.empty)) << algo.name << ": not reset by the final";
  h.update(bytes_of(algo.two_block_message));
  EXPECT_EQ(h.final(), unhex(algo.two_block)) << algo.name;
  // A zero-length update with a pointer reaches the callback and changes nothing.
  const byte nothing = 0;
  h.update(&nothing, 0);
  EXPECT_EQ(h.final(), unhex(algo.empty)) << algo.name;
  EXPECT_GT(hash_count(), before) << algo.name << ": the callback never ran";
}

TEST(HashOffload, Fips180VectorsThroughTheCallback) {
  check_vectors(kSha1);
  check_vectors(kSha256);
  check_vectors(kSha384);
  check_vectors(kSha512);
}

// The same random bytes, cut at the block edges and around them, into an
// object on the device and one without; GetHash and Copy mid-stream, the
// final, then the same bytes again in the reset object.
template <class Obj>
void check_against_wolfssl(const Algo<Obj>& algo) {
  const int dev = crypto_offload_device();
  ASSERT_NE(dev, INVALID_DEVID);
  std::mt19937 rng(20261126);
  const size_t cuts[] = {0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 100000};
  for (int round = 0; round < 20; ++round) {
    std::vector<size_t> sizes(std::begin(cuts), std::end(cuts));
    std::shuffle(sizes.begin(), sizes.end(), rng);
    sizes.resize(1 + rng() % sizes.size());
    std::vector<Bytes> chunks;
    for (size_t n : sizes)
      chunks.push_back(random_bytes(rng, n));

    Hash<Obj> ours(algo, dev), theirs(algo, INVALID_DEVID);
    const uint64_t before = hash_count();
    for (size_t i = 0; i < chunks.size(); ++i) {
      ours.update(chunks[i]);
      theirs.update(chunks[i]);
      if (rng() % 3 == 0) {
        EXPECT_EQ(ours.get_hash(), theirs.get_hash()) << algo.name << " round " << round;
      }
    }
    EXPECT_GT(hash_count(), before) << algo.name;

    // A copy goes on independently of its original.
    Hash<Obj> copy(algo, INVALID_DEVID);
    ASSERT_EQ(algo.copy(&ours.obj, &copy.obj), 0);
    const Bytes extra = random_bytes(rng, rng() % 300);
    copy.update(extra);
    Hash<Obj> theirs_extra(algo, INVALID_DEVID);
    for (const Bytes& c : chunks)
      theirs_extra.update(c);
    theirs_extra.update(extra);
    EXPECT_EQ(copy.final(), theirs_extra.final()) << algo.name << " round " << round;

    const Bytes digest = theirs.final();
    EXPECT_EQ(ours.final(), digest) << algo.name << " round " << round;
    for (const Bytes& c : chunks)
      ours.update(c);
    EXPECT_EQ(ours.final(), digest) << algo.name << " round " << round << ", after reset";
  }
}

TEST(HashOffload, Sha1AgreesWithWolfsslOverAnySplit) {
  check_against_wolfssl(kSha1);
}
TEST(HashOffload, Sha256AgreesWithWolfsslOverAnySplit) {
  check_against_wolfssl(kSha256);
}
TEST(HashOffload, Sha384AgreesWithWolfsslOverAnySplit) {
  check_against_wolfssl(kSha384);
}
TEST(HashOffload, Sha512AgreesWithWolfsslOverAnySplit) {
  check_against_wolfssl(kSha512);
}

// The bit count closing the last block spans hiLen:loLen. Hashing 4 GiB
// would take too long, so both objects are given the same byte count just
// short of loLen's wrap and then hashed alike: the carry into hiLen and its
// place in the padding must match wolfSSL's.
template <class Obj>
void check_length_carry(const Algo<Obj>& algo, decltype(Obj::loLen) near_wrap) {
  const int dev = crypto_offload_device();
  std::mt19937 rng(7);
  const Bytes head = random_bytes(rng, 70), tail = random_bytes(rng, 300);
  Hash<Obj> ours(algo, dev), theirs(algo, INVALID_DEVID);
  ours.update(head);
  theirs.update(head);
  ours.obj.loLen = theirs.obj.loLen = near_wrap;
  ours.update(tail);
  theirs.update(tail);
  EXPECT_EQ(ours.obj.hiLen, 1u) << algo.name;
  EXPECT_EQ(theirs.obj.hiLen, 1u) << algo.name;
  EXPECT_EQ(ours.final(), theirs.final()) << algo.name;
}

TEST(HashOffload, LengthCarriesIntoHiLenAsInWolfssl) {
  check_length_carry(kSha1, 0xffffff00u);
  check_length_carry(kSha256, 0xffffff00u);
  check_length_carry(kSha384, ~uint64_t{0} - 0xff);
  check_length_carry(kSha512, ~uint64_t{0} - 0xff);
}

// wc_Sha256FinalRaw and wc_Sha256Transform read and advance the state
// fields directly, outside the callback.
TEST(HashOffload, RawStateStaysWolfsslsForFinalRawAndTransform) {
  const int dev = crypto_offload_device();
  std::mt19937 rng(11);
  const Bytes data = random_bytes(rng, 64 * 3 + 10), block = random_bytes(rng, 64);
  Hash<wc_Sha256> ours(kSha256, dev), theirs(kSha256, INVALID_DEVID);
  ours.update(data);
  theirs.update(data);
  byte raw_ours[32], raw_theirs[32];
  ASSERT_EQ(wc_Sha256FinalRaw(&ours.obj, raw_ours), 0);
  ASSERT_EQ(wc_Sha256FinalRaw(&theirs.obj, raw_theirs), 0);
  EXPECT_EQ(0, std::memcmp(raw_ours, raw_theirs, 32));
  EXPECT_EQ(ours.obj.buffLen, 10u);
  EXPECT_EQ(0, std::memcmp(ours.obj.buffer, data.data() + 192, 10));  // raw pending bytes

  Hash<wc_Sha256> a(kSha256, dev), b(kSha256, INVALID_DEVID);
  a.update(data.data(), 128);
  b.update(data.data(), 128);
  Bytes block_a = block, block_b = block;
  ASSERT_EQ(wc_Sha256Transform(&a.obj, block_a.data()), 0);
  ASSERT_EQ(wc_Sha256Transform(&b.obj, block_b.data()), 0);
  a.update(data.data(), 64);
  b.update(data.data(), 64);
  ASSERT_EQ(wc_Sha256FinalRaw(&a.obj, raw_ours), 0);
  ASSERT_EQ(wc_Sha256FinalRaw(&b.obj, raw_theirs), 0);
  EXPECT_EQ(0, std::memcmp(raw_ours, raw_theirs, 32));

  Hash<wc_Sha512> c(kSha512, dev), d(kSha512, INVALID_DEVID);
  const Bytes block128 = random_bytes(rng, 128);
  c.update(data);
  d.update(data);
  // wolfSSL 5.5.4's wc_Sha512Transform byte-swaps its input in place: one
  // copy each.
  Bytes block_c = block128, block_d = block128;
  ASSERT_EQ(wc_Sha512Transform(&c.obj, block_c.data()), 0);
  ASSERT_EQ(wc_Sha512Transform(&d.obj, block_d.data()), 0);
  EXPECT_EQ(0, std::memcmp(c.obj.digest, d.obj.digest, sizeof c.obj.digest));
  EXPECT_EQ(c.final(), d.final());
}

// SHA-512/224 and SHA-512/256 share SHA-512's struct and callback type: the
// callback runs their updates and must leave the final (28 or 32 bytes) to
// wolfSSL. SHA-224 never reaches the callback in 5.5.4.
TEST(HashOffload, TruncatedSha512AndSha224StayRight) {
  const int dev = crypto_offload_device();
  const Bytes abc = bytes_of("abc");
  wc_Sha512 s;
  byte out[WC_SHA512_DIGEST_SIZE];
  std::memset(out, 0xee, sizeof out);
  ASSERT_EQ(wc_InitSha512_224_ex(&s, nullptr, dev), 0);
  ASSERT_EQ(wc_Sha512_224Update(&s, abc.data(), 3), 0);
  ASSERT_EQ(wc_Sha512_224Final(&s, out), 0);
  EXPECT_EQ(Bytes(out, out + 28),
            unhex("4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa"));
  EXPECT_EQ(out[28], 0xee);  // nothing written past the 28 bytes
  wc_Sha512_224Free(&s);

  ASSERT_EQ(wc_InitSha512_256_ex(&s, nullptr, dev), 0);
  std::mt19937 rng(3);
  const Bytes big = random_bytes(rng, 1000);
  ASSERT_EQ(wc_Sha512_256Update(&s, big.data(), 1000), 0);
  ASSERT_EQ(wc_Sha512_256Final(&s, out), 0);
  wc_Sha512 sw;
  byte expected[WC_SHA512_256_DIGEST_SIZE];
  ASSERT_EQ(wc_InitSha512_256_ex(&sw, nullptr, INVALID_DEVID), 0);
  ASSERT_EQ(wc_Sha512_256Update(&sw, big.data(), 1000), 0);
  ASSERT_EQ(wc_Sha512_256Final(&sw, expected), 0);
  EXPECT_EQ(0, std::memcmp(out, expected, sizeof expected));
  wc_Sha512_256Free(&s);
  wc_Sha512_256Free(&sw);

  wc_Sha256 s224;
  byte d224[WC_SHA224_DIGEST_SIZE];
  ASSERT_EQ(wc_InitSha224_ex(&s224, nullptr, dev), 0);
  ASSERT_EQ(wc_Sha224Update(&s224, abc.data(), 3), 0);
  ASSERT_EQ(wc_Sha224Final(&s224, d224), 0);
  EXPECT_EQ(Bytes(d224, d224 + sizeof d224),
            unhex("23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"));
  wc_Sha224Free(&s224);
}

// wolfSSL's one-shot hashes pick the first registered device whatever the
// caller: they must stay in wolfSSL (see register_once).
TEST(HashOffload, OneShotHashesStayInWolfssl) {
  ASSERT_NE(crypto_offload_device(), INVALID_DEVID);
  const Bytes abc = bytes_of("abc");
  byte d[WC_SHA256_DIGEST_SIZE];
  const uint64_t before = hash_count();
  ASSERT_EQ(wc_Sha256Hash(abc.data(), 3, d), 0);
  EXPECT_EQ(Bytes(d, d + 32), unhex(kSha256.abc));
  ASSERT_EQ(wc_ShaHash(abc.data(), 3, d), 0);
  EXPECT_EQ(Bytes(d, d + 20), unhex(kSha1.abc));
  EXPECT_EQ(hash_count(), before);
}

Bytes hmac(int dev, int type, const Bytes& key, const std::vector<Bytes>& parts) {
  Hmac h;
  EXPECT_EQ(wc_HmacInit(&h, nullptr, dev), 0);
  EXPECT_EQ(wc_HmacSetKey(&h, type, key.data(), static_cast<word32>(key.size())), 0);
  for (const Bytes& p : parts)
    EXPECT_EQ(wc_HmacUpdate(&h, p.data(), static_cast<word32>(p.size())), 0);
  Bytes out(static_cast<size_t>(wc_HmacSizeByType(type)));
  EXPECT_EQ(wc_HmacFinal(&h, out.data()), 0);
  wc_HmacFree(&h);
  return out;
}

TEST(HashOffload, HmacOnTheDeviceAgreesWithWolfssl) {
  const int dev = crypto_offload_device();
  ASSERT_NE(dev, INVALID_DEVID);
  // RFC 4231 test case 2.
  const uint64_t before = hash_count();
  EXPECT_EQ(hmac(dev, WC_SHA256, bytes_of("Jefe"), {bytes_of("what do ya want for nothing?")}),
            unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  EXPECT_GT(hash_count(), before);

  std::mt19937 rng(5);
  for (int type : {int{WC_SHA}, int{WC_SHA256}, int{WC_SHA384}, int{WC_SHA512}}) {
    for (size_t key_len : {16u, 32u, 64u, 65u, 128u, 200u}) {  // past a block: the key is hashed
      const Bytes key = random_bytes(rng, key_len);
      std::vector<Bytes> parts;
      for (size_t n : {13u, 0u, 64u, 129u, 1000u})
        parts.push_back(random_bytes(rng, n));
      EXPECT_EQ(hmac(dev, type, key, parts), hmac(INVALID_DEVID, type, key, parts))
          << type << "/" << key_len;
    }
  }
}

// Handshake, then a line each way. Returns the server's hash operations.
uint64_t handshake_and_talk(const std::shared_ptr<const ServerContext>& ctx,
                            const testing::ClientOptions& options, std::string_view want_version) {
  Session server(ctx, "192.0.2.1:1");
  testing::MemClient client(options);
  const uint64_t before = hash_count();
  EXPECT_EQ(testing::pump(server, client), testing::PumpResult::established) << options.cipher_list;
  const uint64_t hashed = hash_count() - before;
  EXPECT_EQ(client.version(), want_version) << options.cipher_list;

  client.write("EHLO client.example\r\n");
  server.feed(client.take_output());
  std::byte buf[256];
  const IoResult r = server.read(buf);
  EXPECT_EQ(r.status, IoResult::Status::ok) << options.cipher_list;
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(buf), r.bytes),
            "EHLO client.example\r\n")
      << options.cipher_list;
  const std::string reply = "250 mx.example.org\r\n";
  server.write(testing::as_bytes(reply));
  std::vector<std::byte> out;
  server.take_output(out);
  client.feed(out);
  EXPECT_EQ(client.read_all(), reply) << options.cipher_list;
  return hashed;
}

struct HandshakeCase {
  testing::KeyKind kind;
  testing::ClientOptions client;
  const char* version;
};

std::vector<HandshakeCase> handshake_cases() {
  using testing::KeyKind;
  std::vector<HandshakeCase> cases;
  for (KeyKind kind : {KeyKind::ecdsa_p256, KeyKind::rsa_2048}) {
    for (const char* suite : {"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384"}) {
      cases.push_back({kind, {.cipher_list = suite}, "TLSv1.3"});
    }
  }
  cases.push_back({KeyKind::ecdsa_p256,
                   {.max_version = TLS1_2_VERSION, .cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256"},
                   "TLSv1.2"});
  cases.push_back({KeyKind::rsa_2048,
                   {.max_version = TLS1_2_VERSION, .cipher_list = "ECDHE-RSA-AES256-GCM-SHA384"},
                   "TLSv1.2"});
  return cases;
}

TEST(HashOffload, HandshakeHashesGoThroughTheCallbackOnlyWithTheOffloadOn) {
  for (const HandshakeCase& c : handshake_cases()) {
    auto on = testing::one_certificate_context(c.kind);
    ASSERT_TRUE(on.ok()) << on.error;
    EXPECT_GT(handshake_and_talk(on.context, c.client, c.version), 0u) << c.client.cipher_list;

    set_crypto_offload(false);
    auto off = testing::one_certificate_context(c.kind);
    set_crypto_offload(true);
    ASSERT_TRUE(off.ok()) << off.error;
    EXPECT_EQ(handshake_and_talk(off.context, c.client, c.version), 0u) << c.client.cipher_list;
  }
}

}  // namespace
}  // namespace ringmx::tls
