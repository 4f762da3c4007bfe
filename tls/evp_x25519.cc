#include "tls/evp_x25519.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace ringmx::tls::evp {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

// Contexts made once per thread: fetching the X25519 implementation from
// the provider is a good part of the cost of a fresh context. Each is used
// by its own thread only.
EVP_PKEY_CTX* keygen_ctx() {
  thread_local Owned<EVP_PKEY_CTX> ctx = [] {
    Owned<EVP_PKEY_CTX> c(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
    if (c && EVP_PKEY_keygen_init(c.get()) != 1) c.reset();
    return c;
  }();
  return ctx.get();
}

EVP_PKEY_CTX* fromdata_ctx() {
  thread_local Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  return ctx.get();
}

// The private key as libcrypto's object. Given both halves, libcrypto takes
// them as they are; given the private half alone it computes the public one.
Owned<EVP_PKEY> private_key(const uint8_t priv[kX25519Key], const uint8_t* pub) {
  if (pub == nullptr) {
    return Owned<EVP_PKEY>(
        EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv, kX25519Key));
  }
  EVP_PKEY_CTX* ctx = fromdata_ctx();
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
                                                           const_cast<uint8_t*>(priv), kX25519Key),
                         OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                           const_cast<uint8_t*>(pub), kX25519Key),
                         OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1) {
    return nullptr;
  }
  return Owned<EVP_PKEY>(key);
}

}  // namespace

bool x25519_keygen(uint8_t priv[kX25519Key], uint8_t pub[kX25519Key]) {
  EVP_PKEY_CTX* ctx = keygen_ctx();
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen(ctx, &raw) != 1) return false;
  Owned<EVP_PKEY> key(raw);
  size_t priv_len = kX25519Key, pub_len = kX25519Key;
  return EVP_PKEY_get_raw_private_key(key.get(), priv, &priv_len) == 1 && priv_len == kX25519Key &&
         EVP_PKEY_get_raw_public_key(key.get(), pub, &pub_len) == 1 && pub_len == kX25519Key;
}

bool x25519_derive(const uint8_t priv[kX25519Key], const uint8_t* pub,
                   const uint8_t peer[kX25519Key], uint8_t out[kX25519Key]) {
  auto key = private_key(priv, pub);
  Owned<EVP_PKEY> peer_key(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer, kX25519Key));
  if (!key || !peer_key) return false;
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  size_t len = kX25519Key;
  // EVP_PKEY_derive fails on an all-zero result (OpenSSL 3 checks it).
  return ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
         EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) == 1 &&
         EVP_PKEY_derive(ctx.get(), out, &len) == 1 && len == kX25519Key;
}

}  // namespace ringmx::tls::evp
