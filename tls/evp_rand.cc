#include "tls/evp_rand.h"

#include <openssl/rand.h>

#include <climits>

namespace ringmx::tls::evp {

bool private_random_bytes(uint8_t* out, size_t len) {
  while (len > 0) {
    const int n = len > INT_MAX ? INT_MAX : static_cast<int>(len);
    if (RAND_priv_bytes(out, n) != 1) return false;
    out += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace ringmx::tls::evp
