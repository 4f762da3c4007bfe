#include "bench/loadgen/message_catalog.h"

#include <fmt/format.h>

#include <algorithm>

namespace ringmx::loadgen {

MessageCatalog::MessageCatalog(const std::vector<SizeWeight>& sizes) {
  std::uint64_t sum = 0;
  for (const auto& s : sizes) {
    texts_.push_back(build(s.bytes));
    sum += s.weight;
    cumulative_.push_back(sum);
  }
}

std::size_t MessageCatalog::pick(std::uint64_t random) const {
  if (cumulative_.size() == 1) return 0;
  auto r = random % cumulative_.back();
  return static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), r) -
                                  cumulative_.begin());
}

std::string MessageCatalog::build(std::size_t bytes) {
  std::string text = fmt::format(
      "From: <bench@ringmx-bench.invalid>\r\n"
      "To: <rcpt1@ringmx-bench.invalid>\r\n"
      "Subject: ringmx-bench {} bytes\r\n"
      "Message-ID: <{}@ringmx-bench.invalid>\r\n"
      "\r\n",
      bytes, bytes);
  // Body lines of up to 76 characters plus CRLF, never starting with '.'.
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::size_t column = 0;
  std::size_t i = 0;
  while (text.size() < bytes) {
    std::size_t left = bytes - text.size();
    // Break at 76 columns while a full next line (a byte and CRLF) still
    // fits; the last line ends exactly at the size asked for.
    if (left == 2 || (column >= 76 && left > 4)) {
      text += "\r\n";
      column = 0;
      continue;
    }
    text += kAlphabet[i++ % kAlphabet.size()];
    ++column;
  }
  return text;
}

}  // namespace ringmx::loadgen
