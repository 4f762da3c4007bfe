// What every sink shares: queue ids, result names, the discard sink, and
// choosing a sink from the configuration.
#include <fmt/format.h>

#include "core/log/log.h"
#include "delivery/spool_writer.h"

namespace ringmx::delivery {
namespace fs = std::filesystem;

std::string_view to_string(CommitResult r) {
  switch (r) {
    case CommitResult::committed:
      return "committed";
    case CommitResult::no_space:
      return "no_space";
    case CommitResult::failed:
      return "failed";
  }
  return "failed";
}

std::string format_queue_id(unsigned shard, MessageId id) {
  return fmt::format("{:02X}{:08X}{:06X}", shard, id >> 32, id & 0xFFFFFFFFu);
}

bool parse_queue_id(std::string_view text, unsigned& shard, MessageId& id) {
  if (text.size() != 16) return false;
  uint64_t v[3] = {};
  const size_t widths[3] = {2, 8, 6};
  size_t pos = 0;
  for (int f = 0; f < 3; ++f) {
    for (size_t i = 0; i < widths[f]; ++i) {
      char c = text[pos++];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                     : -1;
      if (d < 0) return false;
      v[f] = v[f] * 16 + static_cast<uint64_t>(d);
    }
  }
  shard = static_cast<unsigned>(v[0]);
  id = (v[1] << 32) | v[2];
  return true;
}

// DiscardSink

void DiscardSink::append(MessageId, std::span<const char>, uint64_t buffer_ref) {
  ready_.released_buffers.push_back(buffer_ref);
}

void DiscardSink::commit(MessageId id, const Envelope&, uint64_t waiter) {
  ready_.commits.push_back({waiter, CommitResult::committed, id});
}

void DiscardSink::take_immediate(Completions& out) {
  out.released_buffers.insert(out.released_buffers.end(), ready_.released_buffers.begin(),
                              ready_.released_buffers.end());
  out.commits.insert(out.commits.end(), ready_.commits.begin(), ready_.commits.end());
  ready_.clear();
}

std::string DiscardSink::queue_id(MessageId id) const {
  return format_queue_id(shard_, id);
}

std::unique_ptr<MessageSink> make_sink(SinkMode mode, const fs::path& spool_path, unsigned shard_id,
                                       uint64_t segment_size) {
  if (mode == SinkMode::discard) {
    log::warn("delivery.discard",
              "shard={} mode=discard messages_kept=none note=\"every message gets 250 and is "
              "dropped; for load tests only\"",
              shard_id);
    return std::make_unique<DiscardSink>(shard_id);
  }
  return std::make_unique<ShardSpool>(spool_path, shard_id, segment_size);
}

}  // namespace ringmx::delivery
