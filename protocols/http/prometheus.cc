#include "protocols/http/prometheus.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <numeric>

namespace ringmx::http {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
    case MetricType::untyped:
      return "untyped";
  }
  return "untyped";
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  // [a-zA-Z_:][a-zA-Z0-9_:]*
  if (name.empty() || !(is_name_start(name[0]) || name[0] == ':')) return false;
  for (char c : name) {
    if (!is_name_char(c) && c != ':') return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0]) || name.starts_with("__")) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers up to 2^53 print without exponent or fraction, which is
  // what humans grepping a scrape expect ("1234", not "1.234e+03").
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return fmt::format("{}", value);  // shortest round-trip form
}

void Exposition::family(std::string_view name, std::string_view help, MetricType type) {
  name_.assign(name);
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help),
                 name, type_name(type));
}

void Exposition::series(std::string_view suffix, std::span<const Label> labels,
                        const Label* extra) {
  out_ += name_;
  out_ += suffix;
  if (labels.empty() && extra == nullptr) return;
  out_ += '{';
  bool first = true;
  auto add = [&](const Label& l) {
    if (!first) out_ += ',';
    first = false;
    out_ += l.name;
    out_ += "=\"";
    out_ += escape_label_value(l.value);
    out_ += '"';
  };
  for (const Label& l : labels)
    add(l);
  if (extra != nullptr) add(*extra);
  out_ += '}';
}

void Exposition::sample(std::span<const Label> labels, double value) {
  series("", labels, nullptr);
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void Exposition::sample(std::span<const Label> labels, std::uint64_t value) {
  series("", labels, nullptr);
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void Exposition::histogram(std::span<const Label> labels, std::span<const double> upper_bounds,
                           std::span<const std::uint64_t> counts, double sum) {
  // counts has one entry per finite bound plus the overflow bucket; a
  // mismatch is a caller bug, and a missing trailing count reads as zero.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    std::string le = format_value(upper_bounds[i]);
    Label bucket{"le", le};
    series("_bucket", labels, &bucket);
    fmt::format_to(std::back_inserter(out_), " {}\n", cumulative);
  }
  std::uint64_t total = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
  Label inf{"le", "+Inf"};
  series("_bucket", labels, &inf);
  fmt::format_to(std::back_inserter(out_), " {}\n", total);
  series("_sum", labels, nullptr);
  out_ += ' ';
  out_ += format_value(sum);
  out_ += '\n';
  series("_count", labels, nullptr);
  fmt::format_to(std::back_inserter(out_), " {}\n", total);
}

}  // namespace ringmx::http
