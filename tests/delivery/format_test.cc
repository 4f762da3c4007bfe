// The on-disk building blocks: CRC32C, record headers, envelope encoding,
// queue ids.
#include <gtest/gtest.h>

#include <random>
#include <string>

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

TEST(Crc32c, HardwareAndTableAgreeAtEveryLengthAndSplit) {
  std::string data = testing::make_body(7, 300);
  for (size_t len = 0; len <= data.size(); ++len) {
    auto s = sp(data).first(len);
    uint32_t table = crc32c_extend_table(0, s);
    ASSERT_EQ(crc32c(s), table) << "length " << len;
    size_t cut = len / 3;
    ASSERT_EQ(crc32c_extend(crc32c(s.first(cut)), s.subspan(cut)), table) << "length " << len;
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
