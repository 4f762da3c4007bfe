#include "core/tls_stage.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "core/env_count.h"

namespace ringmx::core {

std::uint32_t PlainPool::configured_limit() {
  static const std::uint32_t limit = env_count("RINGMX_TLS_PLAIN_BUFFERS", kDefaultLimit, 65536);
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
