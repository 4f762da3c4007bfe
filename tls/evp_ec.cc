// The EC_KEY interface is deprecated in OpenSSL 3 in favour of EVP_PKEY, but
// it skips the provider lookups that would cost more than the arithmetic on
// a per-handshake path; it stays supported throughout 3.x.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "tls/evp_ec.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdh.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>

#include <memory>

namespace ringmx::tls::evp {
namespace {

struct Free {
  void operator()(EC_KEY* p) const { EC_KEY_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

const EC_GROUP* p256() {
  // Immutable once made; one per thread avoids any question of sharing.
  thread_local std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
      EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), &EC_GROUP_free);
  return group.get();
}

// A key holding only the private scalar: enough for ECDH and signing.
Owned<EC_KEY> private_key(const uint8_t priv[kP256Scalar]) {
  Owned<EC_KEY> key(EC_KEY_new());
  Owned<BIGNUM> d(BN_bin2bn(priv, kP256Scalar, nullptr));
  if (!key || !d || p256() == nullptr || EC_KEY_set_group(key.get(), p256()) != 1 ||
      EC_KEY_set_private_key(key.get(), d.get()) != 1) {
    return nullptr;
  }
  return key;
}

}  // namespace

bool p256_keygen(uint8_t priv[kP256Scalar], uint8_t pub[kP256Point]) {
  Owned<EC_KEY> key(EC_KEY_new());
  if (!key || p256() == nullptr || EC_KEY_set_group(key.get(), p256()) != 1 ||
      EC_KEY_generate_key(key.get()) != 1) {
    return false;
  }
  return BN_bn2binpad(EC_KEY_get0_private_key(key.get()), priv, kP256Scalar) == kP256Scalar &&
         EC_POINT_point2oct(p256(), EC_KEY_get0_public_key(key.get()),
                            POINT_CONVERSION_UNCOMPRESSED, pub, kP256Point, nullptr) == kP256Point;
}

bool p256_ecdh(const uint8_t priv[kP256Scalar], const uint8_t* peer, size_t peer_len,
               uint8_t out[kP256Scalar]) {
  auto key = private_key(priv);
  Owned<EC_POINT> point(p256() ? EC_POINT_new(p256()) : nullptr);
  if (!key || !point || EC_POINT_oct2point(p256(), point.get(), peer, peer_len, nullptr) != 1) {
    return false;
  }
  return ECDH_compute_key(out, kP256Scalar, point.get(), key.get(), nullptr) ==
         static_cast<int>(kP256Scalar);
}

bool p256_sign(const uint8_t priv[kP256Scalar], const uint8_t* digest, size_t digest_len,
               uint8_t* sig, size_t* sig_len) {
  auto key = private_key(priv);
  if (!key) return false;
  Owned<ECDSA_SIG> s(ECDSA_do_sign(digest, static_cast<int>(digest_len), key.get()));
  if (!s) return false;
  const int need = i2d_ECDSA_SIG(s.get(), nullptr);
  if (need <= 0 || static_cast<size_t>(need) > *sig_len) return false;
  unsigned char* p = sig;
  *sig_len = static_cast<size_t>(i2d_ECDSA_SIG(s.get(), &p));
  return true;
}

}  // namespace ringmx::tls::evp
