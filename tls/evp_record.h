// tls/record_aead.h's AEAD through libcrypto's EVP (AES-NI, PCLMULQDQ, the
// vectorised ChaCha20). Like tls/evp_aead.h this header carries no library
// types: OpenSSL's and wolfSSL's headers cannot share a translation unit,
// so only evp_record.cc includes OpenSSL.
#pragma once

#include <memory>
#include <span>

#include "tls/record_aead.h"

namespace ringmx::tls::evp {

// nullptr when the key has the wrong length or libcrypto fails.
std::unique_ptr<RecordAead> make_record_aead(RecordCipher cipher, std::span<const std::uint8_t> key,
                                             bool seal);

}  // namespace ringmx::tls::evp
