#include "tls/crypto_offload.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <atomic>
#include <mutex>

#include "core/log/log.h"
#include "tls/evp_aead.h"

namespace ringmx::tls {
namespace {

constexpr int kDeviceId = 0x524d58;  // "RMX": any value other than INVALID_DEVID
std::atomic<bool> g_enabled{true};
thread_local uint64_t t_calls = 0;

// The raw key wolfSSL keeps for devices (Aes::devKey, filled by
// wc_AesGcmSetKey when the Aes has a device id) and its length.
const uint8_t* raw_key(const Aes* aes) {
  return reinterpret_cast<const uint8_t*>(aes->devKey);
}

int on_crypto(int /*dev_id*/, wc_CryptoInfo* info, void* /*ctx*/) {
  if (info->algo_type != WC_ALGO_TYPE_CIPHER || info->cipher.type != WC_CIPHER_AES_GCM) {
    return CRYPTOCB_UNAVAILABLE;  // wolfSSL does it in software
  }
  ++t_calls;
  if (info->cipher.enc) {
    const auto& e = info->cipher.aesgcm_enc;
    const auto key_len = static_cast<size_t>(e.aes->keylen);
    return evp::aes_gcm_seal(raw_key(e.aes), key_len, e.iv, e.ivSz, e.authIn, e.authInSz, e.in,
                             e.sz, e.out, e.authTag, e.authTagSz)
               ? 0
               : WC_HW_E;
  }
  const auto& d = info->cipher.aesgcm_dec;
  const auto key_len = static_cast<size_t>(d.aes->keylen);
  return evp::aes_gcm_open(raw_key(d.aes), key_len, d.iv, d.ivSz, d.authIn, d.authInSz, d.in, d.sz,
                           d.out, d.authTag, d.authTagSz)
             ? 0
             : AES_GCM_AUTH_E;
}

int register_once() {
  static std::once_flag once;
  static int id = INVALID_DEVID;
  std::call_once(once, [] {
    // The device table is set up by wolfCrypt_Init (reference counted);
    // before it every slot looks taken and registering fails with BUFFER_E.
    wolfCrypt_Init();
    const int rc = wc_CryptoCb_RegisterDevice(kDeviceId, on_crypto, nullptr);
    if (rc == 0) {
      id = kDeviceId;
      log::info("tls.crypto_offload", "aes_gcm=libcrypto");
    } else {
      log::warn("tls.crypto_offload", "aes_gcm=wolfssl reason={}",
                log::quote(wc_GetErrorString(rc)));
    }
  });
  return id;
}

}  // namespace

int crypto_offload_device() {
  return g_enabled.load() ? register_once() : INVALID_DEVID;
}

void set_crypto_offload(bool on) {
  g_enabled.store(on);
}

uint64_t crypto_offload_calls() {
  return t_calls;
}

}  // namespace ringmx::tls
