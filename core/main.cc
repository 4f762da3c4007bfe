// ringmx: the command line. Every mode loads the configuration the same
// way (a file, or the embedded default), so what --check-config accepts is
// exactly what the server runs.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/log/log.h"
#include "core/server.h"
#include "delivery/spool_cli.h"
#include "tls/self_signed.h"

namespace {

constexpr std::string_view kVersion = "ringmx 0.1.0";

constexpr std::string_view kUsage =
    "usage: ringmx [--config FILE]          run in the foreground (default: the embedded\n"
    "                                       configuration, certificate under var/tls/)\n"
    "       ringmx --check-config FILE      validate FILE; every problem on stderr, exit 1\n"
    "       ringmx --print-config [FILE]    the resolved configuration as TOML\n"
    "       ringmx spool [--config FILE | --path DIR] list|show ID|export|check\n"
    "       ringmx --version | --help\n";

// The embedded default names var/tls/cert.pem and var/tls/key.pem relative
// to the working directory; they are created on first start.
constexpr std::string_view kDefaultTlsDir = "var/tls";

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

void report(const ringmx::config::LoadResult& r) {
  for (const auto& w : r.warnings)
    std::fprintf(stderr, "%s\n", w.to_string().c_str());
  for (const auto& e : r.errors)
    std::fprintf(stderr, "%s\n", e.to_string().c_str());
}

// Loads FILE, or the embedded default when `path` is empty (creating its
// self-signed certificate first). Problems are printed; nullopt on failure.
std::optional<ringmx::config::Config> load(const std::string& path) {
  ringmx::config::LoadResult r;
  if (path.empty()) {
    if (auto err = ringmx::tls::ensure_self_signed(kDefaultTlsDir, host_name())) {
      std::fprintf(stderr, "ringmx: %s\n", err->c_str());
      return std::nullopt;
    }
    r = ringmx::config::load_embedded_default();
  } else {
    r = ringmx::config::load_file(path);
  }
  report(r);
  if (!r.ok()) return std::nullopt;
  return std::move(*r.config);
}

ringmx::log::Level to_log_level(ringmx::config::LogLevel l) {
  switch (l) {
    case ringmx::config::LogLevel::error:
      return ringmx::log::Level::error;
    case ringmx::config::LogLevel::warn:
      return ringmx::log::Level::warn;
    case ringmx::config::LogLevel::info:
      return ringmx::log::Level::info;
    case ringmx::config::LogLevel::debug:
      return ringmx::log::Level::debug;
  }
  return ringmx::log::Level::info;
}

int usage_error(std::string_view what) {
  std::fprintf(stderr, "ringmx: %.*s\n%.*s", static_cast<int>(what.size()), what.data(),
               static_cast<int>(kUsage.size()), kUsage.data());
  return 2;
}

int serve(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return 1;
  ringmx::log::set_level(to_log_level(cfg->log_level));
  ringmx::log::info("config.loaded", "source={} listeners={}", ringmx::log::quote(cfg->source_path),
                    cfg->listeners.size());
  return ringmx::core::run_server(*cfg, path);
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view first = argc > 1 ? argv[1] : "";
  if (first == "spool") return ringmx::delivery::spool_main(argc - 1, argv + 1);
  if (first == "--version") {
    std::printf("%.*s\n", static_cast<int>(kVersion.size()), kVersion.data());
    return 0;
  }
  if (first == "--help" || first == "-h") {
    std::printf("%.*s", static_cast<int>(kUsage.size()), kUsage.data());
    return 0;
  }
  if (first == "--check-config") {
    if (argc != 3) return usage_error("--check-config takes one FILE");
    auto cfg = load(argv[2]);
    if (!cfg) return 1;
    std::printf("%s: ok, %zu listeners\n", argv[2], cfg->listeners.size());
    return 0;
  }
  if (first == "--print-config") {
    if (argc > 3) return usage_error("--print-config takes at most one FILE");
    auto cfg = load(argc == 3 ? argv[2] : "");
    if (!cfg) return 1;
    std::fputs(ringmx::config::print(*cfg).c_str(), stdout);
    return 0;
  }
  if (first == "--config") {
    if (argc != 3) return usage_error("--config takes one FILE");
    return serve(argv[2]);
  }
  if (argc == 1) return serve("");
  return usage_error(std::string("unknown argument: ") + argv[1]);
}
