// The on-disk building blocks: CRC32C, record headers, envelope encoding,
// queue ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "delivery/crc32c.h"
#include "delivery/envelope.h"
#include "delivery/record.h"
#include "delivery/spool_writer.h"
#include "tests/delivery/spool_test_util.h"

namespace ringmx::delivery {
namespace {

std::span<const char> sp(std::string_view s) {
  return {s.data(), s.size()};
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(sp("123456789")), 0xE3069283u);  // RFC 3720 check value
  EXPECT_EQ(crc32c(sp("")), 0u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(sp(zeros)), 0x8A9136AAu);  // RFC 3720 B.4, 32 bytes of zeros
}

// Bytes of every value, the same for a seed. The CRC tests take spans at
// offsets 0..7 into such a buffer, so the hardware path starts misaligned.
std::vector<char> random_bytes(uint64_t seed, size_t size) {
  std::vector<char> v(size);
  std::mt19937_64 rng(seed);
  for (char& c : v)
    c = static_cast<char>(rng());
  return v;
}

// The hardware path (three lanes over long then short blocks, shifted
// together; single steps for the rest) against the table's `expected`, for
// the span whole and cut in three.
void expect_hardware_agrees(std::span<const char> s, uint32_t expected, size_t offset) {
  ASSERT_EQ(crc32c(s), expected) << "offset " << offset << " length " << s.size();
  size_t cut = s.size() / 3;
  ASSERT_EQ(crc32c_extend(crc32c(s.first(cut)), s.subspan(cut)), expected)
      << "offset " << offset << " length " << s.size() << " cut " << cut;
}

// Every length from..to (inclusive) of the bytes at `offset`; the table's
// CRC grows a byte at a time beside them.
void expect_agree_at_lengths(std::span<const char> data, size_t offset, size_t from, size_t to) {
  std::span<const char> s = data.subspan(offset, to);
  uint32_t table = crc32c_extend_table(0, s.first(from));
  for (size_t len = from; len <= to; ++len) {
    expect_hardware_agrees(s.first(len), table, offset);
    if (len < to) table = crc32c_extend_table(table, s.subspan(len, 1));
  }
}

TEST(Crc32c, HardwareAndTableAgreeAtEveryLengthAndSplit) {
  if (!crc32c_hardware()) GTEST_SKIP() << "no SSE4.2 crc32: only the table runs";
  // Every length through two short blocks (3 x 256 bytes each) and a tail,
  // at every alignment.
  std::vector<char> data = random_bytes(7, 1700);
  for (size_t offset = 0; offset < 8; ++offset)
    expect_agree_at_lengths(data, offset, 0, data.size() - 8);
}

TEST(Crc32c, HardwareAndTableAgreeAroundEveryBlockBoundary) {
  if (!crc32c_hardware()) GTEST_SKIP() << "no SSE4.2 crc32: only the table runs";
  // Blocks are three lanes; crc32c.cc uses lanes of 4096 (long) and 256
  // (short) bytes. Every power-of-two lane from 8 to 16384 is covered, so a
  // change of sizes stays tested: one, two and three blocks of one size,
  // and one block followed by one or two blocks of a shorter lane.
  std::vector<size_t> bases;
  for (size_t lane = 8; lane <= 16384; lane *= 2) {
    for (size_t blocks = 1; blocks <= 3; ++blocks)
      bases.push_back(3 * lane * blocks);
    for (size_t shorter = 8; shorter < lane; shorter *= 2)
      for (size_t blocks = 1; blocks <= 2; ++blocks)
        bases.push_back(3 * lane + 3 * shorter * blocks);
  }
  std::vector<char> data = random_bytes(11, 3 * 3 * 16384 + 32);
  // -8..+15: the alignment steps before the lanes take up to 7 bytes.
  for (size_t base : bases)
    for (size_t offset = 0; offset < 8; ++offset)
      expect_agree_at_lengths(data, offset, base - 8, base + 15);
}

TEST(Crc32c, HardwareAndTableAgreeOnMebibyteBuffers) {
  if (!crc32c_hardware()) GTEST_SKIP() << "no SSE4.2 crc32: only the table runs";
  const size_t sizes[] = {1u << 20, (3u << 20) + 5, (2u << 20) - 3};
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::vector<char> data = random_bytes(100 + i, sizes[i] + 8);
    size_t offset = (i * 3) % 8;
    std::span<const char> s = std::span<const char>(data).subspan(offset, sizes[i]);
    expect_hardware_agrees(s, crc32c_extend_table(0, s), offset);
  }
}

