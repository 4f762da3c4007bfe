// Prometheus text exposition format 0.0.4 writer
// (prometheus.io/docs/instrumenting/exposition_formats/). The runtime fills
// numbers; this class owns the syntax: # HELP and # TYPE lines, escaping of
// help text and label values, histogram _bucket/_sum/_count series with
// cumulative `le` buckets and the +Inf bucket.
//
//   Exposition e;
//   e.family("ringmx_connections_accepted_total", "Connections accepted.",
//            MetricType::counter);
//   e.sample({{"listener", "smtp"}}, 1234);
//   std::string text = e.take();
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace ringmx::http {

// The Content-Type a 0.0.4 exposition is served with.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { counter, gauge, histogram, untyped };

struct Label {
  std::string_view name;   // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
  std::string_view value;  // any UTF-8; escaped here
};

class Exposition {
 public:
  // Starts a metric family: writes "# HELP <name> <help>" and
  // "# TYPE <name> <type>". Every sample until the next family() belongs to
  // it. `name` must satisfy valid_metric_name(); names are constants in
  // the runtime, so this is not checked per call.
  void family(std::string_view name, std::string_view help, MetricType type);

  // One sample of the current counter, gauge or untyped family:
  // "<name>{labels} <value>". Integers print exactly; doubles in the
  // shortest form that reads back the same.
  void sample(std::span<const Label> labels, double value);
  void sample(std::span<const Label> labels, std::uint64_t value);
  // Any other arithmetic type (int, size_t, int64_t...), so that
  // sample({...}, 3) is not ambiguous between the two above.
  template <typename T>
  requires std::is_arithmetic_v<T>
  void sample(std::span<const Label> labels, T value) {
    if constexpr (std::is_floating_point_v<T>) {
      sample(labels, static_cast<double>(value));
    } else if constexpr (std::is_signed_v<T>) {
      if (value < 0) {
        sample(labels, static_cast<double>(value));
      } else {
        sample(labels, static_cast<std::uint64_t>(value));
      }
    } else {
      sample(labels, static_cast<std::uint64_t>(value));
    }
  }
  template <typename T>
  requires std::is_arithmetic_v<T>
  void sample(std::initializer_list<Label> labels, T value) {
    sample(std::span<const Label>(labels.begin(), labels.size()), value);
  }

  // One histogram of the current histogram family. `upper_bounds` are the
  // finite bucket bounds in increasing order; `counts` holds one count per
  // bucket, NOT cumulative (what a shard keeps: observations with
  // upper_bounds[i-1] < v <= upper_bounds[i]), plus one last count for
  // observations above the largest bound. So counts.size() ==
  // upper_bounds.size() + 1. Writes the cumulative _bucket series (le="..."
  // and le="+Inf"), _sum and _count (the total of `counts`).
  void histogram(std::span<const Label> labels, std::span<const double> upper_bounds,
                 std::span<const std::uint64_t> counts, double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series(std::string_view suffix, std::span<const Label> labels, const Label* extra);
  std::string out_;
  std::string name_;
};

// Metric and label name syntax of the text format.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

// Escaping as the format wants it: label values escape \ " and newline;
// HELP text escapes \ and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);

// A sample value: integers without exponent when exact, "+Inf", "-Inf",
// "NaN", otherwise the shortest round-trip form.
std::string format_value(double value);

}  // namespace ringmx::http
