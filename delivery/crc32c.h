// CRC32C (Castagnoli, the iSCSI/ext4 polynomial 0x1EDC6F41, reflected),
// as every spool record carries it. Uses the SSE4.2 `crc32` instruction when
// the CPU has it (checked once at run time), a table otherwise.
#pragma once

#include <cstdint>
#include <span>

namespace ringmx::delivery {

// CRC32C of `bytes`: crc32c("123456789") == 0xE3069283.
inline uint32_t crc32c(std::span<const char> bytes);

// The CRC32C of A followed by `bytes`, given crc == crc32c(A).
uint32_t crc32c_extend(uint32_t crc, std::span<const char> bytes);

inline uint32_t crc32c(std::span<const char> bytes) {
  return crc32c_extend(0, bytes);
}

// The same with the table only, whatever the CPU (tests compare the two).
uint32_t crc32c_extend_table(uint32_t crc, std::span<const char> bytes);

// True when the hardware instruction is used (for the benchmark's labels).
bool crc32c_hardware();

}  // namespace ringmx::delivery
