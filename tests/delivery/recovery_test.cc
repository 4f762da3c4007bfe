// Recovery: a real segment cut at every byte offset of its last records, and
// damaged in the middle, keeps exactly the committed messages.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "delivery/segment_file.h"
#include "delivery/segment_scan.h"
#include "delivery/spool_reader.h"
#include "delivery/spool_writer.h"
#include "tests/delivery/spool_test_util.h"

namespace ringmx::delivery {
namespace {

using testing::Harness;
using testing::make_body;
using testing::make_envelope;
using testing::TempDir;

std::span<const char> sp(const std::string& s) {
  return {s.data(), s.size()};
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Fixture {
  TempDir dir;
  std::map<MessageId, std::string> bodies;  // committed messages
  std::string segment;                      // the file's bytes
  std::filesystem::path segment_path;
};

// A segment whose tail holds interleaved chunks of three messages committed
// in the last records, and a fourth message that never commits.
void build(Fixture& f) {
  ShardSpool spool(f.dir.path(), 0, 64 << 20);
  Harness h(spool);
  for (int i = 0; i < 5; ++i) {  // some earlier, complete history
    MessageId id = spool.begin();
    // The writer keeps views until the write ran: the bytes must live on.
    const std::string& b = f.bodies[id] = make_body(100 + i, 2000 + i);
    spool.append(id, sp(b), 0);
    spool.commit(id, make_envelope(i), i);
  }
  h.run();
  std::string b[4] = {make_body(1, 300), make_body(2, 0), make_body(3, 700), make_body(4, 90)};
  MessageId ids[4];
  for (auto& id : ids)
    id = spool.begin();
  for (int part = 0; part < 3; ++part) {
    for (int m : {0, 2, 3}) {
      size_t n = b[m].size() / 3;
      size_t from = part * n, len = part == 2 ? b[m].size() - from : n;
      spool.append(ids[m], sp(b[m]).subspan(from, len), 0);
    }
  }
  spool.commit(ids[0], make_envelope(10), 10);
  spool.commit(ids[1], make_envelope(11), 11);  // empty message
  spool.commit(ids[2], make_envelope(12), 12);
  h.run();
  for (int m : {0, 1, 2})
    f.bodies[ids[m]] = b[m];
  for (auto& [w, r] : h.results)
    ASSERT_EQ(r, CommitResult::committed);
  f.segment_path = shard_dir(f.dir.path(), 0) / segment_file_name(spool.active_sequence());
  f.segment = read_file(f.segment_path);
}

TEST(SpoolRecovery, CutAtEveryByteKeepsExactlyTheCommittedMessages) {
  Fixture f;
  build(f);
  SegmentScan full = scan_segment(sp(f.segment));
  ASSERT_EQ(full.tail, TailState::clean) << full.tail_detail;
  ASSERT_EQ(full.messages.size(), 8u);
  // Where each message becomes complete: the end of its commit record.
  std::vector<std::pair<uint64_t, MessageId>> complete_at;
  for (const StoredMessage& m : full.messages) {
    uint64_t len = get_u32(f.segment.data() + m.commit_offset + 4);
    complete_at.push_back({m.commit_offset + kRecordHeaderSize + len, m.id});
  }
  // Every byte offset from the first record of the last 5 messages' chunks on.
  uint64_t from = full.messages[4].commit_offset;
  for (uint64_t cut = from; cut <= f.segment.size(); ++cut) {
    SegmentScan s = scan_segment(sp(f.segment).first(cut));
    std::set<MessageId> expected;
    for (auto [end, id] : complete_at)
      if (end <= cut) expected.insert(id);
    std::set<MessageId> got;
    for (const StoredMessage& m : s.messages) {
      got.insert(m.id);
      std::string body;
      for (const ChunkRef& c : m.chunks)
        body.append(f.segment.data() + c.offset, c.length);
      ASSERT_EQ(body, f.bodies.at(m.id)) << "cut " << cut;
    }
    ASSERT_EQ(got, expected) << "cut " << cut;
    ASSERT_NE(s.tail, TailState::corrupt) << "cut " << cut << ": " << s.tail_detail;
    ASSERT_LE(s.valid_end, cut);
  }
}

TEST(SpoolRecovery, TruncatedRealFilesReadBackThroughTheReader) {
  Fixture f;
  build(f);
  SegmentScan full = scan_segment(sp(f.segment));
  uint64_t from = full.messages[4].commit_offset;
  for (uint64_t cut = from; cut <= f.segment.size(); cut += 37) {
    ASSERT_EQ(::truncate(f.segment_path.c_str(), static_cast<off_t>(cut)), 0);
    SpoolReader reader(f.dir.path());
    for (const MessageView& m : reader.messages()) {
      ASSERT_EQ(reader.read_body(m), f.bodies.at(m.message->id)) << "cut " << cut;
    }
    std::ofstream(f.segment_path, std::ios::binary | std::ios::trunc) << f.segment;  // restore
  }
}

TEST(SpoolRecovery, CorruptRecordDropsEverythingAfterIt) {
  Fixture f;
  build(f);
  SegmentScan full = scan_segment(sp(f.segment));
  // Flip one byte inside the 3rd message's commit record payload.
  const StoredMessage& third = full.messages[2];
  std::string damaged = f.segment;
  damaged[third.commit_offset + kRecordHeaderSize + 3] ^= 0x40;
  SegmentScan s = scan_segment(sp(damaged));
  EXPECT_EQ(s.tail, TailState::corrupt);
  EXPECT_EQ(s.valid_end, third.commit_offset);
  ASSERT_EQ(s.messages.size(), 2u);
  EXPECT_EQ(s.messages[0].id, full.messages[0].id);
  EXPECT_EQ(s.messages[1].id, full.messages[1].id);
  EXPECT_NE(s.tail_detail.find("CRC"), std::string::npos) << s.tail_detail;
}

TEST(SpoolRecovery, ZeroFilledTailIsTornNotCorrupt) {
  Fixture f;
  build(f);
  std::string padded = f.segment + std::string(4096, '\0');
  SegmentScan s = scan_segment(sp(padded));
  EXPECT_EQ(s.tail, TailState::torn);
  EXPECT_EQ(s.valid_end, f.segment.size());
  EXPECT_EQ(s.messages.size(), 8u);
}

TEST(SpoolRecovery, RestartedWriterStartsANewSegmentAndKeepsTheOld) {
  Fixture f;
  build(f);
  // The writer is gone (build's spool was destroyed): a torn tail stays
  // readable and a new writer appends elsewhere.
  ASSERT_EQ(::truncate(f.segment_path.c_str(), static_cast<off_t>(f.segment.size() - 5)), 0);
  ShardSpool again(f.dir.path(), 0, 64 << 20);
  EXPECT_EQ(again.active_sequence(), 2u);
  SpoolReader reader(f.dir.path());
  ASSERT_EQ(reader.segments().size(), 2u);
  EXPECT_EQ(reader.segments()[0].scan.tail, TailState::torn);
  EXPECT_FALSE(reader.segments()[0].active);
  EXPECT_TRUE(reader.segments()[1].active);
  EXPECT_EQ(reader.messages().size(), 7u);  // the last commit lost its tail
}

}  // namespace
}  // namespace ringmx::delivery
