// ringmx-core-serve --config FILE: the runtime alone, for the integration
// tests (independent of the CLI in core/main.cc).
#include <cstdio>
#include <cstring>
#include <string>

#include "config/config.h"
#include "core/server.h"

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--config") != 0) {
    std::fprintf(stderr, "usage: %s --config FILE\n", argv[0]);
    return 2;
  }
  ringmx::config::LoadResult r = ringmx::config::load_file(argv[2]);
  if (!r.ok()) {
    for (const auto& e : r.errors)
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  return ringmx::core::run_server(*r.config, argv[2]);
}
