// The record layer of a segment file: fixed 24-byte header, then payload.
// delivery/FORMAT.md is the normative description; this file mirrors it.
//
//   offset size field
//        0    4 crc      CRC32C of bytes 4..(24 + length) of the record
//        4    4 length   payload bytes
//        8    1 type     RecordType
//        9    7 zero     reserved, written as zero
//       16    8 message  MessageId (0 for the segment header)
//
// All integers little-endian.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringmx::delivery {

inline constexpr size_t kRecordHeaderSize = 24;
// A data record's payload is at most this long; longer chunks are split.
inline constexpr uint32_t kMaxDataPayload = 16u << 20;
// Any record longer than this is treated as corrupt by readers (no writer
// makes one: commit records of 10 MiB messages in 1-byte chunks stay below).
inline constexpr uint32_t kMaxRecordPayload = 256u << 20;

enum class RecordType : uint8_t {
  segment_header = 1,  // first record of every segment
  data = 2,            // message bytes
  commit = 3,          // ends a message: envelope, length, checksum, chunk list
};

using RecordHeaderBytes = std::array<char, kRecordHeaderSize>;

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t length = 0;
  RecordType type = RecordType::data;
  uint64_t message = 0;
};

// Little-endian helpers (the spool is read back on the same kind of host,
// but FORMAT.md promises little-endian so a reader elsewhere can rely on it).
inline void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
inline void append_u32(std::string& out, uint32_t v) {
  char b[4];
  put_u32(b, v);
  out.append(b, 4);
}
inline void append_u64(std::string& out, uint64_t v) {
  char b[8];
  put_u64(b, v);
  out.append(b, 8);
}

// A complete header for `payload`, CRC included.
RecordHeaderBytes make_record_header(RecordType type, uint64_t message,
                                     std::span<const char> payload);

// Reads the header fields; does not check the CRC (see check_record).
RecordHeader parse_record_header(std::span<const char, kRecordHeaderSize> bytes);

// True when the CRC over header bytes 4..24 and `payload` matches.
bool check_record(std::span<const char, kRecordHeaderSize> header, std::span<const char> payload);

// Segment header payload: "RMXSPOOL", format version, shard, sequence, creation time.
inline constexpr std::string_view kSegmentMagic = "RMXSPOOL";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderPayload = 32;
struct SegmentHeader {
  uint32_t version = kFormatVersion;
  uint32_t shard = 0;
  uint64_t sequence = 0;
  uint64_t created_unix_ns = 0;
};
std::string encode_segment_header(const SegmentHeader& h);
std::optional<SegmentHeader> decode_segment_header(std::span<const char> payload);

// Commit payload: body length, body CRC32C, chunk count, the offsets of the
// message's data records (record start, in write order), then the envelope.
inline constexpr size_t kCommitFixedSize = 16;
struct CommitHead {
  uint64_t length = 0;
  uint32_t crc = 0;
  std::span<const char> chunk_offsets;  // count * 8 bytes, read with get_u64
  std::span<const char> envelope;
  size_t chunk_count() const { return chunk_offsets.size() / 8; }
  uint64_t chunk_offset(size_t i) const { return get_u64(chunk_offsets.data() + 8 * i); }
};
std::optional<CommitHead> decode_commit(std::span<const char> payload);

}  // namespace ringmx::delivery
