// Records sealed and opened the way net/tls (the kernel's TLS_TX/TLS_RX)
// does it from a crypto_info, with wolfCrypt doing the AEAD. The kTLS proof
// checks these against a real wolfSSL peer.
//
// What the kernel does (net/tls/tls_sw.c, tls.h):
//   AES-GCM, TLS 1.2: nonce = salt(4) || explicit(8); explicit starts at
//     crypto_info.iv and is incremented per record; it travels in the record
//     after the header. AAD = seq(8) || type || 0x0303 || plaintext length.
//   AES-GCM, TLS 1.3: nonce = (salt || iv) XOR (0^4 || seq). The record is
//     type 23 with the real type appended to the plaintext; AAD = the header.
//   ChaCha20-Poly1305, both versions: nonce = iv(12) XOR (0^4 || seq), no
//     explicit nonce; AAD as for the version.
//   seq = crypto_info.rec_seq + records already sent (big-endian).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tls/ktls.h"

namespace ringmx::tls::testing {

// The crypto_info's starting record sequence number (rec_seq, big-endian).
uint64_t rec_seq(const KtlsCryptoInfo& info);

// The `index`-th record (0 = the first) after the crypto_info was installed.
std::vector<std::byte> kernel_seal(const KtlsCryptoInfo& info, uint64_t index, uint8_t content_type,
                                   std::string_view plain);

struct Opened {
  uint8_t content_type = 0;
  std::string plain;
  size_t record_size = 0;  // bytes of `record` this record took
};
// nullopt when authentication fails.
std::optional<Opened> kernel_open(const KtlsCryptoInfo& info, uint64_t index,
                                  std::span<const std::byte> record);

}  // namespace ringmx::tls::testing
