// One direction of tls/record_layer.h's AEAD, through libcrypto's EVP
// (AES-NI, PCLMULQDQ, the vectorised ChaCha20). Like tls/evp_aead.h this
// header carries no library types: OpenSSL's and wolfSSL's headers cannot
// share a translation unit, so only evp_record.cc includes OpenSSL.
//
// The key schedule is computed once, when the direction is created; each
// record then only loads its nonce. A record is processed as a stream:
// begin() with nonce and AAD, update() over its bytes in as many pieces as
// they arrive in, then seal_tag() or open_tag(). Nothing is buffered here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

// OpenSSL's EVP_CIPHER_CTX, declared without its header (see above).
struct evp_cipher_ctx_st;

namespace ringmx::tls::evp {

enum class RecordCipher : std::uint8_t { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };

inline constexpr std::size_t kRecordNonce = 12;  // every cipher here
inline constexpr std::size_t kRecordTag = 16;

class RecordAead {
 public:
  // nullptr when the key has the wrong length or libcrypto fails.
  // `seal`: this direction encrypts; else it decrypts.
  static std::unique_ptr<RecordAead> create(RecordCipher cipher, std::span<const std::uint8_t> key,
                                            bool seal);
  ~RecordAead();
  RecordAead(const RecordAead&) = delete;
  RecordAead& operator=(const RecordAead&) = delete;

  // Starts a record: `nonce` is kRecordNonce bytes.
  bool begin(const std::uint8_t* nonce, std::span<const std::uint8_t> aad);
  // The record's next `len` bytes, `in` to `out` (in == out is allowed).
  bool update(const std::uint8_t* in, std::size_t len, std::uint8_t* out);
  // Ends a sealed record: writes its kRecordTag-byte tag.
  bool seal_tag(std::uint8_t* tag);
  // Ends an opened record: false when `tag` (kRecordTag bytes) does not
  // authenticate what update() decrypted.
  bool open_tag(const std::uint8_t* tag);

 private:
  RecordAead(evp_cipher_ctx_st* ctx, bool seal) : ctx_(ctx), seal_(seal) {}
  evp_cipher_ctx_st* ctx_;
  bool seal_;
};

}  // namespace ringmx::tls::evp
