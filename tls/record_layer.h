// TLS records after the handshake, in userspace, from the keys kTLS would
// get (tls/ktls.h).
//
// Once wolfSSL has finished the handshake, a session's record protection is
// one AEAD per direction, a fixed IV and a sequence number: exactly what
// the kernel takes in a crypto_info. Where the kernel has no kTLS, this
// class does the same work in the shard. Against wolfSSL's own record layer
// it saves, per 16 KiB record, two copies (into the session's input, then
// into wolfSSL's record buffer), wolfSSL's wipe of that buffer, and it runs
// the AEAD in libcrypto (AES-NI, PCLMULQDQ; Debian's wolfSSL has neither):
// ciphertext is decrypted straight from the ring's receive buffer into the
// plaintext buffer the SMTP engine reads, one pass over the bytes, and a
// record split across receive buffers is decrypted piece by piece as they
// arrive (nothing is reassembled).
//
// Sans-I/O: the shard hands in ciphertext as it arrives and gets back
// authenticated plaintext and decisions; replies are sealed into the
// caller's send buffer. The record formats are net/tls's:
//   AES-GCM, TLS 1.2: nonce = salt(4) || explicit(8), the explicit part
//     carried after the header; AAD = seq(8) || type || 0x0303 || length.
//   AES-GCM, TLS 1.3: nonce = (salt || iv) XOR (0^4 || seq); outer type 23,
//     the real type is the last non-zero byte of the plaintext; AAD = the
//     5-byte header.
//   ChaCha20-Poly1305: nonce = iv(12) XOR (0^4 || seq); AAD per version.
// A post-handshake handshake message (a TLS 1.3 KeyUpdate, a TLS 1.2
// renegotiation) is returned as a control record: the caller closes the
// session cleanly, as it does under kTLS (see tls::classify_record).
//
// Not thread-safe: one shard's connection owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "tls/ktls.h"

namespace ringmx::tls {

class RecordLayer {
 public:
  // Largest ciphertext fragment a record may carry (RFC 8446 5.2: 2^14 +
  // 256; RFC 5246 6.2.3 allows 2^14 + 2048 for TLS 1.2, but no AEAD suite
  // needs more than 2^14 + 8 + 16).
  static constexpr std::size_t kMaxCiphertext = 16384 + 256;
  // Largest plaintext one record opens to, in the caller's buffer (for
  // TLS 1.3 this includes the inner type byte and any padding): a `plain`
  // span this long always takes the next record.
  static constexpr std::size_t kMaxPlaintext = kMaxCiphertext - 16;
  // Application data per sealed record.
  static constexpr std::size_t kMaxFragment = 16384;

  // nullptr when `params` has a version or cipher this layer lacks; it has
  // everything ktls_params_from builds (AES-128-GCM, AES-256-GCM and
  // ChaCha20-Poly1305, TLS 1.2 and 1.3; tx and rx must agree on version and
  // cipher). The sequence numbers start at the crypto_info's rec_seq.
  static std::unique_ptr<RecordLayer> create(const KtlsParams& params);
  ~RecordLayer();
  RecordLayer(const RecordLayer&) = delete;
  RecordLayer& operator=(const RecordLayer&) = delete;

  struct Opened {
    enum class Status : std::uint8_t {
      need_input,   // every byte of `input` was taken: call again when more arrives
      need_buffer,  // the next record's plaintext does not fit in what is left
                    // of `plain`: call again with the rest of the input and a
                    // buffer of at least kMaxPlaintext
      control,      // a record that is not application data was opened:
                    // `record_type` and `body`; the caller decides (it may call
                    // open() again with the rest of the input)
      error,        // bad MAC, malformed or unexpected record: send alert(),
                    // then close; every later call returns the same error
    };
    Status status = Status::need_input;
    std::size_t consumed = 0;      // bytes of `input` taken
    std::size_t ready = 0;         // application data authenticated, at the start of `plain`
    std::uint8_t record_type = 0;  // control: the content type (inner type in TLS 1.3)
    std::span<const char> body;    // control: its plaintext, in `plain` after the ready bytes
    std::uint8_t alert = 0;        // error: description to send (RFC 8446 6.2): 10
                                   // unexpected_message, 20 bad_record_mac, 22
                                   // record_overflow, 50 decode_error
    std::string_view what;         // error: for the log, e.g. "bad_record_mac"
  };

  // Opens records from `input` (ciphertext, in arrival order, in pieces of
  // any size) into `plain`. Application data of consecutive records is
  // packed at the start of `plain` and counted in `ready` once each record
  // authenticated; nothing unauthenticated is ever counted. The call
  // returns at need_input, need_buffer, a control record or an error.
  //
  // While partial() is true, a record's decrypted-so-far bytes sit in
  // `plain` right after the ready bytes: the next call must be given a
  // `plain` that starts where they start (the caller's buffer, advanced by
  // the `ready` bytes it took), or its bytes are lost (the call then
  // returns error "buffer_moved").
  Opened open(std::span<const char> input, std::span<char> plain);

  // A record has begun (at least its header arrived) and has not ended.
  bool partial() const;

  // Appends `plain` to `out` as application-data records of at most
  // kMaxFragment bytes each. An empty `plain` appends nothing.
  void seal(std::string_view plain, std::string& out);

  // Appends one alert record: level 1 (warning) or 2 (fatal), description
  // 0 for close_notify.
  void seal_alert(std::uint8_t level, std::uint8_t description, std::string& out);

  // Bytes seal() appends for `plain` bytes: for reserving.
  std::size_t sealed_size(std::size_t plain) const;

  // Records opened / sealed so far, plus the crypto_info's starting
  // numbers: the next record's sequence number in each direction.
  std::uint64_t rx_sequence() const;
  std::uint64_t tx_sequence() const;

  struct Impl;  // tls/record_layer.cc; the AEAD in tls/evp_record.cc

 private:
  explicit RecordLayer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmx::tls
