#include "tls/evp_sha.h"

// SHA*_Update and the SHA*_CTX layouts are deprecated in OpenSSL 3 but still
// exported; EVP_Digest* cannot start from a given chaining state.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

namespace ringmx::tls::evp {

// The contexts are loaded with the chaining state and an empty buffer
// (num = 0), and SHA*_Update is given whole blocks only: it then hands them
// all to the assembly block function in one call (the multi-block entry
// that SHA*_Transform, one block per call, is not) and buffers nothing. The
// bit counts (Nl, Nh) are never read, since libcrypto's Final is never
// called. The context is wiped afterwards: it holds HMAC's keyed state.

void sha1_blocks(uint32_t state[5], const uint8_t* data, size_t blocks) {
  SHA_CTX ctx = {};
  ctx.h0 = state[0];
  ctx.h1 = state[1];
  ctx.h2 = state[2];
  ctx.h3 = state[3];
  ctx.h4 = state[4];
  SHA1_Update(&ctx, data, blocks * kSha1Block);
  state[0] = ctx.h0;
  state[1] = ctx.h1;
  state[2] = ctx.h2;
  state[3] = ctx.h3;
  state[4] = ctx.h4;
  OPENSSL_cleanse(&ctx, sizeof ctx);
}

void sha256_blocks(uint32_t state[8], const uint8_t* data, size_t blocks) {
  SHA256_CTX ctx = {};
  static_assert(sizeof ctx.h == 8 * sizeof(uint32_t));
  std::memcpy(ctx.h, state, sizeof ctx.h);
  SHA256_Update(&ctx, data, blocks * kSha256Block);
  std::memcpy(state, ctx.h, sizeof ctx.h);
  OPENSSL_cleanse(&ctx, sizeof ctx);
}

void sha512_blocks(uint64_t state[8], const uint8_t* data, size_t blocks) {
  SHA512_CTX ctx = {};
  static_assert(sizeof ctx.h == 8 * sizeof(uint64_t));
  std::memcpy(ctx.h, state, sizeof ctx.h);
  SHA512_Update(&ctx, data, blocks * kSha512Block);
  std::memcpy(state, ctx.h, sizeof ctx.h);
  OPENSSL_cleanse(&ctx, sizeof ctx);
}

}  // namespace ringmx::tls::evp
