// The low-level SHA256_*/SHA384_* functions are deprecated in OpenSSL 3 but
// remain in 3.x; through EVP_MAC every HMAC would cost a provider fetch and
// context allocation, more than the hashing of these short inputs.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "tls/evp_hkdf.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#include <algorithm>

namespace ringmx::tls::evp {
namespace {

constexpr size_t kMaxDigest = 48;

// One HMAC (RFC 2104) over up to three pieces of message, on one hash.
template <typename Ctx, int (*Init)(Ctx*), int (*Update)(Ctx*, const void*, size_t),
          int (*Final)(unsigned char*, Ctx*), size_t Block, size_t Digest>
struct Hmac {
  static void mac(const uint8_t* key, size_t key_len, const uint8_t* a, size_t a_len,
                  const uint8_t* b, size_t b_len, const uint8_t* c, size_t c_len, uint8_t* out) {
    uint8_t k[Block] = {};
    Ctx ctx;
    if (key_len > Block) {  // never in TLS 1.3 (keys are one digest), but RFC 2104 says so
      Init(&ctx);
      Update(&ctx, key, key_len);
      Final(k, &ctx);
    } else if (key_len > 0) {
      memcpy(k, key, key_len);
    }
    uint8_t pad[Block];
    for (size_t i = 0; i < Block; ++i)
      pad[i] = k[i] ^ 0x36;
    Init(&ctx);
    Update(&ctx, pad, Block);
    if (a_len > 0) Update(&ctx, a, a_len);
    if (b_len > 0) Update(&ctx, b, b_len);
    if (c_len > 0) Update(&ctx, c, c_len);
    uint8_t inner[Digest];
    Final(inner, &ctx);
    for (size_t i = 0; i < Block; ++i)
      pad[i] = k[i] ^ 0x5c;
    Init(&ctx);
    Update(&ctx, pad, Block);
    Update(&ctx, inner, Digest);
    Final(out, &ctx);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(&ctx, sizeof ctx);
  }
};

using HmacSha256 = Hmac<SHA256_CTX, SHA256_Init, SHA256_Update, SHA256_Final, 64, 32>;
using HmacSha384 = Hmac<SHA512_CTX, SHA384_Init, SHA384_Update, SHA384_Final, 128, 48>;

void hmac(HkdfHash hash, const uint8_t* key, size_t key_len, const uint8_t* a, size_t a_len,
          const uint8_t* b, size_t b_len, const uint8_t* c, size_t c_len, uint8_t* out) {
  if (hash == HkdfHash::sha256)
    HmacSha256::mac(key, key_len, a, a_len, b, b_len, c, c_len, out);
  else
    HmacSha384::mac(key, key_len, a, a_len, b, b_len, c, c_len, out);
}

}  // namespace

bool hkdf_extract(HkdfHash hash, const uint8_t* salt, size_t salt_len, const uint8_t* ikm,
                  size_t ikm_len, uint8_t* prk) {
  hmac(hash, salt, salt_len, ikm, ikm_len, nullptr, 0, nullptr, 0, prk);
  return true;
}

bool hkdf_expand(HkdfHash hash, const uint8_t* prk, size_t prk_len, const uint8_t* info,
                 size_t info_len, uint8_t* okm, size_t okm_len) {
  const size_t size = hkdf_hash_size(hash);
  if (okm_len > 255 * size) return false;
  uint8_t t[kMaxDigest];
  size_t t_len = 0;
  for (uint8_t i = 1; okm_len > 0; ++i) {
    hmac(hash, prk, prk_len, t, t_len, info, info_len, &i, 1, t);
    t_len = size;
    const size_t n = std::min(okm_len, size);
    memcpy(okm, t, n);
    okm += n;
    okm_len -= n;
  }
  OPENSSL_cleanse(t, sizeof t);
  return true;
}

}  // namespace ringmx::tls::evp
