// The messages a run sends: one prebuilt text per size of --size, shared
// read-only by every worker. Each text is exactly the size asked for,
// headers then 76-column body lines, ends with CRLF, and has no line that
// starts with '.', so DATA needs no dot-stuffing and BDAT sends it as is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/options.h"

namespace ringmx::loadgen {

class MessageCatalog {
 public:
  explicit MessageCatalog(const std::vector<SizeWeight>& sizes);

  // Which message, for a uniformly random `random`, honouring the weights.
  std::size_t pick(std::uint64_t random) const;
  std::string_view text(std::size_t index) const { return texts_[index]; }
  std::size_t count() const { return texts_.size(); }

  static std::string build(std::size_t bytes);

 private:
  std::vector<std::string> texts_;
  std::vector<std::uint64_t> cumulative_;  // running sum of weights
};

// xorshift64*: cheap, per worker, seeded from the worker index so a run's
// size sequence is reproducible.
struct Random {
  std::uint64_t state;
  explicit Random(std::uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Dull;
  }
};

}  // namespace ringmx::loadgen
