// The exposition writer, checked by reading its output back with an
// independent parser of the 0.0.4 text format.
#include "protocols/http/prometheus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace ringmx::http {
namespace {

struct Family {
  std::string help;
  std::string type;
};

struct Parsed {
  std::map<std::string, Family> families;
  // "name{a=\"x\",b=\"y\"}" with values unescaped, labels in written order.
  std::map<std::string, std::string> samples;
  std::vector<std::string> errors;
};

std::string unescape(std::string_view s, bool quotes) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out += n == 'n' ? '\n' : n;
      if (n != 'n' && n != '\\' && !(quotes && n == '"')) out += "?";  // unknown escape
    } else {
      out += s[i];
    }
  }
  return out;
}

Parsed parse_exposition(std::string_view text) {
  Parsed p;
  if (!text.empty() && text.back() != '\n') p.errors.push_back("no final newline");
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string_view rest = line.substr(7);
      std::size_t sp = rest.find(' ');
      std::string name(rest.substr(0, sp));
      if (!valid_metric_name(name)) p.errors.push_back("bad name " + name);
      std::string_view arg = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
      if (line[2] == 'H') {
        p.families[name].help = unescape(arg, false);
      } else {
        p.families[name].type = std::string(arg);
      }
      continue;
    }
    // name [ "{" label="value" { "," label="value" } "}" ] SP value
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    std::string key(line.substr(0, i));
    if (!valid_metric_name(key)) p.errors.push_back("bad sample name in: " + std::string(line));
    if (i < line.size() && line[i] == '{') {
      key += '{';
      ++i;
      bool first = true;
      while (i < line.size() && line[i] != '}') {
        if (!first) {
          if (line[i] != ',') p.errors.push_back("missing comma in: " + std::string(line));
          ++i;
        }
        first = false;
        std::size_t eq = line.find('=', i);
        std::string label(line.substr(i, eq - i));
        if (!valid_label_name(label)) p.errors.push_back("bad label " + label);
        i = eq + 1;
        if (line[i] != '"') p.errors.push_back("unquoted value in: " + std::string(line));
        std::size_t start = ++i;
        while (i < line.size() && line[i] != '"')
          i += line[i] == '\\' ? 2 : 1;
        std::string value = unescape(line.substr(start, i - start), true);
        ++i;
        if (key.back() != '{') key += ',';
        key += label + "=\"" + value + "\"";
      }
      key += '}';
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      p.errors.push_back("no value in: " + std::string(line));
      continue;
    }
    p.samples[key] = std::string(line.substr(i + 1));
  }
  return p;
}

TEST(Prometheus, CountersAndGaugesReadBack) {
  Exposition e;
  e.family("ringmx_connections_accepted_total", "Connections accepted.", MetricType::counter);
  e.sample({{"listener", "smtp"}}, std::uint64_t{1234});
  e.sample({{"listener", "submission"}}, 0);
  e.family("ringmx_connections_open", "Connections open now.", MetricType::gauge);
  e.sample({}, 7);
  e.family("ringmx_listen_backlog", "Backlog.", MetricType::gauge);
  e.sample({{"listener", "smtp"}, {"address", "[::1]:25"}}, std::size_t{4096});
  e.family("ringmx_load_ratio", "A ratio.", MetricType::gauge);
  e.sample({}, 0.25);
  e.sample({{"kind", "negative"}}, -3);

  Parsed p = parse_exposition(e.text());
  EXPECT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.families["ringmx_connections_accepted_total"].type, "counter");
  EXPECT_EQ(p.families["ringmx_connections_accepted_total"].help, "Connections accepted.");
  EXPECT_EQ(p.families["ringmx_connections_open"].type, "gauge");
  EXPECT_EQ(p.samples["ringmx_connections_accepted_total{listener=\"smtp\"}"], "1234");
  EXPECT_EQ(p.samples["ringmx_connections_accepted_total{listener=\"submission\"}"], "0");
  EXPECT_EQ(p.samples["ringmx_connections_open"], "7");
  EXPECT_EQ(p.samples["ringmx_listen_backlog{listener=\"smtp\",address=\"[::1]:25\"}"], "4096");
  EXPECT_EQ(p.samples["ringmx_load_ratio"], "0.25");
  EXPECT_EQ(p.samples["ringmx_load_ratio{kind=\"negative\"}"], "-3");
  EXPECT_EQ(p.samples.size(), 6u);
}

