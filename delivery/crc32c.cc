#include "delivery/crc32c.h"

#include <array>
#include <cstring>

namespace ringmx::delivery {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = make_table();

uint32_t update_table(uint32_t state, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    state = kTable[(state ^ p[i]) & 0xFF] ^ (state >> 8);
  return state;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t update_hw(uint32_t state, const unsigned char* p,
                                                     size_t n) {
  uint64_t s = state;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // unaligned load; the instruction takes bytes in LE order
    s = __builtin_ia32_crc32di(s, word);
    p += 8;
    n -= 8;
  }
  uint32_t s32 = static_cast<uint32_t>(s);
  while (n > 0) {
    s32 = __builtin_ia32_crc32qi(s32, *p++);
    --n;
  }
  return s32;
}
const bool kHaveHw = __builtin_cpu_supports("sse4.2");
#else
uint32_t update_hw(uint32_t state, const unsigned char* p, size_t n) {
  return update_table(state, p, n);
}
const bool kHaveHw = false;
#endif

}  // namespace

uint32_t crc32c_extend(uint32_t crc, std::span<const char> bytes) {
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  uint32_t state = ~crc;
  state = kHaveHw ? update_hw(state, p, bytes.size()) : update_table(state, p, bytes.size());
  return ~state;
}

uint32_t crc32c_extend_table(uint32_t crc, std::span<const char> bytes) {
  return ~update_table(~crc, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

bool crc32c_hardware() {
  return kHaveHw;
}

}  // namespace ringmx::delivery
