#include "config/suggest.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ringmx::config {

size_t edit_distance(std::string_view a, std::string_view b) {
  auto eq = [](char x, char y) { return std::tolower(x) == std::tolower(y); };
  // d[i][j]: distance between a[0..i) and b[0..j); three rows suffice.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = eq(a[i - 1], b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && eq(a[i - 1], b[j - 2]) && eq(a[i - 2], b[j - 1]))
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest(std::string_view name, std::span<const std::string> candidates) {
  size_t limit = name.size() <= 4 ? 1 : name.size() <= 8 ? 2 : 3;
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(name, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  if (best) return best;
  // Not a typo, maybe a part: "key" for "private-key", "max-size" for
  // "size", a cipher name without its "_SHA256". The longest overlap wins.
  size_t best_overlap = 2;
  for (const std::string& c : candidates) {
    std::string_view shorter = c.size() < name.size() ? std::string_view(c) : name;
    std::string_view longer = c.size() < name.size() ? name : std::string_view(c);
    if (shorter.size() > best_overlap &&
        (longer.starts_with(shorter) || longer.ends_with(shorter))) {
      best_overlap = shorter.size();
      best = c;
    }
  }
  return best;
}

}  // namespace ringmx::config
