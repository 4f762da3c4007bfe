#include "core/tls_stage.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <cstdlib>

namespace ringmx::core {

std::uint32_t PlainPool::configured_limit() {
  static const std::uint32_t limit = [] {
    const char* v = std::getenv("RINGMX_TLS_PLAIN_BUFFERS");
    if (v == nullptr) return kDefaultLimit;
    char* end = nullptr;
    const unsigned long n = std::strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n == 0 || n > 65536) return kDefaultLimit;
    return static_cast<std::uint32_t>(n);
  }();
  return limit;
}

std::uint32_t PlainPool::acquire() {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(blocks_.size());
    blocks_.emplace_back(new char[kBufferSize]);
    holds_.push_back(0);
    by_address_.emplace(blocks_.back().get(), index);
  }
  holds_[index] = 1;
  return index;
}

std::int64_t PlainPool::find(const char* p) const {
  auto it = by_address_.upper_bound(p);
  if (it == by_address_.begin()) return -1;
  --it;
  if (p >= it->first + kBufferSize) return -1;
  return it->second;
}

void PlainPool::release(std::uint32_t index) {
  if (--holds_[index] == 0) free_.push_back(index);
}

void release_thread_tls_caches() {
#ifdef FP_ECC
  wc_ecc_fp_free();
#endif
}

}  // namespace ringmx::core
