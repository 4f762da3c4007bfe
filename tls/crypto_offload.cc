#include "tls/crypto_offload.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <string.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "core/log/log.h"
#include "tls/crypto_offload_internal.h"
#include "tls/evp_aead.h"
#include "tls/evp_ec.h"
#include "tls/evp_rand.h"
#include "tls/evp_rsa.h"
#include "tls/evp_sha.h"
#include "tls/evp_x25519.h"

namespace ringmx::tls {

namespace {

std::atomic<bool> g_enabled{true};
thread_local OffloadCounts t_counts;
thread_local bool t_kdf_offload = false;  // see OffloadScope

// The raw key wolfSSL keeps for devices (Aes::devKey, filled by
// wc_AesGcmSetKey when the Aes has a device id) and its length.
const uint8_t* raw_key(const Aes* aes) {
  return reinterpret_cast<const uint8_t*>(aes->devKey);
}

bool is_p256(const ecc_key* key) {
  return key != nullptr && key->dp != nullptr && key->dp->id == ECC_SECP256R1;
}

// The private scalar of a wolfSSL P-256 key, wiped when it goes.
struct Scalar {
  uint8_t d[evp::kP256Scalar] = {};
  bool ok = false;
  explicit Scalar(ecc_key* key) {
    word32 len = sizeof d;
    ok = wc_ecc_export_private_only(key, d, &len) == 0 && len == sizeof d;
  }
  ~Scalar() { explicit_bzero(d, sizeof d); }
};

// The components of a wolfSSL RSA private key, wiped when it goes.
struct RsaParts {
  static constexpr word32 kMax = 512;  // 4096-bit keys
  uint8_t e[kMax], n[kMax], d[kMax], p[kMax], q[kMax];
  word32 e_len = kMax, n_len = kMax, d_len = kMax, p_len = kMax, q_len = kMax;
  bool ok = false;
  explicit RsaParts(RsaKey* key) {
    ok = wc_RsaExportKey(key, e, &e_len, n, &n_len, d, &d_len, p, &p_len, q, &q_len) == 0;
  }
  ~RsaParts() {
    explicit_bzero(d, sizeof d);
    explicit_bzero(p, sizeof p);
    explicit_bzero(q, sizeof q);
  }
  evp::RsaPrivateParts view() const {
    return {{n, n_len}, {e, e_len}, {d, d_len}, {p, p_len}, {q, q_len}};
  }
};

// A 32-byte value wiped when it goes (X25519 private scalars).
struct Secret32 {
  uint8_t b[evp::kX25519Key];
  ~Secret32() { explicit_bzero(b, sizeof b); }
};

// ECDHE key generation, ECDH and ECDSA signing on P-256, X25519 key
// generation and shared secret, and the RSA private operation. Anything else
// (other curves, verification) returns CRYPTOCB_UNAVAILABLE and wolfSSL does
// it itself.
int on_pk(wc_CryptoInfo* info) {
  switch (info->pk.type) {
    case WC_PK_TYPE_EC_KEYGEN: {
      auto& kg = info->pk.eckg;
      if (kg.size != 32 || (kg.curveId != ECC_SECP256R1 && kg.curveId != ECC_CURVE_DEF)) break;
      uint8_t priv[evp::kP256Scalar], pub[evp::kP256Point];
      int rc = WC_HW_E;
      if (evp::p256_keygen(priv, pub)) {
        rc =
            wc_ecc_import_private_key_ex(priv, sizeof priv, pub, sizeof pub, kg.key, ECC_SECP256R1);
      }
      explicit_bzero(priv, sizeof priv);
      ++t_counts.p256;
      return rc;
    }
    case WC_PK_TYPE_ECDH: {
      auto& e = info->pk.ecdh;
      if (!is_p256(e.private_key) || *e.outlen < evp::kP256Scalar) break;
      Scalar d(e.private_key);
      uint8_t peer[evp::kP256Point];
      word32 peer_len = sizeof peer;
      if (!d.ok || wc_ecc_export_x963(e.public_key, peer, &peer_len) != 0) break;
      ++t_counts.p256;
      if (!evp::p256_ecdh(d.d, peer, peer_len, e.out)) return ECC_BAD_ARG_E;
      *e.outlen = evp::kP256Scalar;
      return 0;
    }
    case WC_PK_TYPE_ECDSA_SIGN: {
      auto& sg = info->pk.eccsign;
      if (!is_p256(sg.key)) break;
      Scalar d(sg.key);
      if (!d.ok) break;
      size_t len = *sg.outlen;
      ++t_counts.p256;
      if (!evp::p256_sign(d.d, sg.in, sg.inlen, sg.out, &len)) return WC_HW_E;
      *sg.outlen = static_cast<word32>(len);
      return 0;
    }
    case WC_PK_TYPE_CURVE25519_KEYGEN: {
      auto& kg = info->pk.curve25519kg;
      if (kg.size != CURVE25519_KEYSIZE || kg.key == nullptr) break;
      Secret32 priv;
      uint8_t pub[evp::kX25519Key];
      ++t_counts.x25519;
      if (!evp::x25519_keygen(priv.b, pub)) return WC_HW_E;
      // Both libraries keep RFC 7748's little-endian order.
      return wc_curve25519_import_private_raw_ex(priv.b, sizeof priv.b, pub, sizeof pub, kg.key,
                                                 EC25519_LITTLE_ENDIAN);
    }
    case WC_PK_TYPE_CURVE25519: {
      // wolfSSL has checked: both keys set, the peer's top bit clear.
      auto& x = info->pk.curve25519;
      if (*x.outlen < CURVE25519_KEYSIZE) break;
      Secret32 priv, secret;
      uint8_t own_pub[evp::kX25519Key], peer[evp::kX25519Key];
      word32 len = sizeof priv.b, own_len = sizeof own_pub, peer_len = sizeof peer;
      if (wc_curve25519_export_private_raw_ex(x.private_key, priv.b, &len, EC25519_LITTLE_ENDIAN) !=
              0 ||
          wc_curve25519_export_public_ex(x.public_key, peer, &peer_len, EC25519_LITTLE_ENDIAN) !=
              0) {
        break;
      }
      // The private key's own public value, when wolfSSL has it, spares
      // libcrypto recomputing it.
      const bool have_pub =
          x.private_key->pubSet && wc_curve25519_export_public_ex(x.private_key, own_pub, &own_len,
                                                                  EC25519_LITTLE_ENDIAN) == 0;
      ++t_counts.x25519;
      if (!evp::x25519_derive(priv.b, have_pub ? own_pub : nullptr, peer, secret.b)) {
        return ECC_BAD_ARG_E;  // an all-zero secret: a small-order peer value
      }
      for (size_t i = 0; i < CURVE25519_KEYSIZE; ++i) {
        x.out[i] =
            x.endian == EC25519_BIG_ENDIAN ? secret.b[CURVE25519_KEYSIZE - 1 - i] : secret.b[i];
      }
      *x.outlen = CURVE25519_KEYSIZE;
      return 0;
    }
    case WC_PK_TYPE_RSA: {
      auto& r = info->pk.rsa;
      const int size = wc_RsaEncryptSize(r.key);
      if (size <= 0 || *r.outLen < static_cast<word32>(size)) break;
      if (r.type == RSA_PUBLIC_ENCRYPT || r.type == RSA_PUBLIC_DECRYPT) {
        // wolfSSL's check of the signature it just made (and any peer
        // signature a session verifies).
        uint8_t n[RsaParts::kMax], e[RsaParts::kMax];
        word32 n_len = sizeof n, e_len = sizeof e;
        if (wc_RsaFlattenPublicKey(r.key, e, &e_len, n, &n_len) != 0) break;
        ++t_counts.rsa_public;
        if (!evp::rsa_public({n, n_len}, {e, e_len}, r.in, r.inLen, r.out,
                             static_cast<size_t>(size))) {
          return RSA_OUT_OF_RANGE_E;
        }
        *r.outLen = static_cast<word32>(size);
        return 0;
      }
      if (r.type != RSA_PRIVATE_ENCRYPT && r.type != RSA_PRIVATE_DECRYPT) break;
      RsaParts parts(r.key);
      if (!parts.ok) break;
      ++t_counts.rsa;
      if (!evp::rsa_private(parts.view(), r.in, r.inLen, r.out, static_cast<size_t>(size))) {
        return WC_HW_E;
      }
      *r.outLen = static_cast<word32>(size);
      return 0;
    }
    default:
      break;
  }
  return CRYPTOCB_UNAVAILABLE;
}

// Hashes. wolfSSL 5.5.4 (Debian's libwolfssl, read from its objects) calls
// the device from wc_ShaUpdate/Final, wc_Sha256Update/Final,
// wc_Sha384Update/Final and wc_Sha512Update/Final (and the SHA-512/224 and
// SHA-512/256 variants, which say WC_HASH_TYPE_SHA512 too), never for
// SHA-224 or MD5. An update comes as (in, inSz, digest = NULL), a final as
// (NULL, 0, digest). A handled final returns straight to the caller: wolfSSL
// does not reset the object then, so final_hash below does.
//
// The state never leaves wolfSSL's struct, in wolfSSL's layout: digest[]
// the chaining words in host order, buffer[] the pending bytes as they came,
// buffLen their count, loLen/hiLen the bytes hashed so far (hiLen counting
// loLen's wraps). Only whole blocks go to libcrypto. So wc_*Copy and
// wc_*GetHash (a memcpy of the struct, then a final), wc_Sha256FinalRaw,
// wc_Sha256Transform and wolfSSL's software final (which runs whenever the
// callback refuses) all go on from where the callback left off.

// The struct offsets of devId that Debian's libwolfssl.so.35 compares
// against INVALID_DEVID in wc_ShaFinal, wc_Sha256Final and wc_Sha512Final:
// headers whose options differ from the library's build would move them,
// and then nothing here could be trusted.
static_assert(offsetof(wc_Sha, devId) == 0x68);
static_assert(offsetof(wc_Sha256, devId) == 0x78);
static_assert(offsetof(wc_Sha512, devId) == 0xe0);

// What differs between the three structs: the block function, the block
// size, the width of the state and length words, and how wolfSSL
// re-initialises the object.
struct Sha1Hash {
  using State = wc_Sha;
  static constexpr size_t kBlock = evp::kSha1Block;
  static constexpr size_t kLengthBytes = 8;  // the bit count closing the last block
  static void blocks(State& s, const uint8_t* data, size_t n) {
    evp::sha1_blocks(s.digest, data, n);
  }
  static int reset(State& s) { return wc_InitSha_ex(&s, s.heap, s.devId); }
};

struct Sha256Hash {
  using State = wc_Sha256;
  static constexpr size_t kBlock = evp::kSha256Block;
  static constexpr size_t kLengthBytes = 8;
  static void blocks(State& s, const uint8_t* data, size_t n) {
    evp::sha256_blocks(s.digest, data, n);
  }
  static int reset(State& s) { return wc_InitSha256_ex(&s, s.heap, s.devId); }
};

struct Sha384Hash {
  using State = wc_Sha512;
  static constexpr size_t kBlock = evp::kSha512Block;
  static constexpr size_t kLengthBytes = 16;
  static void blocks(State& s, const uint8_t* data, size_t n) {
    evp::sha512_blocks(s.digest, data, n);
  }
  static int reset(State& s) { return wc_InitSha384_ex(&s, s.heap, s.devId); }
};

// Updates only (see on_hash); reset is here for completeness.
struct Sha512Hash : Sha384Hash {
  static int reset(State& s) { return wc_InitSha512_ex(&s, s.heap, s.devId); }
};

static_assert(sizeof(wc_Sha::buffer) == Sha1Hash::kBlock);
static_assert(sizeof(wc_Sha256::buffer) == Sha256Hash::kBlock);
static_assert(sizeof(wc_Sha512::buffer) == Sha384Hash::kBlock);

// Fields that would hold state elsewhere are absent from this build: no W
// cache (WOLFSSL_SMALL_STACK_CACHE), no kept message (WOLFSSL_HASH_KEEP), no
// Intel transform selection (USE_INTEL_SPEEDUP); `flags` (WILLCOPY, ISCOPY)
// says nothing about the state.
#if defined(WOLFSSL_SMALL_STACK_CACHE) || defined(WOLFSSL_HASH_KEEP) || defined(USE_INTEL_SPEEDUP)
#error "wolfSSL hash structs carry state on_hash does not keep: check before offloading them"
#endif

// An object whose pending count is not below a block is in no state
// wolfSSL's own code leaves it in: refused, wolfSSL decides.
template <class H>
bool understood(const typename H::State& s) {
  return s.buffLen < H::kBlock;
}

// wolfSSL's AddLength: a byte count in loLen carrying into hiLen.
template <class State>
void add_length(State& s, word32 len) {
  const auto before = s.loLen;
  s.loLen += len;
  if (s.loLen < before) ++s.hiLen;
}

template <class H>
void update_hash(typename H::State& s, const uint8_t* in, word32 len) {
  add_length(s, len);
  auto* pending = reinterpret_cast<uint8_t*>(s.buffer);
  if (s.buffLen > 0) {
    const size_t take = std::min<size_t>(H::kBlock - s.buffLen, len);
    memcpy(pending + s.buffLen, in, take);
    s.buffLen += static_cast<word32>(take);
    in += take;
    len -= static_cast<word32>(take);
    if (s.buffLen < H::kBlock) return;
    H::blocks(s, pending, 1);
    s.buffLen = 0;
  }
  const size_t whole = len / H::kBlock;
  if (whole > 0) H::blocks(s, in, whole);
  const size_t rest = len % H::kBlock;
  memcpy(pending, in + whole * H::kBlock, rest);
  s.buffLen = static_cast<word32>(rest);
}

// Big-endian bytes of `v` into out[0, n).
template <class Word>
void store_be(Word v, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out[n - 1 - i] = static_cast<uint8_t>(v);
    v = static_cast<Word>(v >> 8);
  }
}

// FIPS 180-4 padding (0x80, zeros, the message length in bits, big-endian),
// the digest words big-endian into `digest` (`digest_len` bytes: SHA-384
// keeps six of SHA-512's eight words), and the object reset as wolfSSL's
// own final leaves it.
template <class H>
int final_hash(typename H::State& s, uint8_t* digest, size_t digest_len) {
  uint8_t tail[2 * H::kBlock] = {};
  memcpy(tail, s.buffer, s.buffLen);
  tail[s.buffLen] = 0x80;
  const size_t tail_len = s.buffLen + 1 + H::kLengthBytes <= H::kBlock ? H::kBlock : 2 * H::kBlock;
  // The bit count is (hiLen:loLen) * 8 over twice the width of loLen.
  constexpr int kWordBits = 8 * sizeof s.loLen;
  using Word = decltype(s.loLen);
  const Word bits_low = static_cast<Word>(s.loLen << 3);
  const Word bits_high = static_cast<Word>((s.hiLen << 3) | (s.loLen >> (kWordBits - 3)));
  store_be(bits_low, tail + tail_len - sizeof(Word), sizeof(Word));
  store_be(bits_high, tail + tail_len - 2 * sizeof(Word), H::kLengthBytes - sizeof(Word));
  H::blocks(s, tail, tail_len / H::kBlock);
  explicit_bzero(tail, sizeof tail);
  using DigestWord = std::remove_reference_t<decltype(s.digest[0])>;
  for (size_t i = 0; i < digest_len / sizeof(DigestWord); ++i) {
    store_be(s.digest[i], digest + i * sizeof(DigestWord), sizeof(DigestWord));
  }
  return H::reset(s);
}

// What wolfSSL passes for a hash step (an unnamed struct in cryptocb.h).
using HashRequest = decltype(wc_CryptoInfo::hash);

template <class H>
int hash_step(typename H::State* s, const HashRequest& h, size_t digest_len) {
  if (s == nullptr || !understood<H>(*s)) return CRYPTOCB_UNAVAILABLE;
  if (h.digest == nullptr) {
    if (h.in == nullptr && h.inSz > 0) return CRYPTOCB_UNAVAILABLE;
    ++t_counts.hash;
    if (h.inSz > 0) update_hash<H>(*s, h.in, h.inSz);
    return 0;
  }
  if (h.in != nullptr || digest_len == 0) return CRYPTOCB_UNAVAILABLE;
  ++t_counts.hash;
  return final_hash<H>(*s, h.digest, digest_len);
}

// SHA-1, SHA-256 and SHA-384 whole; SHA-512 updates only. A SHA-512 final
// may be SHA-512/224's or SHA-512/256's (same type, same struct, a shorter
// digest buffer, no field telling them apart), so it is refused and
// wolfSSL's software final (one or two blocks) finishes from the state the
// updates left. Any other type (SHA-224, which 5.5.4 never sends, SHA-3...)
// is refused too.
int on_hash(wc_CryptoInfo* info) {
  auto& h = info->hash;
  switch (h.type) {
    case WC_HASH_TYPE_SHA:
      return hash_step<Sha1Hash>(h.sha1, h, WC_SHA_DIGEST_SIZE);
    case WC_HASH_TYPE_SHA256:
      return hash_step<Sha256Hash>(h.sha256, h, WC_SHA256_DIGEST_SIZE);
    case WC_HASH_TYPE_SHA384:
      return hash_step<Sha384Hash>(h.sha384, h, WC_SHA384_DIGEST_SIZE);
    case WC_HASH_TYPE_SHA512:
      return hash_step<Sha512Hash>(h.sha512, h, 0);
    default:
      return CRYPTOCB_UNAVAILABLE;
  }
}

int on_crypto(int /*dev_id*/, wc_CryptoInfo* info, void* /*ctx*/) {
  if (info->algo_type == WC_ALGO_TYPE_PK) return on_pk(info);
  if (info->algo_type == WC_ALGO_TYPE_HASH) return on_hash(info);
  if (info->algo_type == WC_ALGO_TYPE_SEED) {
    // The seed of a Hash_DRBG on the device (one wolfSSL_new made before
    // the wc_InitRng_ex below took over), from libcrypto's private DRBG
    // instead of an open/read/close of /dev/urandom.
    ++t_counts.seeds;
    return evp::private_random_bytes(info->seed.seed, info->seed.sz) ? 0 : RNG_FAILURE_E;
  }
  if (info->algo_type == WC_ALGO_TYPE_RNG) {
    // Every block of a session's random generator (server random, key
    // shares, RSA-PSS salts, tickets): libcrypto's private DRBG.
    ++t_counts.random_blocks;
    return evp::private_random_bytes(info->rng.out, info->rng.sz) ? 0 : RNG_FAILURE_E;
  }
  if (info->algo_type != WC_ALGO_TYPE_CIPHER || info->cipher.type != WC_CIPHER_AES_GCM) {
    return CRYPTOCB_UNAVAILABLE;  // wolfSSL does it in software
  }
  ++t_counts.aes_gcm;
  if (info->cipher.enc) {
    const auto& e = info->cipher.aesgcm_enc;
    const auto key_len = static_cast<size_t>(e.aes->keylen);
    return evp::aes_gcm_seal(raw_key(e.aes), key_len, e.iv, e.ivSz, e.authIn, e.authInSz, e.in,
                             e.sz, e.out, e.authTag, e.authTagSz)
               ? 0
               : WC_HW_E;
  }
  const auto& d = info->cipher.aesgcm_dec;
  const auto key_len = static_cast<size_t>(d.aes->keylen);
  return evp::aes_gcm_open(raw_key(d.aes), key_len, d.iv, d.ivSz, d.authIn, d.authInSz, d.in, d.sz,
                           d.out, d.authTag, d.authTagSz)
             ? 0
             : AES_GCM_AUTH_E;
}

// wolfSSL 5.5.4's one-shot wc_ShaHash and wc_Sha256Hash (certificate
// parsing, RSA-PSS, signature data) take the device registered first
// (wc_CryptoCb_GetDevIdAtIndex(0)) whatever context they serve. With the
// offload's device there, the hashes of a context built with the offload off,
// and of every test client, would reach libcrypto. A device that refuses
// everything takes that first slot instead, so only objects made with the
// offload's device id (a context's sessions, their HMACs and transcript)
// come to on_crypto. Should it fail to register, on_crypto's results are the
// same bytes anyway.
constexpr int kFirstDevicePlaceholderId = kDeviceId + 1;

int refuse_everything(int /*dev_id*/, wc_CryptoInfo* /*info*/, void* /*ctx*/) {
  return CRYPTOCB_UNAVAILABLE;
}

void register_first_device_placeholder() {
  const int rc = wc_CryptoCb_RegisterDevice(kFirstDevicePlaceholderId, refuse_everything, nullptr);
  if (rc != 0) {
    log::warn("tls.crypto_offload", "first_device_placeholder=absent reason={}",
              log::quote(wc_GetErrorString(rc)));
  }
}

int register_once() {
  static std::once_flag once;
  static int id = INVALID_DEVID;
  std::call_once(once, [] {
    // The device table is set up by wolfCrypt_Init (reference counted);
    // before it every slot looks taken and registering fails with BUFFER_E.
    wolfCrypt_Init();
    register_first_device_placeholder();
    const int rc = wc_CryptoCb_RegisterDevice(kDeviceId, on_crypto, nullptr);
    if (rc == 0) {
      id = kDeviceId;
      log::info("tls.crypto_offload",
                "aes_gcm=libcrypto p256=libcrypto rsa=libcrypto x25519=libcrypto hkdf=libcrypto "
                "random=libcrypto sha1=libcrypto sha256=libcrypto sha384=libcrypto "
                "sha512=libcrypto");
    } else {
      log::warn("tls.crypto_offload",
                "aes_gcm=wolfssl p256=wolfssl rsa=wolfssl x25519=wolfssl hkdf=wolfssl "
                "random=wolfssl sha1=wolfssl sha256=wolfssl sha384=wolfssl sha512=wolfssl "
                "reason={}",
                log::quote(wc_GetErrorString(rc)));
    }
  });
  return id;
}

}  // namespace

int crypto_offload_device() {
  return g_enabled.load() ? register_once() : INVALID_DEVID;
}

void set_crypto_offload(bool on) {
  g_enabled.store(on);
}

OffloadCounts crypto_offload_counts() {
  return t_counts;
}

namespace offload_internal {

OffloadCounts& thread_counts() {
  return t_counts;
}

bool& thread_kdf_scope() {
  return t_kdf_offload;
}

}  // namespace offload_internal

}  // namespace ringmx::tls
