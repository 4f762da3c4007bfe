// Counts that tests and bench comparisons (and only they) change through the
// environment, such as RINGMX_TLS_PLAIN_BUFFERS: one parser, so each knob
// reads the same way.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace ringmx::core {

// The value of `name` when it is a decimal integer in [min, max] (and a
// power of two, when asked), else `fallback`. Callers cache the result.
inline std::uint32_t env_count(const char* name, std::uint32_t fallback, std::uint32_t max,
                               bool power_of_two = false, std::uint32_t min = 1) {
  const char* v = std::getenv(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v, &end, 10);
  if (end == v || *end != '\0' || n < min || n > max) return fallback;
  if (power_of_two && (n & (n - 1)) != 0) return fallback;
  return static_cast<std::uint32_t>(n);
}

}  // namespace ringmx::core
