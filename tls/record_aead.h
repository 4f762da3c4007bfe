// One direction of tls/record_layer.h's AEAD: what a record is sealed or
// opened with once wolfSSL's handshake is over. Two implementations:
//   - tls/mb_record.cc: AES-GCM in Intel's ipsec-mb, whose VAES/AVX-512 code
//     runs about 3x libcrypto's on CPUs that have those instructions;
//   - tls/evp_record.cc: libcrypto's EVP, for every cipher and CPU.
// make_record_aead() picks one per cipher, once per process (logged as
// `event=tls.record_crypto`).
//
// A record is processed as a stream: begin() with nonce and AAD, update()
// over its bytes in as many pieces as they arrive in, then seal_tag() or
// open_tag(). The key schedule is computed once, when the direction is
// created. Nothing is buffered here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace ringmx::tls {

enum class RecordCipher : std::uint8_t { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };

inline constexpr std::size_t kRecordNonce = 12;  // every cipher here
inline constexpr std::size_t kRecordTag = 16;

class RecordAead {
 public:
  virtual ~RecordAead() = default;
  // Starts a record: `nonce` is kRecordNonce bytes.
  virtual bool begin(const std::uint8_t* nonce, std::span<const std::uint8_t> aad) = 0;
  // The record's next `len` bytes, `in` to `out` (in == out is allowed).
  virtual bool update(const std::uint8_t* in, std::size_t len, std::uint8_t* out) = 0;
  // Ends a sealed record: writes its kRecordTag-byte tag.
  virtual bool seal_tag(std::uint8_t* tag) = 0;
  // Ends an opened record: false when `tag` (kRecordTag bytes) does not
  // authenticate what update() decrypted.
  virtual bool open_tag(const std::uint8_t* tag) = 0;
};

// Which implementation records of `cipher` use in this process: "ipsec-mb"
// or "libcrypto". RINGMX_TLS_AES=libcrypto in the environment keeps AES-GCM
// on libcrypto (for comparisons); read once.
std::string_view record_aead_backend(RecordCipher cipher);

// Logs record_aead_backend() of each cipher, once per process
// (`event=tls.record_crypto aes_gcm=ipsec-mb chacha20_poly1305=libcrypto`).
void log_record_crypto();

// A direction for `key` (`seal`: it encrypts, else it decrypts), from the
// backend above; nullptr when the key has the wrong length or the library
// fails.
std::unique_ptr<RecordAead> make_record_aead(RecordCipher cipher, std::span<const std::uint8_t> key,
                                             bool seal);

}  // namespace ringmx::tls
