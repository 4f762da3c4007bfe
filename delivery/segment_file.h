// Files of a shard's spool directory, and the few plain syscalls around
// them (creating a segment, locking, marking messages done). None of this is
// on the per-message path: a segment is created once per segment-size bytes.
//
//   <spool>/<shard>/lock               held (flock) by the one writing process
//   <spool>/<shard>/<sequence>.seg     a segment, sequence as 10 decimal digits
//   <spool>/<shard>/<sequence>.done    done markers for that segment's messages
//
// A writer holds an exclusive flock on the segment it writes; a segment that
// nobody holds is finished (its writer moved on or died) and may be deleted
// once all its messages are done.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

namespace ringmx::delivery {

using MessageId = uint64_t;

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

std::filesystem::path shard_dir(const std::filesystem::path& spool, unsigned shard);
std::string segment_file_name(uint64_t sequence);  // "0000000042.seg"
std::string done_file_name(uint64_t sequence);     // "0000000042.done"
std::optional<uint64_t> parse_segment_file_name(std::string_view name);

// Shard numbers that have a directory under `spool`, ascending.
std::vector<unsigned> list_shards(const std::filesystem::path& spool);
// Segment sequences in a shard directory, ascending.
std::vector<uint64_t> list_segments(const std::filesystem::path& dir);

// Takes <dir>/lock for this process; throws std::system_error (EBUSY when
// another process holds it).
Fd lock_shard_dir(const std::filesystem::path& dir);

// Creates <dir>/<sequence>.seg with its header record written and synced,
// locked by the returned fd, and the directory entry synced: after this
// returns, a crash cannot lose the file. Throws std::system_error.
struct CreatedSegment {
  Fd fd;
  uint64_t end = 0;  // offset of the next record
};
CreatedSegment create_segment(const std::filesystem::path& dir, unsigned shard, uint64_t sequence);

// True when a writer holds the segment's lock.
bool segment_is_active(const std::filesystem::path& segment_file);

// Appends a done marker per id to <dir>/<sequence>.done and syncs it (and
// the directory when the file is new). Safe against concurrent appenders.
// Returns 0 or an errno.
int append_done_markers(const std::filesystem::path& dir, uint64_t sequence,
                        std::span<const MessageId> ids);
// Ids marked done for a segment; torn or corrupt markers are skipped.
std::unordered_set<MessageId> read_done_markers(const std::filesystem::path& dir,
                                                uint64_t sequence);

int fsync_directory(const std::filesystem::path& dir);  // 0 or errno

}  // namespace ringmx::delivery
