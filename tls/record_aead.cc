#include "tls/record_aead.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/log/log.h"
#include "tls/evp_record.h"
#include "tls/mb_record.h"

namespace ringmx::tls {
namespace {

bool aes_gcm_in_ipsec_mb() {
  static const bool yes = [] {
    const char* forced = std::getenv("RINGMX_TLS_AES");
    if (forced != nullptr && std::strcmp(forced, "libcrypto") == 0) return false;
    return mb::fast_aes_gcm();
  }();
  return yes;
}

bool is_aes_gcm(RecordCipher cipher) {
  return cipher == RecordCipher::aes_128_gcm || cipher == RecordCipher::aes_256_gcm;
}

}  // namespace

std::string_view record_aead_backend(RecordCipher cipher) {
  return is_aes_gcm(cipher) && aes_gcm_in_ipsec_mb() ? "ipsec-mb" : "libcrypto";
}

void log_record_crypto() {
  static std::once_flag once;
  std::call_once(once, [] {
    log::info("tls.record_crypto", "aes_gcm={} chacha20_poly1305={}",
              record_aead_backend(RecordCipher::aes_128_gcm),
              record_aead_backend(RecordCipher::chacha20_poly1305));
  });
}

std::unique_ptr<RecordAead> make_record_aead(RecordCipher cipher, std::span<const std::uint8_t> key,
                                             bool seal) {
  if (is_aes_gcm(cipher) && aes_gcm_in_ipsec_mb()) return mb::make_record_aead(cipher, key, seal);
  return evp::make_record_aead(cipher, key, seal);
}

}  // namespace ringmx::tls
