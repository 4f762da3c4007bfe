#include "core/netstat.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ringmx::core {
namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    auto end = line.find(' ');
    out.push_back(line.substr(0, end));
    if (end == std::string_view::npos) break;
    line.remove_prefix(end);
  }
  return out;
}

}  // namespace

std::optional<ListenCounters> parse_netstat(std::string_view text) {
  std::string_view names;
  while (!text.empty()) {
    auto eol = text.find('\n');
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.starts_with("TcpExt:")) continue;
    if (names.empty()) {
      names = line;
      continue;
    }
    auto keys = words(names);
    auto values = words(line);
    if (keys.size() != values.size()) return std::nullopt;
    std::optional<std::uint64_t> overflows, drops;
    for (std::size_t i = 1; i < keys.size(); ++i) {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(values[i].data(), values[i].data() + values[i].size(), v);
      if (ec != std::errc()) continue;
      if (keys[i] == "ListenOverflows") overflows = v;
      if (keys[i] == "ListenDrops") drops = v;
    }
    if (!overflows || !drops) return std::nullopt;
    return ListenCounters{*overflows, *drops};
  }
  return std::nullopt;
}

std::optional<ListenCounters> read_listen_counters() {
  std::ifstream in("/proc/net/netstat");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return parse_netstat(text.str());
}

}  // namespace ringmx::core
