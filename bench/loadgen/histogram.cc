#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ringmx::loadgen {

std::size_t Histogram::bucket_of(std::uint64_t value) {
  if (value > kMaxValue) value = kMaxValue;
  if (value < kSubCount) return value;
  int top = std::bit_width(value) - 1;  // >= kSubBits
  int shift = top - kSubBits;
  // Group 1 holds [128, 256) in steps of 1, group 2 [256, 512) in steps of 2, ...
  std::uint64_t sub = (value >> shift) - kSubCount;
  return static_cast<std::size_t>(shift + 1) * kSubCount + sub;
}

std::uint64_t Histogram::highest_in_bucket(std::size_t bucket) {
  if (bucket < kSubCount) return bucket;
  std::size_t group = bucket / kSubCount;  // >= 1
  std::uint64_t sub = bucket % kSubCount;
  int shift = static_cast<int>(group) - 1;
  std::uint64_t low = (kSubCount + sub) << shift;
  return low + ((std::uint64_t{1} << shift) - 1);
}

void Histogram::record(std::uint64_t value_ns) {
  bump(buckets_[bucket_of(value_ns)], 1);
  bump(count_, 1);
  if (value_ns > max_.load(std::memory_order_relaxed))
    max_.store(value_ns, std::memory_order_relaxed);
  if (value_ns < min_.load(std::memory_order_relaxed))
    min_.store(value_ns, std::memory_order_relaxed);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    auto n = other.buckets_[i].load(std::memory_order_relaxed);
    if (n) bump(buckets_[i], n);
  }
  bump(count_, other.count());
  if (other.max() > max()) max_.store(other.max(), std::memory_order_relaxed);
  auto other_min = other.min_.load(std::memory_order_relaxed);
  if (other_min < min_.load(std::memory_order_relaxed))
    min_.store(other_min, std::memory_order_relaxed);
}

std::uint64_t Histogram::min() const {
  auto m = min_.load(std::memory_order_relaxed);
  return m == UINT64_MAX ? 0 : m;
}

std::uint64_t Histogram::percentile(double percent) const {
  // Sum the buckets rather than trusting count_: a reader racing the writer
  // may see a bucket bumped before the total, and the rank must be reachable.
  std::uint64_t total = 0;
  for (const auto& b : buckets_)
    total += b.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  if (percent < 0) percent = 0;
  if (percent > 100) percent = 100;
  auto rank = static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      auto high = highest_in_bucket(i);
      auto top = max();
      return high < top ? high : top;
    }
  }
  return max();
}

std::uint64_t Histogram::percentile_since(const Histogram& later, const Histogram& earlier,
                                          double percent) {
  auto count_at = [&](std::size_t i) {
    auto a = later.buckets_[i].load(std::memory_order_relaxed);
    auto b = earlier.buckets_[i].load(std::memory_order_relaxed);
    return a > b ? a - b : 0;
  };
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kBuckets; ++i)
    total += count_at(i);
  if (total == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(total))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += count_at(i);
    if (seen >= rank) return std::min(highest_in_bucket(i), later.max());
  }
  return later.max();
}

}  // namespace ringmx::loadgen
