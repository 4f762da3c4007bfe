// What the management listener needs from the whole process, and the
// http::Backend each shard serves it with.
//
// ServerControl is made by the server thread before any shard starts and
// outlives them: the shards' metrics (fixed once started), whether the
// server is ready, and the queue of reload requests shards post to the
// server thread (which runs them exactly as it runs SIGHUP and posts each
// result back to the asking shard's mailbox).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/listeners.h"
#include "core/mailbox.h"
#include "core/metrics.h"
#include "protocols/http/backend.h"

namespace ringmx::core {

// A POST /reload waiting for its result: which connection asked.
struct ReloadRequest {
  unsigned shard = 0;
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
};

struct ServerControl {
  std::vector<std::unique_ptr<ShardMetrics>> metrics;  // one per shard, index = shard
  std::atomic<bool> ready{false};  // set once every shard accepts; cleared when draining
  Mailbox<ReloadRequest> reloads;
  // Draining: shards that still have SMTP/LMTP sessions (or PROXY stages)
  // open. Management connections stay open, answering 503 to /readyz,
  // until this reaches zero on every shard.
  std::atomic<unsigned> shards_with_sessions{0};
};

// The http::Backend of one shard, used only on that shard's thread.
class Management final : public http::Backend {
 public:
  Management(ServerControl& control, unsigned shard,
             const std::shared_ptr<const ListenerSet>& listeners, const bool& draining)
      : control_(control), shard_(shard), listeners_(listeners), draining_(draining) {}

  // The connection whose bytes are being fed: Backend::reload() has no
  // argument, so the shard names the caller before each feed().
  void set_caller(std::uint32_t slot, std::uint32_t generation) {
    slot_ = slot;
    generation_ = generation;
  }

  std::string metrics_text() override;
  std::string not_ready() override;
  std::string config_text() override;
  std::optional<http::ReloadResult> reload() override;

 private:
  ServerControl& control_;
  unsigned shard_;
  const std::shared_ptr<const ListenerSet>& listeners_;  // the shard's current set
  const bool& draining_;
  std::uint32_t slot_ = 0;
  std::uint32_t generation_ = 0;
  // The spool check's last answer ("" when writable) and when it was made:
  // probes with access(2) at most once a second, so a scraper polling
  // /readyz cannot turn it into a syscall storm.
  std::string spool_problem_;
  std::chrono::steady_clock::time_point spool_checked_{};
  bool spool_ever_checked_ = false;
};

}  // namespace ringmx::core