TEST(Prometheus, ExactText) {
  Exposition e;
  e.family("up", "Whether ringmx runs.", MetricType::gauge);
  e.sample({}, 1);
  EXPECT_EQ(e.take(), "# HELP up Whether ringmx runs.\n# TYPE up gauge\nup 1\n");
}

TEST(Prometheus, LabelValuesAndHelpAreEscaped) {
  Exposition e;
  e.family("ringmx_tls_handshakes_total", "Handshakes\nby \\cipher\\.", MetricType::counter);
  std::string nasty = "a\"b\\c\nd}e,f=g";
  e.sample({{"cipher", nasty}}, 1);
  EXPECT_NE(e.text().find("cipher=\"a\\\"b\\\\c\\nd}e,f=g\""), std::string::npos) << e.text();
  EXPECT_NE(e.text().find("# HELP ringmx_tls_handshakes_total Handshakes\\nby \\\\cipher\\\\.\n"),
            std::string::npos);
  Parsed p = parse_exposition(e.text());
  EXPECT_TRUE(p.errors.empty());
  EXPECT_EQ(p.families["ringmx_tls_handshakes_total"].help, "Handshakes\nby \\cipher\\.");
  EXPECT_EQ(p.samples["ringmx_tls_handshakes_total{cipher=\"" + nasty + "\"}"], "1");
}

TEST(Prometheus, HistogramBucketsAreCumulative) {
  Exposition e;
  e.family("ringmx_spool_fsync_seconds", "fsync latency.", MetricType::histogram);
  const double bounds[] = {0.001, 0.005, 0.025, 0.1};
  const std::uint64_t counts[] = {3, 0, 5, 1, 2};  // per bucket, last = above 0.1
  e.histogram(std::vector<Label>{{"shard", "0"}}, bounds, counts, 0.875);
  Parsed p = parse_exposition(e.text());
  EXPECT_TRUE(p.errors.empty());
  EXPECT_EQ(p.families["ringmx_spool_fsync_seconds"].type, "histogram");
  const std::string b = "ringmx_spool_fsync_seconds_bucket{shard=\"0\",le=\"";
  EXPECT_EQ(p.samples[b + "0.001\"}"], "3");
  EXPECT_EQ(p.samples[b + "0.005\"}"], "3");
  EXPECT_EQ(p.samples[b + "0.025\"}"], "8");
  EXPECT_EQ(p.samples[b + "0.1\"}"], "9");
  EXPECT_EQ(p.samples[b + "+Inf\"}"], "11");
  EXPECT_EQ(p.samples["ringmx_spool_fsync_seconds_sum{shard=\"0\"}"], "0.875");
  EXPECT_EQ(p.samples["ringmx_spool_fsync_seconds_count{shard=\"0\"}"], "11");
  EXPECT_EQ(p.samples.size(), 7u);
}

TEST(Prometheus, HistogramWithoutLabels) {
  Exposition e;
  e.family("h", "h.", MetricType::histogram);
  const double bounds[] = {1};
  const std::uint64_t counts[] = {2, 1};
  e.histogram({}, bounds, counts, 4);
  EXPECT_EQ(e.text(),
            "# HELP h h.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\n"
            "h_sum 4\nh_count 3\n");
}

TEST(Prometheus, ValueFormatting) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-1), "-1");
  EXPECT_EQ(format_value(1e15), "1000000000000000");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(std::stod(format_value(1.0 / 3)), 1.0 / 3);  // round-trips
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  Exposition e;
  e.family("c", "c.", MetricType::counter);
  e.sample({}, std::numeric_limits<std::uint64_t>::max());
  EXPECT_NE(e.text().find("c 18446744073709551615\n"), std::string::npos);
}

TEST(Prometheus, NameSyntax) {
  EXPECT_TRUE(valid_metric_name("ringmx_messages_total"));
  EXPECT_TRUE(valid_metric_name("job:rate5m"));
  EXPECT_FALSE(valid_metric_name("9lives"));
  EXPECT_FALSE(valid_metric_name("ringmx-messages"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("listener"));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("le:x"));
  EXPECT_FALSE(valid_label_name("1a"));
}

}  // namespace
}  // namespace ringmx::http
