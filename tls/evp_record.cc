#include "tls/evp_record.h"

#include <openssl/evp.h>

#include <climits>

namespace ringmx::tls::evp {
namespace {

const EVP_CIPHER* cipher_of(RecordCipher cipher) {
  switch (cipher) {
    case RecordCipher::aes_128_gcm:
      return EVP_aes_128_gcm();
    case RecordCipher::aes_256_gcm:
      return EVP_aes_256_gcm();
    case RecordCipher::chacha20_poly1305:
      return EVP_chacha20_poly1305();
  }
  return nullptr;
}

// Encrypt or decrypt by the direction: the Encrypt/Decrypt functions rather
// than EVP_Cipher*, whose direction argument -1 and 0/1 are easy to confuse.
int init(EVP_CIPHER_CTX* ctx, bool seal, const EVP_CIPHER* cipher, const unsigned char* key,
         const unsigned char* iv) {
  return seal ? EVP_EncryptInit_ex(ctx, cipher, nullptr, key, iv)
              : EVP_DecryptInit_ex(ctx, cipher, nullptr, key, iv);
}

class EvpRecordAead final : public RecordAead {
 public:
  EvpRecordAead(EVP_CIPHER_CTX* ctx, bool seal) : ctx_(ctx), seal_(seal) {}
  ~EvpRecordAead() override { EVP_CIPHER_CTX_free(ctx_); }  // wipes the key schedule
  EvpRecordAead(const EvpRecordAead&) = delete;
  EvpRecordAead& operator=(const EvpRecordAead&) = delete;

  bool begin(const std::uint8_t* nonce, std::span<const std::uint8_t> aad) override {
    int n = 0;
    return init(ctx_, seal_, nullptr, nullptr, nonce) == 1 && aad.size() <= INT_MAX &&
           (seal_ ? EVP_EncryptUpdate(ctx_, nullptr, &n, aad.data(), static_cast<int>(aad.size()))
                  : EVP_DecryptUpdate(ctx_, nullptr, &n, aad.data(),
                                      static_cast<int>(aad.size()))) == 1;
  }

  bool update(const std::uint8_t* in, std::size_t len, std::uint8_t* out) override {
    if (len == 0) return true;
    if (len > INT_MAX) return false;
    int n = 0;
    const int ok = seal_ ? EVP_EncryptUpdate(ctx_, out, &n, in, static_cast<int>(len))
                         : EVP_DecryptUpdate(ctx_, out, &n, in, static_cast<int>(len));
    // Both ciphers are stream modes: every byte in is a byte out, at once.
    return ok == 1 && n == static_cast<int>(len);
  }

  bool seal_tag(std::uint8_t* tag) override {
    int n = 0;
    unsigned char none[EVP_MAX_BLOCK_LENGTH];  // stream modes write nothing at the end
    return seal_ && EVP_EncryptFinal_ex(ctx_, none, &n) == 1 && n == 0 &&
           EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kRecordTag), tag) == 1;
  }

  bool open_tag(const std::uint8_t* tag) override {
    int n = 0;
    unsigned char none[EVP_MAX_BLOCK_LENGTH];
    // SET_TAG copies the tag; the const_cast only meets the ctrl's void*.
    return !seal_ &&
           EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kRecordTag),
                               const_cast<std::uint8_t*>(tag)) == 1 &&
           EVP_DecryptFinal_ex(ctx_, none, &n) == 1 && n == 0;
  }

 private:
  EVP_CIPHER_CTX* ctx_;
  bool seal_;
};

}  // namespace

std::unique_ptr<RecordAead> make_record_aead(RecordCipher cipher, std::span<const std::uint8_t> key,
                                             bool seal) {
  const EVP_CIPHER* evp_cipher = cipher_of(cipher);
  if (evp_cipher == nullptr ||
      key.size() != static_cast<size_t>(EVP_CIPHER_key_length(evp_cipher)) ||
      EVP_CIPHER_iv_length(evp_cipher) != static_cast<int>(kRecordNonce)) {
    return nullptr;
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return nullptr;
  // The key schedule, once for the direction's life; records load only IVs.
  if (init(ctx, seal, evp_cipher, key.data(), nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return std::make_unique<EvpRecordAead>(ctx, seal);
}

}  // namespace ringmx::tls::evp
