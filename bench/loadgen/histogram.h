// A fixed-memory log-linear histogram of durations in nanoseconds, in the
// manner of HdrHistogram: values below 2^kSubBits are exact, and every power
// of two above is split into 2^kSubBits buckets, so a percentile read back
// is within 1/128 (0.8%) of the recorded value. Values past kMaxValue are
// clamped (and still counted; the exact maximum is kept apart).
//
// One writer (the worker thread that owns it), any number of readers: the
// counters are relaxed atomics written with load+store, which costs the
// writer no locked instruction and lets the progress line read percentiles
// while the run goes on.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace ringmx::loadgen {

class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSubCount = 1u << kSubBits;
  static constexpr int kMaxBit = 40;  // 2^40 ns: about 18 minutes
  static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBit) - 1;
  static constexpr std::size_t kBuckets = (kMaxBit - kSubBits + 1) * kSubCount;

  Histogram() = default;
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void record(std::uint64_t value_ns);

  // Adds every count of `other` into this one (this must have no other writer).
  void merge(const Histogram& other);

  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  std::uint64_t min() const;

  // The value at or below which `percent` percent of the records fall,
  // reported as the highest value of its bucket (never above max()).
  // 0 when empty.
  std::uint64_t percentile(double percent) const;

  // The percentile of the records `later` has and `earlier` had not: for
  // the progress line, the last second of a histogram snapshotted each
  // second (`earlier` must be an older copy of `later`). 0 when none.
  static std::uint64_t percentile_since(const Histogram& later, const Histogram& earlier,
                                        double percent);

  // Bucket arithmetic, exposed for tests.
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t highest_in_bucket(std::size_t bucket);

 private:
  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t by) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> max_{0};
  std::atomic<std::uint64_t> min_{UINT64_MAX};
};

}  // namespace ringmx::loadgen
