// wolfSSL functions this binary defines in place of libwolfssl's, for
// what wolfSSL 5.5.4 does without the crypto offload's device id (see
// tls/crypto_offload.h). A definition in the executable comes before the
// shared library's in the dynamic linker's search order, and libwolfssl
// calls these through its PLT, so the library's own calls land here; each
// hands everything it does not take over to the library's function
// (dlsym(RTLD_NEXT)). A statically linked wolfSSL would not link (duplicate
// symbols) rather than behave differently.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>

#include <dlfcn.h>
#include <string.h>

#include <optional>

#include "tls/crypto_offload.h"
#include "tls/crypto_offload_internal.h"
#include "tls/evp_hkdf.h"

using ringmx::tls::kDeviceId;
using ringmx::tls::offload_internal::thread_counts;
using ringmx::tls::offload_internal::thread_kdf_scope;
namespace evp = ringmx::tls::evp;

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
  if (rng != nullptr && key != nullptr && key->devId == INVALID_DEVID && rng->devId == kDeviceId) {
    key->devId = kDeviceId;
  }
  return library(rng, keysize, key);
}

namespace ringmx::tls {

OffloadScope::OffloadScope(bool on) : previous_(offload_internal::thread_kdf_scope()) {
  offload_internal::thread_kdf_scope() = on;
}
OffloadScope::~OffloadScope() {
  offload_internal::thread_kdf_scope() = previous_;
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

std::optional<evp::HkdfHash> offloaded_hkdf(int type) {
  if (!thread_kdf_scope()) return std::nullopt;
  if (type == WC_SHA256) return evp::HkdfHash::sha256;
  if (type == WC_SHA384) return evp::HkdfHash::sha384;
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
  ++thread_counts().hkdf;
  return evp::hkdf_extract(*hash, salt, saltSz, inKey, inKeySz, out) ? 0 : WC_HW_E;
}

extern "C" int wc_HKDF_Expand(int type, const byte* inKey, word32 inKeySz, const byte* info,
                              word32 infoSz, byte* out, word32 outSz) {
  using Expand = int (*)(int, const byte*, word32, const byte*, word32, byte*, word32);
  static const auto library = reinterpret_cast<Expand>(dlsym(RTLD_NEXT, "wc_HKDF_Expand"));
  const auto hash = offloaded_hkdf(type);
  if (!hash || out == nullptr || inKey == nullptr || (info == nullptr && infoSz > 0) ||
      outSz > 255 * evp::hkdf_hash_size(*hash)) {
    return library != nullptr ? library(type, inKey, inKeySz, info, infoSz, out, outSz)
                              : NOT_COMPILED_IN;
  }
  ++thread_counts().hkdf;
  return evp::hkdf_expand(*hash, inKey, inKeySz, info, infoSz, out, outSz) ? 0 : WC_HW_E;
}

// wolfSSL_new gives each session a random generator of its own,
// wc_InitRng_ex(ssl->rng, heap, ssl->devId), and every instantiation of
// wolfSSL's Hash_DRBG runs its known-answer health test first: about 18 us
// of plain-C SHA-256 per handshake. With the offload's device id every block
// is asked of the device before the DRBG is looked at (wc_RNG_GenerateBlock
// calls wc_CryptoCb_RandomBlock first), and the callback above answers from
// libcrypto, so such a generator needs no Hash_DRBG: this definition (first
// in the dynamic linker's search order, called through libwolfssl's PLT)
// makes it with none. Its status stays "not initialised", so were the
// device ever to decline, generation would fail (RNG_FAILURE_E) rather than
// use a DRBG that does not exist; wc_FreeRng has nothing to free. Every
// other generator is the library's own.
extern "C" int wc_InitRng_ex(WC_RNG* rng, void* heap, int devId) {
  using Init = int (*)(WC_RNG*, void*, int);
  static const auto library = reinterpret_cast<Init>(dlsym(RTLD_NEXT, "wc_InitRng_ex"));
  if (rng == nullptr || devId != kDeviceId) {
    return library != nullptr ? library(rng, heap, devId) : NOT_COMPILED_IN;
  }
  memset(rng, 0, sizeof *rng);
  rng->heap = heap;
  rng->devId = devId;
  rng->seed.devId = devId;
  rng->seed.fd = -1;
  ++thread_counts().random_generators;
  return 0;
}
