#include "bench/loadgen/options.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstring>
#include <functional>

namespace ringmx::loadgen {
namespace {

// Bounds, declared once: what the parser accepts for each counted option.
constexpr std::uint64_t kMaxConnections = 1'000'000;
constexpr unsigned kMaxThreads = 256;
constexpr unsigned kMaxRecipients = 1000;
constexpr std::size_t kMaxMessageBytes = 64u << 20;
constexpr std::size_t kMinMessageBytes = 256;  // the generated headers take ~150
constexpr std::uint64_t kMaxMessages = 1'000'000'000;
constexpr double kMaxRate = 10'000'000;
constexpr auto kMaxDuration = std::chrono::hours(24);

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  // std::from_chars for double is in libstdc++ 11+; Debian 12 has 12.
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

bool is_loopback(const Address& a) {
  if (a.family() == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

std::optional<Address> parse_ip(std::string_view host, std::uint16_t port) {
  std::string h(host);
  Address a;
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, h.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    a.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    a.length = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  if (!is_loopback(a)) return std::nullopt;
  return a;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    auto pos = text.find(sep);
    parts.push_back(text.substr(0, pos));
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  return parts;
}

// One row per option: its name, whether it takes a value, its help line,
// and how the value is applied (an error message, or empty on success).
struct OptionRow {
  std::string_view name;
  std::string_view value_name;  // empty: a flag without a value
  std::string_view help;
  std::function<std::string(Options&, std::string_view)> apply;
};

template <typename T>
std::function<std::string(Options&, std::string_view)> counted(T Options::*field, T min, T max) {
  return [=](Options& o, std::string_view v) -> std::string {
    auto n = parse_number<std::uint64_t>(v);
    if (!n || *n < static_cast<std::uint64_t>(min) || *n > static_cast<std::uint64_t>(max))
      return fmt::format("expects a whole number from {} to {}", min, max);
    o.*field = static_cast<T>(*n);
    return {};
  };
}

// "on" or "off" into a bool field.
std::function<std::string(Options&, std::string_view)> on_off(bool Options::*field) {
  return [=](Options& o, std::string_view v) -> std::string {
    if (v != "on" && v != "off") return "expects on or off";
    o.*field = v == "on";
    return {};
  };
}

const std::vector<OptionRow>& option_table() {
  static const std::vector<OptionRow> rows = {
      {"--target", "HOST:PORT", "server to load (loopback only: 127.0.0.0/8 or [::1])",
       [](Options& o, std::string_view v) -> std::string {
         auto a = parse_target(v);
         if (!a) return "expects a loopback HOST:PORT such as 127.0.0.1:2525 or [::1]:2525";
         o.target = *a;
         o.target_text = std::string(v);
         return {};
       }},
      {"--threads", "N", "io_uring threads (default: one per online CPU)",
       counted(&Options::threads, 1u, kMaxThreads)},
      {"--pin", "on|off",
       "thread i runs only on the i-th allowed CPU (off); with ringmx's "
       "connection-steering = cpu each thread then talks to the shard on its CPU",
       on_off(&Options::pin)},
      {"--connections", "N", "concurrent sessions over all threads (default 10)",
       counted(&Options::connections, 1u, static_cast<unsigned>(kMaxConnections))},
      {"--messages", "M", "messages to send in total (each attempt counts)",
       [](Options& o, std::string_view v) -> std::string {
         auto n = parse_number<std::uint64_t>(v);
         if (!n || *n == 0 || *n > kMaxMessages)
           return fmt::format("expects a whole number from 1 to {}", kMaxMessages);
         o.messages = *n;
         return {};
       }},
      {"--duration", "T", "run time (10s, 500ms, 2m); with --messages, a cap",
       [](Options& o, std::string_view v) -> std::string {
         auto d = parse_duration(v);
         if (!d || d->count() <= 0 || *d > kMaxDuration)
           return "expects a duration such as 30s, 500ms or 2m (at most 24h)";
         o.duration = *d;
         return {};
       }},
      {"--size", "BYTES|DIST", "message size (1k) or weighted mix (1k:80,100k:20)",
       [](Options& o, std::string_view v) -> std::string {
         auto s = parse_sizes(v);
         if (!s)
           return fmt::format("expects BYTES or SIZE:WEIGHT,... with sizes {} to {}",
                              kMinMessageBytes, kMaxMessageBytes);
         o.sizes = *s;
         return {};
       }},
      {"--recipients", "R", "recipients per message (default 1)",
       counted(&Options::recipients, 1u, kMaxRecipients)},
      {"--per-connection", "K", "messages per session, then QUIT (default 1; 0: unlimited)",
       counted(&Options::per_connection, 0u, static_cast<unsigned>(kMaxMessages))},
      {"--pipelining", "on|off", "send MAIL/RCPT/DATA (or BDAT) as one group, RFC 2920 (on)",
       on_off(&Options::pipelining)},
      {"--protocol", "smtp|lmtp", "EHLO and one reply per message, or LHLO and one per recipient",
       [](Options& o, std::string_view v) -> std::string {
         if (v == "smtp")
           o.protocol = Protocol::smtp;
         else if (v == "lmtp")
           o.protocol = Protocol::lmtp;
         else
           return "expects smtp or lmtp";
         return {};
       }},
      {"--tls", "none|starttls|implicit", "TLS (certificates are NOT verified)",
       [](Options& o, std::string_view v) -> std::string {
         if (v == "none")
           o.tls = TlsMode::none;
         else if (v == "starttls")
           o.tls = TlsMode::starttls;
         else if (v == "implicit")
           o.tls = TlsMode::implicit;
         else
           return "expects none, starttls or implicit";
         return {};
       }},
      {"--sni", "NAME", "server name sent in the TLS ClientHello",
       [](Options& o, std::string_view v) -> std::string {
         if (v.empty() || v.size() > 253) return "expects a host name";
         o.sni = std::string(v);
         return {};
       }},
      {"--bdat", "", "send the body with BDAT LAST (RFC 3030) instead of DATA",
       [](Options& o, std::string_view) -> std::string {
         o.bdat = true;
         return {};
       }},
      {"--rate", "R/s", "open loop: start R messages per second on a fixed schedule",
       [](Options& o, std::string_view v) -> std::string {
         auto r = parse_rate(v);
         if (!r || *r <= 0 || *r > kMaxRate)
           return fmt::format("expects a rate such as 5000/s or 60000/m (at most {}/s)", kMaxRate);
         o.rate = *r;
         return {};
       }},
      {"--source-addresses", "A-B",
       "bind to these loopback addresses in turn (127.0.0.1-127.0.0.50)",
       [](Options& o, std::string_view v) -> std::string {
         auto s = parse_source_addresses(v);
         if (!s) return "expects loopback addresses: A, A-B, or a comma list of them";
         o.source_addresses = *s;
         return {};
       }},
      {"--hold-idle", "N", "open N sessions, EHLO, keep them idle until --duration ends",
       [](Options& o, std::string_view v) -> std::string {
         auto n = parse_number<std::uint64_t>(v);
         if (!n || *n == 0 || *n > kMaxConnections)
           return fmt::format("expects a whole number from 1 to {}", kMaxConnections);
         o.hold_idle = static_cast<unsigned>(*n);
         return {};
       }},
      {"--json", "FILE", "also write the results as JSON to FILE",
       [](Options& o, std::string_view v) -> std::string {
         if (v.empty()) return "expects a file name";
         o.json_path = std::string(v);
         return {};
       }},
      {"--helo", "NAME", "name sent in EHLO/LHLO (default ringmx-bench.localhost)",
       [](Options& o, std::string_view v) -> std::string {
         if (v.empty() || v.find_first_of(" \r\n") != std::string_view::npos)
           return "expects a name without spaces";
         o.helo = std::string(v);
         return {};
       }},
      {"--reply-timeout", "T", "longest wait for connect, a reply or a TLS step (30s)",
       [](Options& o, std::string_view v) -> std::string {
         auto d = parse_duration(v);
         if (!d || d->count() <= 0 || *d > kMaxDuration) return "expects a duration such as 30s";
         o.reply_timeout = *d;
         return {};
       }},
      {"--help", "", "this text",
       [](Options& o, std::string_view) -> std::string {
         o.help = true;
         return {};
       }},
  };
  return rows;
}

// Rules between options, checked once after every option is read.
std::string check_combination(const Options& o) {
  if (o.target.length == 0) return "--target is required";
  if (o.hold_idle) {
    if (!o.duration) return "--hold-idle needs --duration (how long to hold)";
    if (o.messages) return "--hold-idle sends no messages: drop --messages";
    if (o.rate) return "--hold-idle sends no messages: drop --rate";
  } else if (!o.messages && !o.duration) {
    return "give --messages or --duration so that the run is bounded";
  }
  if (!o.sni.empty() && o.tls == TlsMode::none) return "--sni needs --tls starttls or implicit";
  for (const auto& s : o.source_addresses)
    if (s.family() != o.target.family())
      return "--source-addresses must be of the same family as --target";
  return {};
}

}  // namespace

std::optional<std::size_t> parse_bytes(std::string_view text) {
  std::size_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        unit = 1024;
        break;
      case 'm':
      case 'M':
        unit = 1024 * 1024;
        break;
      default:
        break;
    }
    if (unit != 1) text.remove_suffix(1);
  }
  auto n = parse_number<std::uint64_t>(text);
  if (!n || *n > kMaxMessageBytes / unit) return std::nullopt;
  return static_cast<std::size_t>(*n * unit);
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  using namespace std::chrono;
  struct Unit {
    std::string_view suffix;
    nanoseconds scale;
  };
  // Longest suffix first, so "ms" is not read as "s".
  static constexpr std::array<Unit, 5> units = {{{"ms", milliseconds(1)},
                                                 {"us", microseconds(1)},
                                                 {"s", seconds(1)},
                                                 {"m", minutes(1)},
                                                 {"h", hours(1)}}};
  nanoseconds scale = seconds(1);
  for (const auto& u : units) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      scale = u.scale;
      text.remove_suffix(u.suffix.size());
      break;
    }
  }
  auto value = parse_double(text);
  if (!value || *value < 0) return std::nullopt;
  return nanoseconds(static_cast<std::int64_t>(*value * static_cast<double>(scale.count())));
}

