#include "core/management.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "config/config.h"
#include "delivery/segment_file.h"

namespace ringmx::core {

std::string Management::metrics_text() {
  return render_metrics(control_.metrics, *listeners_);
}

namespace {

// Why the spool cannot take messages, or "": each shard's folder
// (<spool.path>/<shard>) must be writable, since each shard appends to its
// own. access(2) uses the real uid, which is the uid after dropping root.
std::string spool_problem(const config::Config& config, std::size_t shards) {
  if (config.delivery_mode != config::DeliveryMode::spool) return {};
  for (std::size_t i = 0; i < shards; ++i) {
    const std::filesystem::path dir =
        delivery::shard_dir(config.spool_path, static_cast<unsigned>(i));
    if (::access(dir.c_str(), W_OK) != 0)
      return fmt::format("spool not writable: {}: {}", dir.string(), std::strerror(errno));
  }
  return {};
}

}  // namespace

std::string Management::not_ready() {
  if (draining_) return "draining";
  // Cleared by the server thread before this shard sees its drain.
  if (!control_.ready.load(std::memory_order_relaxed)) return "starting or draining";
  const auto now = std::chrono::steady_clock::now();
  if (!spool_ever_checked_ || now - spool_checked_ >= std::chrono::seconds(1)) {
    spool_problem_ = spool_problem(*listeners_->config, control_.metrics.size());
    spool_checked_ = now;
    spool_ever_checked_ = true;
  }
  return spool_problem_;
}

std::string Management::config_text() {
  return config::print(*listeners_->config);  // secrets redacted by default
}

std::optional<http::ReloadResult> Management::reload() {
  control_.reloads.post(ReloadRequest{shard_, slot_, generation_});
  return std::nullopt;  // answered by Shard::on_reload_result
}

}  // namespace ringmx::core
