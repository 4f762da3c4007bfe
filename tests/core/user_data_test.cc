#include "core/user_data.h"

#include <gtest/gtest.h>

namespace ringmx::core {
namespace {

TEST(UserData, RoundTripsOpSlotAndGeneration) {
  const std::uint64_t v = encode(Op::send, 0xfffffffeu, 0x123456);
  const UserData u = decode(v);
  EXPECT_EQ(u.op, Op::send);
  EXPECT_EQ(u.slot, 0xfffffffeu);
  EXPECT_EQ(u.generation, 0x123456u);
}

TEST(UserData, GenerationWrapsAt24Bits) {
  // A recycled slot's generation is compared masked, as decode() gives it.
  const UserData u = decode(encode(Op::recv, 5, 0x1000001));
  EXPECT_EQ(u.generation, 1u);
  EXPECT_EQ(u.op, Op::recv);
  EXPECT_EQ(u.slot, 5u);
}

}  // namespace
}  // namespace ringmx::core