std::optional<std::vector<SizeWeight>> parse_sizes(std::string_view text) {
  std::vector<SizeWeight> sizes;
  auto parts = split(text, ',');
  for (auto part : parts) {
    SizeWeight sw;
    auto colon = part.find(':');
    auto bytes = parse_bytes(part.substr(0, colon));
    if (!bytes || *bytes < kMinMessageBytes) return std::nullopt;
    sw.bytes = *bytes;
    if (colon != std::string_view::npos) {
      auto w = parse_number<unsigned>(part.substr(colon + 1));
      if (!w || *w == 0 || *w > 1'000'000) return std::nullopt;
      sw.weight = *w;
    } else if (parts.size() > 1) {
      return std::nullopt;  // a mix needs a weight on every entry
    }
    sizes.push_back(sw);
  }
  return sizes;
}

std::optional<double> parse_rate(std::string_view text) {
  double per = 1;
  if (text.ends_with("/s")) {
    text.remove_suffix(2);
  } else if (text.ends_with("/m")) {
    text.remove_suffix(2);
    per = 60;
  }
  auto r = parse_double(text);
  if (!r) return std::nullopt;
  return *r / per;
}

std::optional<Address> parse_target(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host == "localhost") host = "127.0.0.1";
  }
  auto port = parse_number<std::uint16_t>(port_text);
  if (!port || *port == 0) return std::nullopt;
  return parse_ip(host, *port);
}

