#include "protocols/proxy/crc32c.h"

#include <array>

namespace ringmx::proxy {
namespace {

// Byte-at-a-time table for the reflected polynomial 0x82F63B78. A header
// is checksummed once per connection and is at most 4 KiB, so neither the
// SSE4.2 crc32 instruction nor slicing-by-8 would be measurable.
constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> kTable = make_table();

}  // namespace

std::uint32_t crc32c_update(std::uint32_t crc, std::string_view bytes) {
  for (char ch : bytes) {
    crc = kTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (crc >> 8);
  }
  return crc;
}

}  // namespace ringmx::proxy
