// RSA_* is deprecated in OpenSSL 3 but remains supported in 3.x and is the
// only way to run the raw private operation on a cached key without the
// provider round trips EVP_PKEY would add per call.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "tls/evp_rsa.h"

#include <openssl/bn.h>
#include <openssl/rsa.h>

#include <map>
#include <memory>
#include <vector>

namespace ringmx::tls::evp {
namespace {

struct RsaFree {
  void operator()(RSA* r) const { RSA_free(r); }
};
using OwnedRsa = std::unique_ptr<RSA, RsaFree>;

BIGNUM* bn(std::span<const uint8_t> b) {
  return BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr);
}

// Builds an RSA key with CRT parameters (dP, dQ, qInv), which make the
// private operation about 3x faster than with d alone.
OwnedRsa make_key(const RsaPrivateParts& k) {
  OwnedRsa rsa(RSA_new());
  BIGNUM *n = bn(k.n), *e = bn(k.e), *d = bn(k.d), *p = bn(k.p), *q = bn(k.q);
  BIGNUM *dp = BN_new(), *dq = BN_new(), *qinv = BN_new(), *t = BN_new();
  BN_CTX* ctx = BN_CTX_new();
  bool ok = rsa && n && e && d && p && q && dp && dq && qinv && t && ctx &&
            BN_sub(t, p, BN_value_one()) && BN_mod(dp, d, t, ctx) && BN_sub(t, q, BN_value_one()) &&
            BN_mod(dq, d, t, ctx) && BN_mod_inverse(qinv, q, p, ctx) != nullptr;
  BN_CTX_free(ctx);
  BN_clear_free(t);
  // Each set0 takes ownership only when it succeeds; whatever is still
  // ours afterwards is freed below.
  if (ok && RSA_set0_key(rsa.get(), n, e, d) == 1) {
    n = e = d = nullptr;
    if (RSA_set0_factors(rsa.get(), p, q) == 1) {
      p = q = nullptr;
      if (RSA_set0_crt_params(rsa.get(), dp, dq, qinv) == 1) return rsa;
    }
  }
  for (BIGNUM* b : {n, e, d, p, q, dp, dq, qinv})
    BN_clear_free(b);
  return nullptr;
}

OwnedRsa make_public_key(std::span<const uint8_t> n_bytes, std::span<const uint8_t> e_bytes) {
  OwnedRsa rsa(RSA_new());
  BIGNUM *n = bn(n_bytes), *e = bn(e_bytes);
  if (rsa && n && e && RSA_set0_key(rsa.get(), n, e, nullptr) == 1) return rsa;
  BN_free(n);
  BN_free(e);
  return nullptr;
}

}  // namespace

bool rsa_public(std::span<const uint8_t> n, std::span<const uint8_t> e, const uint8_t* in,
                size_t in_len, uint8_t* out, size_t out_len) {
  thread_local std::map<std::vector<uint8_t>, OwnedRsa> cache;
  std::vector<uint8_t> id(n.begin(), n.end());
  id.insert(id.end(), e.begin(), e.end());
  auto it = cache.find(id);
  if (it == cache.end()) {
    OwnedRsa rsa = make_public_key(n, e);
    if (!rsa) return false;
    if (cache.size() >= 64) cache.clear();
    it = cache.emplace(std::move(id), std::move(rsa)).first;
  }
  RSA* rsa = it->second.get();
  if (out_len != static_cast<size_t>(RSA_size(rsa)) || in_len != out_len) return false;
  return RSA_public_encrypt(static_cast<int>(in_len), in, out, rsa, RSA_NO_PADDING) ==
         static_cast<int>(out_len);
}

bool rsa_private(const RsaPrivateParts& key, const uint8_t* in, size_t in_len, uint8_t* out,
                 size_t out_len) {
  // A server has a handful of RSA keys; one cached key object per modulus.
  thread_local std::map<std::vector<uint8_t>, OwnedRsa> cache;
  std::vector<uint8_t> modulus(key.n.begin(), key.n.end());
  auto it = cache.find(modulus);
  if (it == cache.end()) {
    OwnedRsa rsa = make_key(key);
    if (!rsa) return false;
    if (cache.size() >= 64) cache.clear();  // bound: reloads bring new keys
    it = cache.emplace(std::move(modulus), std::move(rsa)).first;
  }
  RSA* rsa = it->second.get();
  if (out_len != static_cast<size_t>(RSA_size(rsa)) || in_len != out_len) return false;
  return RSA_private_encrypt(static_cast<int>(in_len), in, out, rsa, RSA_NO_PADDING) ==
         static_cast<int>(out_len);
}

}  // namespace ringmx::tls::evp
