#include "delivery/record.h"

#include "delivery/crc32c.h"

namespace ringmx::delivery {

RecordHeaderBytes make_record_header(RecordType type, uint64_t message,
                                     std::span<const char> payload) {
  RecordHeaderBytes h{};
  put_u32(h.data() + 4, static_cast<uint32_t>(payload.size()));
  h[8] = static_cast<char>(type);
  put_u64(h.data() + 16, message);
  uint32_t crc = crc32c(std::span<const char>(h.data() + 4, kRecordHeaderSize - 4));
  put_u32(h.data(), crc32c_extend(crc, payload));
  return h;
}

RecordHeader parse_record_header(std::span<const char, kRecordHeaderSize> b) {
  RecordHeader h;
  h.crc = get_u32(b.data());
  h.length = get_u32(b.data() + 4);
  h.type = static_cast<RecordType>(static_cast<unsigned char>(b[8]));
  h.message = get_u64(b.data() + 16);
  return h;
}

bool check_record(std::span<const char, kRecordHeaderSize> header, std::span<const char> payload) {
  uint32_t crc = crc32c(header.subspan(4));
  return crc32c_extend(crc, payload) == get_u32(header.data());
}

std::string encode_segment_header(const SegmentHeader& h) {
  std::string out(kSegmentMagic);
  append_u32(out, h.version);
  append_u32(out, h.shard);
  append_u64(out, h.sequence);
  append_u64(out, h.created_unix_ns);
  return out;
}

std::optional<SegmentHeader> decode_segment_header(std::span<const char> p) {
  if (p.size() < kSegmentHeaderPayload) return std::nullopt;
  if (std::string_view(p.data(), kSegmentMagic.size()) != kSegmentMagic) return std::nullopt;
  SegmentHeader h;
  h.version = get_u32(p.data() + 8);
  h.shard = get_u32(p.data() + 12);
  h.sequence = get_u64(p.data() + 16);
  h.created_unix_ns = get_u64(p.data() + 24);
  if (h.version != kFormatVersion) return std::nullopt;
  return h;
}

std::optional<CommitHead> decode_commit(std::span<const char> p) {
  if (p.size() < kCommitFixedSize) return std::nullopt;
  CommitHead c;
  c.length = get_u64(p.data());
  c.crc = get_u32(p.data() + 8);
  uint64_t count = get_u32(p.data() + 12);
  if (count * 8 > p.size() - kCommitFixedSize) return std::nullopt;
  c.chunk_offsets = p.subspan(kCommitFixedSize, count * 8);
  c.envelope = p.subspan(kCommitFixedSize + count * 8);
  return c;
}

}  // namespace ringmx::delivery