TEST(Crc32c, ExtendAcrossOddSplitsEqualsOneCrc) {
  if (!crc32c_hardware()) GTEST_SKIP() << "no SSE4.2 crc32: only the table runs";
  // As a spool message's CRC grows buffer by buffer: up to 6 cuts at
  // random places, each piece starting wherever the last one ended.
  std::vector<char> data = random_bytes(13, 200 * 1024 + 5);
  std::span<const char> all = std::span<const char>(data).subspan(5);
  const uint32_t whole = crc32c_extend_table(0, all);
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<size_t> cuts{0, all.size()};
    for (size_t n = 1 + rng() % 6; n > 0; --n)
      cuts.push_back(rng() % all.size());
    std::sort(cuts.begin(), cuts.end());
    uint32_t crc = 0;
    for (size_t i = 0; i + 1 < cuts.size(); ++i)
      crc = crc32c_extend(crc, all.subspan(cuts[i], cuts[i + 1] - cuts[i]));
    ASSERT_EQ(crc, whole) << "trial " << trial;
  }
}

TEST(Record, HeaderLayoutIsAsDocumented) {
  std::string payload = "hello";
  RecordHeaderBytes h = make_record_header(RecordType::data, 0x0000000500000007ull, sp(payload));
  EXPECT_EQ(get_u32(h.data() + 4), 5u);
  EXPECT_EQ(static_cast<uint8_t>(h[8]), 2);
  for (int i = 9; i < 16; ++i)
    EXPECT_EQ(h[i], 0) << i;
  EXPECT_EQ(get_u64(h.data() + 16), 0x0000000500000007ull);
  // The CRC covers header bytes 4..24 then the payload.
  std::string covered(h.data() + 4, 20);
  covered += payload;
  EXPECT_EQ(get_u32(h.data()), crc32c(sp(covered)));
  EXPECT_TRUE(check_record(h, sp(payload)));
  payload[2] ^= 1;
  EXPECT_FALSE(check_record(h, sp(payload)));
}

TEST(Envelope, RoundTripsEveryField) {
  Envelope e = testing::make_envelope(3);
  e.queue_id = "00000000010000002A";
  e.size = 123456789012ull;
  std::string bytes;
  encode_envelope(e, bytes);
  auto back = decode_envelope(sp(bytes));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
  ASSERT_EQ(back->rcpt_to.size(), 2u);
  EXPECT_EQ(back->rcpt_to[0].params, "NOTIFY=NEVER");
  EXPECT_EQ(back->rcpt_to[1].params, "");
}

TEST(Envelope, SkipsUnknownTagsAndRefusesTruncation) {
  Envelope e = testing::make_envelope(1);
  std::string bytes;
  encode_envelope(e, bytes);
  std::string with_new_field = bytes + std::string("\x63\x03\x00\x00\x00xyz", 8);
  auto back = decode_envelope(sp(with_new_field));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
  for (size_t cut = 1; cut < 5; ++cut)
    EXPECT_FALSE(decode_envelope(sp(bytes).first(bytes.size() - cut))) << cut;
}

TEST(QueueId, FormatsAndParses) {
  MessageId id = (uint64_t{0x3A} << 32) | 0x2F;
  EXPECT_EQ(format_queue_id(1, id), "010000003A00002F");
  unsigned shard = 99;
  MessageId back = 0;
  ASSERT_TRUE(parse_queue_id("010000003A00002F", shard, back));
  EXPECT_EQ(shard, 1u);
  EXPECT_EQ(back, id);
  ASSERT_TRUE(parse_queue_id("010000003a00002f", shard, back));
  EXPECT_EQ(back, id);
  EXPECT_FALSE(parse_queue_id("010000003A00002", shard, back));
  EXPECT_FALSE(parse_queue_id("010000003A00002G", shard, back));
}

}  // namespace
}  // namespace ringmx::delivery
