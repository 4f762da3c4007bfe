// Percentiles read back from the log-bucket histogram: within its stated
// 1/128 relative error, exact below 128 ns, and never above the maximum.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "bench/loadgen/histogram.h"

namespace ringmx::loadgen {
namespace {

constexpr double kRelativeError = 1.0 / Histogram::kSubCount;

void expect_near_relative(std::uint64_t got, std::uint64_t want) {
  EXPECT_LE(std::abs(static_cast<double>(got) - static_cast<double>(want)),
            static_cast<double>(want) * kRelativeError + 1)
      << "got " << got << " want " << want;
}

TEST(LoadgenHistogram, EmptyReadsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(LoadgenHistogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v)
    h.record(v);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_EQ(h.min(), 1u);
}

TEST(LoadgenHistogram, UniformMicrosecondsToTenMilliseconds) {
  Histogram h;
  for (std::uint64_t us = 1; us <= 10'000; ++us)
    h.record(us * 1000);
  EXPECT_EQ(h.count(), 10'000u);
  expect_near_relative(h.percentile(50), 5'000'000);
  expect_near_relative(h.percentile(90), 9'000'000);
  expect_near_relative(h.percentile(99), 9'900'000);
  expect_near_relative(h.percentile(99.9), 9'990'000);
  EXPECT_EQ(h.percentile(100), 10'000'000u);  // the exact maximum, not a bucket edge
  EXPECT_EQ(h.max(), 10'000'000u);
}

TEST(LoadgenHistogram, LongTailShowsInHighPercentiles) {
  Histogram h;
  for (int i = 0; i < 990; ++i)
    h.record(1'000'000);  // 1 ms
  for (int i = 0; i < 10; ++i)
    h.record(500'000'000);  // 500 ms
  expect_near_relative(h.percentile(50), 1'000'000);
  expect_near_relative(h.percentile(99), 1'000'000);
  expect_near_relative(h.percentile(99.9), 500'000'000);
}

TEST(LoadgenHistogram, BucketsCoverTheirValues) {
  const std::uint64_t values[] = {
      0, 1, 127, 128, 129, 255, 256, 257, 1000, 123456789, Histogram::kMaxValue};
  for (std::uint64_t v : values) {
    auto b = Histogram::bucket_of(v);
    ASSERT_LT(b, Histogram::kBuckets);
    EXPECT_GE(Histogram::highest_in_bucket(b), v);
    if (b > 0) {
      EXPECT_LT(Histogram::highest_in_bucket(b - 1), v);
    }
  }
}

TEST(LoadgenHistogram, HugeValuesAreClampedButCounted) {
  Histogram h;
  h.record(UINT64_MAX / 2);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), UINT64_MAX / 2);
  EXPECT_GE(h.percentile(50), Histogram::kMaxValue / 2);
}

TEST(LoadgenHistogram, MergeAddsCounts) {
  Histogram a, b;
  for (int i = 0; i < 100; ++i)
    a.record(1000);
  for (int i = 0; i < 300; ++i)
    b.record(3000);
  a.merge(b);
  EXPECT_EQ(a.count(), 400u);
  expect_near_relative(a.percentile(25), 1000);
  expect_near_relative(a.percentile(26), 3000);
  EXPECT_EQ(a.max(), 3000u);
  EXPECT_EQ(a.min(), 1000u);
}

TEST(LoadgenHistogram, PercentileSinceAnEarlierSnapshot) {
  Histogram run, snapshot;
  for (int i = 0; i < 1000; ++i)
    run.record(1'000'000);  // first second: 1 ms
  snapshot.merge(run);
  for (int i = 0; i < 100; ++i)
    run.record(50'000'000);  // next second: 50 ms
  expect_near_relative(Histogram::percentile_since(run, snapshot, 50), 50'000'000);
  expect_near_relative(run.percentile(50), 1'000'000);                 // the whole run
  EXPECT_EQ(Histogram::percentile_since(snapshot, snapshot, 50), 0u);  // nothing new
}

}  // namespace
}  // namespace ringmx::loadgen
