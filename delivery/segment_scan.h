// Reading a segment back: the recovery scan. Pure over bytes (tests feed it
// truncated copies), plus a helper that maps a file and scans it.
//
// The scan walks records from offset 0 and stops at the first record that
// is incomplete (torn: a crash during a write) or fails its CRC or its
// consistency checks (corrupt). Everything from there on is ignored. Data
// records whose message has no commit record before that point are garbage.
// A commit record's message is kept only if its chunk list names exactly
// the message's data records, in order, and their bytes match the length
// and CRC32C the commit record carries.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "delivery/envelope.h"
#include "delivery/record.h"

namespace ringmx::delivery {

// Where a piece of a message's bytes lies in the segment file.
struct ChunkRef {
  uint64_t offset = 0;  // of the payload (after the record header)
  uint32_t length = 0;
};

struct StoredMessage {
  uint64_t id = 0;             // MessageId: segment sequence << 32 | number
  uint64_t commit_offset = 0;  // start of its commit record
  Envelope envelope;
  uint64_t length = 0;
  uint32_t crc = 0;
  std::vector<ChunkRef> chunks;
};

enum class TailState {
  clean,    // the scan reached the end of the file on a record boundary
  torn,     // the last record is incomplete: a write a crash interrupted
  corrupt,  // a complete record failed its checks
};
std::string_view to_string(TailState);

struct SegmentScan {
  std::optional<SegmentHeader> header;
  uint64_t file_size = 0;
  uint64_t valid_end = 0;  // end of the last good record
  TailState tail = TailState::clean;
  std::string tail_detail;              // why the scan stopped early, for `spool check`
  std::vector<StoredMessage> messages;  // in commit order
  size_t data_records = 0;
  size_t garbage_messages = 0;  // messages with data records and no commit record
  uint64_t garbage_bytes = 0;   // their data records' bytes
};

SegmentScan scan_segment(std::span<const char> bytes);

// A read-only mapping of a whole file, as long as it was at open.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);  // null + errno
  ~MappedFile();
  std::span<const char> bytes() const { return {data_, size_}; }

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  const char* data_;
  size_t size_;
};

// Maps and scans a file; an unreadable file scans as corrupt with the reason.
SegmentScan scan_segment_file(const std::filesystem::path& path);

}  // namespace ringmx::delivery
