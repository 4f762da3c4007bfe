// tls/record_aead.h's AES-GCM through Intel's ipsec-mb library (its
// "direct" GCM API: init, update, finalize), whose VAES/VPCLMULQDQ code
// decrypts about 12 GB/s per core on this project's machines against
// libcrypto's 4 GB/s. Only this file's .cc includes ipsec-mb.
#pragma once

#include <memory>
#include <span>

#include "tls/record_aead.h"

namespace ringmx::tls::mb {

// True when the library is built in and picked AVX-512 code with VAES on
// this CPU: elsewhere libcrypto is as fast or faster, so it is not used.
bool fast_aes_gcm();

// AES-128/256-GCM only; nullptr for other ciphers, a wrong key length, or
// without the library.
std::unique_ptr<RecordAead> make_record_aead(RecordCipher cipher, std::span<const std::uint8_t> key,
                                             bool seal);

}  // namespace ringmx::tls::mb
