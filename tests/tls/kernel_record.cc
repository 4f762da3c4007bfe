#include "tests/tls/kernel_record.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <cstring>
#include <stdexcept>

namespace ringmx::tls::testing {
namespace {

constexpr size_t kTag = 16;
constexpr size_t kHeader = 5;

uint64_t get_be64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}
void put_be64(unsigned char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v);
    v >>= 8;
  }
}

struct Params {
  bool tls13 = false;
  bool chacha = false;
  const unsigned char* key = nullptr;
  size_t key_len = 0;
  unsigned char nonce[12] = {};  // for this record
  unsigned char seq[8] = {};     // for this record
};

Params params_for(const KtlsCryptoInfo& info, uint64_t index) {
  Params p;
  p.tls13 = info.base.version == TLS_1_3_VERSION;
  uint64_t seq = 0;
  switch (info.base.cipher_type) {
    case TLS_CIPHER_AES_GCM_128:
    case TLS_CIPHER_AES_GCM_256: {
      const bool is128 = info.base.cipher_type == TLS_CIPHER_AES_GCM_128;
      const unsigned char* salt = is128 ? info.aes_gcm_128.salt : info.aes_gcm_256.salt;
      const unsigned char* iv = is128 ? info.aes_gcm_128.iv : info.aes_gcm_256.iv;
      const unsigned char* rec = is128 ? info.aes_gcm_128.rec_seq : info.aes_gcm_256.rec_seq;
      p.key = is128 ? info.aes_gcm_128.key : info.aes_gcm_256.key;
      p.key_len = is128 ? 16 : 32;
      seq = get_be64(rec) + index;
      std::memcpy(p.nonce, salt, 4);
      if (p.tls13) {
        put_be64(p.nonce + 4, get_be64(iv) ^ seq);
      } else {
        put_be64(p.nonce + 4, get_be64(iv) + index);  // explicit nonce, incremented per record
      }
      break;
    }
    case TLS_CIPHER_CHACHA20_POLY1305: {
      const auto& c = info.chacha20_poly1305;
      p.chacha = true;
      p.key = c.key;
      p.key_len = 32;
      seq = get_be64(c.rec_seq) + index;
      std::memcpy(p.nonce, c.iv, 12);
      put_be64(p.nonce + 4, get_be64(c.iv + 4) ^ seq);
      break;
    }
    default:
      throw std::runtime_error("cipher type not modelled");
  }
  put_be64(p.seq, seq);
  return p;
}

bool aead(const Params& p, bool encrypt, const unsigned char* aad, size_t aad_len,
          const unsigned char* in, size_t len, unsigned char* out, unsigned char* tag) {
  if (p.chacha) {
    return (encrypt ? wc_ChaCha20Poly1305_Encrypt(p.key, p.nonce, aad, aad_len, in, len, out, tag)
                    : wc_ChaCha20Poly1305_Decrypt(p.key, p.nonce, aad, aad_len, in, len, tag,
                                                  out)) == 0;
  }
  Aes aes;
  wc_AesInit(&aes, nullptr, INVALID_DEVID);
  int rc = wc_AesGcmSetKey(&aes, p.key, static_cast<word32>(p.key_len));
  if (rc == 0) {
    rc = encrypt ? wc_AesGcmEncrypt(&aes, out, in, len, p.nonce, 12, tag, kTag, aad, aad_len)
                 : wc_AesGcmDecrypt(&aes, out, in, len, p.nonce, 12, tag, kTag, aad, aad_len);
  }
  wc_AesFree(&aes);
  return rc == 0;
}

bool explicit_nonce(const Params& p) {
  return !p.tls13 && !p.chacha;
}

}  // namespace

uint64_t rec_seq(const KtlsCryptoInfo& info) {
  switch (info.base.cipher_type) {
    case TLS_CIPHER_AES_GCM_128:
      return get_be64(info.aes_gcm_128.rec_seq);
    case TLS_CIPHER_AES_GCM_256:
      return get_be64(info.aes_gcm_256.rec_seq);
    default:
      return get_be64(info.chacha20_poly1305.rec_seq);
  }
}

std::vector<std::byte> kernel_seal(const KtlsCryptoInfo& info, uint64_t index, uint8_t content_type,
                                   std::string_view plain) {
  const Params p = params_for(info, index);
  std::vector<unsigned char> inner(plain.begin(), plain.end());
  if (p.tls13) inner.push_back(content_type);  // TLSInnerPlaintext, no padding
  const size_t prefix = explicit_nonce(p) ? 8 : 0;
  const size_t body = prefix + inner.size() + kTag;

  std::vector<unsigned char> rec(kHeader + body);
  rec[0] = p.tls13 ? 23 : content_type;
  rec[1] = 3;
  rec[2] = 3;
  rec[3] = static_cast<unsigned char>(body >> 8);
  rec[4] = static_cast<unsigned char>(body);
  if (prefix) std::memcpy(&rec[kHeader], p.nonce + 4, 8);

  unsigned char aad[13];
  size_t aad_len = 0;
  if (p.tls13) {
    std::memcpy(aad, rec.data(), kHeader);
    aad_len = kHeader;
  } else {
    std::memcpy(aad, p.seq, 8);
    aad[8] = content_type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = static_cast<unsigned char>(plain.size() >> 8);
    aad[12] = static_cast<unsigned char>(plain.size());
    aad_len = 13;
  }
  unsigned char* ct = &rec[kHeader + prefix];
  if (!aead(p, true, aad, aad_len, inner.data(), inner.size(), ct, ct + inner.size())) {
    throw std::runtime_error("seal failed");
  }
  const auto* b = reinterpret_cast<const std::byte*>(rec.data());
  return {b, b + rec.size()};
}

std::optional<Opened> kernel_open(const KtlsCryptoInfo& info, uint64_t index,
                                  std::span<const std::byte> record) {
  Params p = params_for(info, index);
  const auto* rec = reinterpret_cast<const unsigned char*>(record.data());
  if (record.size() < kHeader) return std::nullopt;
  const size_t body = (size_t{rec[3]} << 8) | rec[4];
  if (record.size() < kHeader + body) return std::nullopt;
  const size_t prefix = explicit_nonce(p) ? 8 : 0;
  if (body < prefix + kTag) return std::nullopt;
  if (prefix) std::memcpy(p.nonce + 4, rec + kHeader, 8);  // the sender's explicit nonce
  const size_t ct_len = body - prefix - kTag;

  unsigned char aad[13];
  size_t aad_len = 0;
  if (p.tls13) {
    std::memcpy(aad, rec, kHeader);
    aad_len = kHeader;
  } else {
    std::memcpy(aad, p.seq, 8);
    aad[8] = rec[0];
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = static_cast<unsigned char>(ct_len >> 8);
    aad[12] = static_cast<unsigned char>(ct_len);
    aad_len = 13;
  }
  std::vector<unsigned char> plain(ct_len);
  const unsigned char* ct = rec + kHeader + prefix;
  unsigned char tag[kTag];
  std::memcpy(tag, ct + ct_len, kTag);
  if (!aead(p, false, aad, aad_len, ct, ct_len, plain.data(), tag)) {
    return std::nullopt;
  }
  Opened out;
  out.record_size = kHeader + body;
  if (p.tls13) {
    while (!plain.empty() && plain.back() == 0)
      plain.pop_back();  // padding
    if (plain.empty()) return std::nullopt;
    out.content_type = plain.back();
    plain.pop_back();
  } else {
    out.content_type = rec[0];
  }
  out.plain.assign(plain.begin(), plain.end());
  return out;
}

}  // namespace ringmx::tls::testing
