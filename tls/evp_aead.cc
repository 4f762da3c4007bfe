#include "tls/evp_aead.h"

#include <openssl/evp.h>

#include <climits>
#include <cstring>

namespace ringmx::tls::evp {
namespace {

// One EVP context per direction and key size per thread, set up with its
// cipher once; each call only loads key and IV. The key schedule is redone
// only when the key changes (consecutive records of one connection).
class GcmContext {
 public:
  GcmContext(bool encrypt, size_t key_len) : encrypt_(encrypt) {
    ctx_ = EVP_CIPHER_CTX_new();
    const EVP_CIPHER* cipher = key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    if (ctx_ != nullptr &&
        EVP_CipherInit_ex(ctx_, cipher, nullptr, nullptr, nullptr, encrypt) != 1) {
      EVP_CIPHER_CTX_free(ctx_);
      ctx_ = nullptr;
    }
  }
  ~GcmContext() {
    EVP_CIPHER_CTX_free(ctx_);
    OPENSSL_cleanse(key_, sizeof key_);
  }
  GcmContext(const GcmContext&) = delete;
  GcmContext& operator=(const GcmContext&) = delete;

  // Loads key (if it changed) and IV.
  bool start(const uint8_t* key, size_t key_len, const uint8_t* iv, size_t iv_len) {
    if (ctx_ == nullptr || iv_len > INT_MAX) return false;
    if (iv_len != iv_len_) {
      if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv_len), nullptr) !=
          1) {
        return false;
      }
      iv_len_ = iv_len;
    }
    const bool same_key = key_set_ && std::memcmp(key_, key, key_len) == 0;
    if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, same_key ? nullptr : key, iv, encrypt_) != 1) {
      key_set_ = false;
      return false;
    }
    if (!same_key) {
      std::memcpy(key_, key, key_len);
      key_set_ = true;
    }
    return true;
  }
  EVP_CIPHER_CTX* get() const { return ctx_; }

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;
  bool encrypt_;
  size_t iv_len_ = 12;  // the GCM default
  uint8_t key_[32] = {};
  bool key_set_ = false;
};

GcmContext* context_for(bool encrypt, size_t key_len) {
  if (key_len != 16 && key_len != 32) return nullptr;
  thread_local GcmContext enc128(true, 16), enc256(true, 32), dec128(false, 16), dec256(false, 32);
  if (encrypt) return key_len == 16 ? &enc128 : &enc256;
  return key_len == 16 ? &dec128 : &dec256;
}

bool update(EVP_CIPHER_CTX* ctx, const uint8_t* aad, size_t aad_len, const uint8_t* in, size_t len,
            uint8_t* out) {
  int n = 0;
  if (aad_len > INT_MAX || len > INT_MAX) return false;
  if (aad_len > 0 && EVP_CipherUpdate(ctx, nullptr, &n, aad, static_cast<int>(aad_len)) != 1) {
    return false;
  }
  return len == 0 || EVP_CipherUpdate(ctx, out, &n, in, static_cast<int>(len)) == 1;
}

}  // namespace

bool aes_gcm_seal(const uint8_t* key, size_t key_len, const uint8_t* iv, size_t iv_len,
                  const uint8_t* aad, size_t aad_len, const uint8_t* in, size_t len, uint8_t* out,
                  uint8_t* tag, size_t tag_len) {
  GcmContext* c = context_for(true, key_len);
  if (c == nullptr || !c->start(key, key_len, iv, iv_len)) return false;
  int n = 0;
  return update(c->get(), aad, aad_len, in, len, out) &&
         EVP_CipherFinal_ex(c->get(), out + len, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(c->get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_len), tag) == 1;
}

bool aes_gcm_open(const uint8_t* key, size_t key_len, const uint8_t* iv, size_t iv_len,
                  const uint8_t* aad, size_t aad_len, const uint8_t* in, size_t len, uint8_t* out,
                  const uint8_t* tag, size_t tag_len) {
  GcmContext* c = context_for(false, key_len);
  if (c == nullptr || !c->start(key, key_len, iv, iv_len)) return false;
  int n = 0;
  return update(c->get(), aad, aad_len, in, len, out) &&
         EVP_CIPHER_CTX_ctrl(c->get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_len),
                             const_cast<uint8_t*>(tag)) == 1 &&
         EVP_CipherFinal_ex(c->get(), out + len, &n) == 1;
}

}  // namespace ringmx::tls::evp
