// libFuzzer target (RINGMX_FUZZ=ON, clang): any bytes through the loader.
// Invariants: nothing crashes or leaks (ASan/UBSan), and every accepted
// configuration prints to TOML that loads back to an equal Config.
//   build-fuzz/tests/config/config_fuzz -max_total_time=60 CORPUS_DIR config/default.toml
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"
#include "config/values.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringmx::config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  parse_bind_address(text);
  parse_cidr(text);
  parse_duration(text);
  is_host_name(text, true);
  // Certificates named in fuzzed input resolve against the test data.
  static const std::string base = [] {
    const char* root = std::getenv("RINGMX_SOURCE_DIR");
    return std::string(root ? root : ".") + "/tests/config/data";
  }();
  LoadResult r = load_string(text, "fuzz.toml", base);
  if (r.errors.size() > kMaxErrors) __builtin_trap();
  if (r.config) {
    LoadResult again = load_string(print(*r.config, {.show_secrets = true}), "printed.toml", "/");
    if (!again.config || !(*again.config == *r.config)) __builtin_trap();
  }
  return 0;
}