std::optional<std::vector<Address>> parse_source_addresses(std::string_view text) {
  constexpr std::size_t kMaxSources = 65536;
  std::vector<Address> out;
  for (auto item : split(text, ',')) {
    auto dash = item.find('-');
    auto first = parse_ip(item.substr(0, dash), 0);
    if (!first) return std::nullopt;
    if (dash == std::string_view::npos) {
      out.push_back(*first);
      continue;
    }
    auto last = parse_ip(item.substr(dash + 1), 0);
    // Ranges are IPv4 only: an IPv6 loopback range has one member.
    if (!last || first->family() != AF_INET || last->family() != AF_INET) return std::nullopt;
    auto lo = ntohl(reinterpret_cast<const sockaddr_in*>(&first->storage)->sin_addr.s_addr);
    auto hi = ntohl(reinterpret_cast<const sockaddr_in*>(&last->storage)->sin_addr.s_addr);
    if (hi < lo || hi - lo >= kMaxSources) return std::nullopt;
    for (auto ip = lo; ip <= hi; ++ip) {
      Address a = *first;
      reinterpret_cast<sockaddr_in*>(&a.storage)->sin_addr.s_addr = htonl(ip);
      out.push_back(a);
    }
  }
  if (out.empty() || out.size() > kMaxSources) return std::nullopt;
  return out;
}

std::variant<Options, ParseError> parse_options(int argc, const char* const* argv) {
  Options o;
  const auto& table = option_table();
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    const OptionRow* row = nullptr;
    for (const auto& r : table)
      if (r.name == arg) row = &r;
    if (!row) return ParseError{fmt::format("unknown option {} (see --help)", arg)};
    if (row->value_name.empty()) {
      if (inline_value) return ParseError{fmt::format("{} takes no value", arg)};
    } else if (!inline_value) {
      if (i + 1 >= argc)
        return ParseError{fmt::format("{} needs a value ({})", arg, row->value_name)};
      value = argv[++i];
    }
    if (auto err = row->apply(o, value); !err.empty())
      return ParseError{fmt::format("{} {}: {}", arg, value, err)};
    if (o.help) return o;
  }
  if (auto err = check_combination(o); !err.empty()) return ParseError{err};
  return o;
}

std::string usage() {
  std::string text =
      "usage: ringmx-bench --target HOST:PORT (--messages M | --duration T) [options]\n"
      "SMTP/LMTP load generator on io_uring. Loopback targets only.\n\n";
  for (const auto& r : option_table()) {
    auto left =
        r.value_name.empty() ? std::string(r.name) : fmt::format("{} {}", r.name, r.value_name);
    text += fmt::format("  {:<34} {}\n", left, r.help);
  }
  text +=
      "\nExit status: 0 when every reply was the expected one, 1 when any error was\n"
      "counted, 2 on a usage error, 3 when the run could not start (io_uring, TLS)\n"
      "or the JSON file could not be written.\n";
  return text;
}

}  // namespace ringmx::loadgen
