#include "core/management.h"

#include "config/config.h"

namespace ringmx::core {

std::string Management::metrics_text() {
  return render_metrics(control_.metrics, *listeners_);
}

bool Management::ready() {
  return control_.ready.load(std::memory_order_relaxed) && !draining_;
}

std::string Management::config_text() {
  return config::print(*listeners_->config);  // secrets redacted by default
}

std::optional<http::ReloadResult> Management::reload() {
  control_.reloads.post(ReloadRequest{shard_, slot_, generation_});
  return std::nullopt;  // answered by Shard::on_reload_result
}

}  // namespace ringmx::core
