// CRC-32C (Castagnoli, RFC 3720 B.4), for PROXY v2's PP2_TYPE_CRC32C TLV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringmx::proxy {

// Continues a CRC-32C over `bytes`. Start with crc32c_init, finish with
// crc32c_final: crc32c_final(crc32c_update(crc32c_init, "123456789"))
// == 0xE3069283.
inline constexpr std::uint32_t crc32c_init = 0xFFFFFFFFu;
std::uint32_t crc32c_update(std::uint32_t crc, std::string_view bytes);
inline constexpr std::uint32_t crc32c_final(std::uint32_t crc) {
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace ringmx::proxy
