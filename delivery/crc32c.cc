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

// Polynomials modulo P in the CRC's reflected order: bit 31 is x^0, bit 0 is
// x^31, so multiplying by x is a right shift (plus P when x^32 appears).
// Running a CRC register over n zero bytes multiplies it by x^(8n) mod P;
// this is what moves a lane's CRC past the bytes the lanes after it covered.
constexpr uint32_t kOne = 0x80000000;

constexpr uint32_t times_x(uint32_t a) {
  return (a & 1) ? (a >> 1) ^ kPolyReflected : a >> 1;
}

constexpr uint32_t multiply_mod_p(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = kOne; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = times_x(b);
  }
  return product;
}

constexpr uint32_t x_power_mod_p(uint64_t exponent) {
  uint32_t result = kOne, square = times_x(kOne);  // x^0, x^1
  for (; exponent != 0; exponent >>= 1) {
    if (exponent & 1) result = multiply_mod_p(result, square);
    square = multiply_mod_p(square, square);
  }
  return result;
}

// The "zeros operator" for a fixed length: a CRC register moved over `bytes`
// zero bytes, one table lookup per byte of the register (the move is linear).
struct ZerosOperator {
  std::array<std::array<uint32_t, 256>, 4> part{};

  constexpr uint32_t apply(uint32_t crc) const {
    return part[0][crc & 0xFF] ^ part[1][(crc >> 8) & 0xFF] ^ part[2][(crc >> 16) & 0xFF] ^
           part[3][crc >> 24];
  }
};

constexpr ZerosOperator make_zeros_operator(size_t bytes) {
  const uint32_t factor = x_power_mod_p(8 * uint64_t{bytes});
  ZerosOperator z;
  for (uint32_t k = 0; k < 4; ++k)
    for (uint32_t i = 0; i < 256; ++i)
      z.part[k][i] = multiply_mod_p(i << (8 * k), factor);
  return z;
}

// Lane lengths of the hardware path. The instruction's latency is 3 cycles
// and its throughput one per cycle, so three independent chains over three
// consecutive parts of a block keep it busy; a block's CRC is then
// move(move(a, lane) ^ b, lane) ^ c. Spool appends are mostly one 16 KiB
// receive buffer or TLS record, so the long block (3 x 4 KiB) fits in one
// (3 x 8 KiB would not: 16 KiB ran 15% slower); short blocks (3 x 256
// bytes) take what is left, where the two moves (8 lookups) cost little
// beside the block's 96 crc32q.
constexpr size_t kLongLane = 4096;
constexpr size_t kShortLane = 256;
constexpr ZerosOperator kLongZeros = make_zeros_operator(kLongLane);
constexpr ZerosOperator kShortZeros = make_zeros_operator(kShortLane);

static_assert(x_power_mod_p(32) == kPolyReflected, "x^32 mod P is P without its x^32 term");
static_assert(make_zeros_operator(1).apply(0x12345678) == (kTable[0x78] ^ (0x12345678u >> 8)),
              "one zero byte through the operator is one table step");

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) inline uint64_t crc_word(uint64_t state, const unsigned char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);  // unaligned load; the instruction takes bytes in LE order
  return __builtin_ia32_crc32di(state, word);
}

// Three lanes of Lane bytes each over as many whole blocks as `n` holds.
template <size_t Lane>
__attribute__((target("sse4.2"))) uint32_t three_lanes(uint32_t state, const unsigned char*& p,
                                                       size_t& n, const ZerosOperator& zeros) {
  static_assert(Lane % 8 == 0);
  while (n >= 3 * Lane) {
    uint64_t a = state, b = 0, c = 0;
    for (const unsigned char* end = p + Lane; p != end; p += 8) {
      a = crc_word(a, p);
      b = crc_word(b, p + Lane);
      c = crc_word(c, p + 2 * Lane);
    }
    state = zeros.apply(zeros.apply(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^
            static_cast<uint32_t>(c);
    p += 2 * Lane;
    n -= 3 * Lane;
  }
  return state;
}

__attribute__((target("sse4.2"))) uint32_t update_hw(uint32_t state, const unsigned char* p,
                                                     size_t n) {
  if (n >= 3 * kShortLane + 8) {
    // Byte steps up to an 8-byte boundary, so no lane load spans two lines.
    for (; reinterpret_cast<uintptr_t>(p) % 8 != 0; ++p, --n)
      state = __builtin_ia32_crc32qi(state, *p);
    state = three_lanes<kLongLane>(state, p, n, kLongZeros);
    state = three_lanes<kShortLane>(state, p, n, kShortZeros);
  }
  uint64_t s = state;
  for (; n >= 8; p += 8, n -= 8)
    s = crc_word(s, p);
  state = static_cast<uint32_t>(s);
  if (n & 4) {
    uint32_t word;
    std::memcpy(&word, p, 4);
    state = __builtin_ia32_crc32si(state, word);
    p += 4;
  }
  if (n & 2) {
    uint16_t half;
    std::memcpy(&half, p, 2);
    state = __builtin_ia32_crc32hi(state, half);
    p += 2;
  }
  if (n & 1) state = __builtin_ia32_crc32qi(state, *p);
  return state;
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
