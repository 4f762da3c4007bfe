#include "tls/crypto_offload.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <dlfcn.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <optional>

#include "core/log/log.h"
#include "tls/evp_aead.h"
#include "tls/evp_ec.h"
#include "tls/evp_hkdf.h"
#include "tls/evp_rand.h"
#include "tls/evp_rsa.h"
#include "tls/evp_x25519.h"

namespace ringmx::tls {

constexpr int kDeviceId = 0x524d58;  // "RMX": any value other than INVALID_DEVID

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

int on_crypto(int /*dev_id*/, wc_CryptoInfo* info, void* /*ctx*/) {
  if (info->algo_type == WC_ALGO_TYPE_PK) return on_pk(info);
  if (info->algo_type == WC_ALGO_TYPE_SEED) {
    // The seed of a session's Hash_DRBG (wolfSSL_new), from libcrypto's
    // private DRBG instead of an open/read/close of /dev/urandom per session.
    // Random blocks stay in wolfSSL's DRBG: at about 0.8 us each, a few per
    // handshake, routing them would not show.
    ++t_counts.seeds;
    return evp::private_random_bytes(info->seed.seed, info->seed.sz) ? 0 : RNG_FAILURE_E;
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

int register_once() {
  static std::once_flag once;
  static int id = INVALID_DEVID;
  std::call_once(once, [] {
    // The device table is set up by wolfCrypt_Init (reference counted);
    // before it every slot looks taken and registering fails with BUFFER_E.
    wolfCrypt_Init();
    const int rc = wc_CryptoCb_RegisterDevice(kDeviceId, on_crypto, nullptr);
    if (rc == 0) {
      id = kDeviceId;
      log::info("tls.crypto_offload",
                "aes_gcm=libcrypto p256=libcrypto rsa=libcrypto x25519=libcrypto seed=libcrypto");
    } else {
      log::warn("tls.crypto_offload",
                "aes_gcm=wolfssl p256=wolfssl rsa=wolfssl x25519=wolfssl seed=wolfssl reason={}",
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

}  // namespace ringmx::tls

// wolfSSL 5.5.4's TLS layer makes its ephemeral X25519 key (the TLS 1.3 key
// share, tls.c) with wc_curve25519_init_ex(key, heap, INVALID_DEVID): the
// device id of the context never reaches the key, so the callback above
// would never see the X25519 of a handshake. This definition interposes the
// library's wc_curve25519_make_key (the executable's symbol comes first in
// the dynamic linker's search order; libwolfssl.so calls it through its
// PLT): when the random generator passed in is a session's, itself made
// with the offload's device id (wolfSSL_new gives ssl->rng the context's),
// the key gets that device id too before the library's own make_key runs.
// The library then generates the key through the callback, and the shared
// secret follows because the private key carries the device id. Every other
// caller, and every session of a context built with the offload off, goes
// straight to the library's code unchanged.
extern "C" int wc_curve25519_make_key(WC_RNG* rng, int keysize, curve25519_key* key) {
  using MakeKey = int (*)(WC_RNG*, int, curve25519_key*);
  static const auto library = reinterpret_cast<MakeKey>(dlsym(RTLD_NEXT, "wc_curve25519_make_key"));
  if (library == nullptr) return NOT_COMPILED_IN;  // wolfSSL not a shared library
  if (rng != nullptr && key != nullptr && key->devId == INVALID_DEVID &&
      rng->devId == ringmx::tls::kDeviceId) {
    key->devId = ringmx::tls::kDeviceId;
  }
  return library(rng, keysize, key);
}

namespace ringmx::tls {

OffloadScope::OffloadScope(bool on) : previous_(t_kdf_offload) {
  t_kdf_offload = on;
}
OffloadScope::~OffloadScope() {
  t_kdf_offload = previous_;
}

}  // namespace ringmx::tls

// HKDF (RFC 5869) carries no device id in wolfSSL 5.5.4, so the callback
// never sees it; tls13.c calls these two through libwolfssl's PLT, and the
// definitions below come first in the dynamic linker's search order (as
// wc_curve25519_make_key above). Inside an OffloadScope (a session of an
// offloaded context, in Session::handshake/read/write), SHA-256 and SHA-384
// go to tls/evp_hkdf.h; any other hash, and every call outside a scope (the
// test clients, a context built with the offload off), reaches the
// library's own code unchanged.
namespace {

std::optional<ringmx::tls::evp::HkdfHash> offloaded_hkdf(int type) {
  if (!ringmx::tls::t_kdf_offload) return std::nullopt;
  if (type == WC_SHA256) return ringmx::tls::evp::HkdfHash::sha256;
  if (type == WC_SHA384) return ringmx::tls::evp::HkdfHash::sha384;
  return std::nullopt;
}

}  // namespace

extern "C" int wc_HKDF_Extract(int type, const byte* salt, word32 saltSz, const byte* inKey,
                               word32 inKeySz, byte* out) {
  using Extract = int (*)(int, const byte*, word32, const byte*, word32, byte*);
  static const auto library = reinterpret_cast<Extract>(dlsym(RTLD_NEXT, "wc_HKDF_Extract"));
  const auto hash = offloaded_hkdf(type);
  if (!hash || out == nullptr || (inKey == nullptr && inKeySz > 0) ||
      (salt == nullptr && saltSz > 0)) {
    return library != nullptr ? library(type, salt, saltSz, inKey, inKeySz, out) : NOT_COMPILED_IN;
  }
  ++ringmx::tls::t_counts.hkdf;
  return ringmx::tls::evp::hkdf_extract(*hash, salt, saltSz, inKey, inKeySz, out) ? 0 : WC_HW_E;
}

extern "C" int wc_HKDF_Expand(int type, const byte* inKey, word32 inKeySz, const byte* info,
                              word32 infoSz, byte* out, word32 outSz) {
  using Expand = int (*)(int, const byte*, word32, const byte*, word32, byte*, word32);
  static const auto library = reinterpret_cast<Expand>(dlsym(RTLD_NEXT, "wc_HKDF_Expand"));
  const auto hash = offloaded_hkdf(type);
  if (!hash || out == nullptr || inKey == nullptr || (info == nullptr && infoSz > 0) ||
      outSz > 255 * ringmx::tls::evp::hkdf_hash_size(*hash)) {
    return library != nullptr ? library(type, inKey, inKeySz, info, infoSz, out, outSz)
                              : NOT_COMPILED_IN;
  }
  ++ringmx::tls::t_counts.hkdf;
  return ringmx::tls::evp::hkdf_expand(*hash, inKey, inKeySz, info, infoSz, out, outSz) ? 0
                                                                                        : WC_HW_E;
}
