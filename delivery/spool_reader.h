// Reading a spool: for the `ringmx spool` tools now and the next-hop
// forwarder later. Safe while a ringmx process writes the same spool: the
// reader only maps files (a snapshot as long as each file was when scanned),
// records done-ness in side files, and deletes only segments no writer
// holds (see delivery/segment_file.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "delivery/segment_scan.h"

namespace ringmx::delivery {

struct SegmentView {
  unsigned shard = 0;
  uint64_t sequence = 0;
  std::filesystem::path file;
  bool active = false;  // a writer holds it (new messages may still arrive)
  SegmentScan scan;
  std::unordered_set<uint64_t> done;  // message ids marked done
  std::shared_ptr<MappedFile> map;
};

struct MessageView {
  const SegmentView* segment = nullptr;
  const StoredMessage* message = nullptr;
  std::string queue_id;
  bool done = false;
};

// A message's bytes as a sequence of views into the mapped segment, valid
// while the SpoolReader lives (and until its next refresh()).
class BodyStream {
 public:
  BodyStream(std::span<const char> file, const std::vector<ChunkRef>* chunks)
      : file_(file), chunks_(chunks) {}
  // The next piece, or false at the end.
  bool next(std::span<const char>& view);

 private:
  std::span<const char> file_;
  const std::vector<ChunkRef>* chunks_;
  size_t index_ = 0;
};

class SpoolReader {
 public:
  // Scans every segment of every shard under `spool_path` (<spool>/<shard>/).
  explicit SpoolReader(std::filesystem::path spool_path);

  // Maps and scans again: picks up what writers added since.
  void refresh();

  const std::vector<SegmentView>& segments() const { return segments_; }
  // Committed messages in order (shard, segment, commit position); done
  // ones only when asked.
  std::vector<MessageView> messages(bool include_done = false) const;
  std::optional<MessageView> find(std::string_view queue_id) const;
  BodyStream body(const MessageView& m) const;
  // The whole message in one string (for small tools and tests).
  std::string read_body(const MessageView& m) const;

  // Marks messages done, durably (one fdatasync per segment touched).
  // Returns 0 or an errno. The views stay valid; their `done` is not updated
  // until refresh().
  int mark_done(std::span<const MessageView> messages);

  // Deletes every segment no writer holds whose committed messages are all
  // done, with its done file. Returns how many were deleted.
  size_t remove_finished_segments();

 private:
  std::filesystem::path root_;
  std::vector<SegmentView> segments_;
};

}  // namespace ringmx::delivery
