// What the crypto offload's device (crypto_offload.cc) and the wolfSSL
// functions interposed for it (wolfssl_interpose.cc) share. Not for other
// callers: tls/crypto_offload.h is the interface.
#pragma once

#include "tls/crypto_offload.h"

namespace ringmx::tls {

// The device id of the offload: any value other than INVALID_DEVID ("RMX").
inline constexpr int kDeviceId = 0x524d58;

namespace offload_internal {

// This thread's operation counts (crypto_offload_counts() reads a copy).
OffloadCounts& thread_counts();
// Whether this thread is inside an OffloadScope that is on.
bool& thread_kdf_scope();

}  // namespace offload_internal
}  // namespace ringmx::tls
