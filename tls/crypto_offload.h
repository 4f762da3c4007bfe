// Routes wolfSSL's record AES-GCM to libcrypto through wolfSSL's crypto
// callbacks (WOLF_CRYPTO_CB): every WOLFSSL_CTX built while the offload is on
// gets its device id, wolfSSL then hands each AES-GCM seal/open of that
// context's sessions to tls/evp_aead.h. Debian's wolfSSL has no AES-NI, so
// this is what makes userspace TLS bulk fast (bench/tls/ measures it).
//
// ChaCha20-Poly1305 stays in wolfSSL: its 5.5.4 callback interface has no
// ChaCha hook.
#pragma once

#include <cstdint>

namespace ringmx::tls {

// The device id to give wolfSSL_CTX_SetDevId, registering the callback on
// first use; INVALID_DEVID (-2) when the offload is off or registration failed.
int crypto_offload_device();

// On by default. Affects contexts built afterwards (benchmarks compare).
void set_crypto_offload(bool on);

// AES-GCM operations the callback has performed on this thread (tests check
// that the offload really carries the records).
uint64_t crypto_offload_calls();

}  // namespace ringmx::tls
