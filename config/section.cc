#include "config/section.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "config/suggest.h"
#include "config/values.h"

namespace ringmx::config {

Diagnostic Diagnostics::make(const toml::source_region& where, std::string key, std::string message,
                             bool warning) const {
  Diagnostic d;
  d.file = file_;
  d.line = where.begin.line;
  d.column = where.begin.column;
  d.key = std::move(key);
  d.message = std::move(message);
  d.warning = warning;
  return d;
}

void Diagnostics::error(const toml::source_region& where, std::string key, std::string message) {
  if (full()) return;
  errors_.push_back(make(where, std::move(key), std::move(message), false));
}

void Diagnostics::warning(const toml::source_region& where, std::string key, std::string message) {
  warnings_.push_back(make(where, std::move(key), std::move(message), true));
}

std::string_view describe_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

std::string toml_quote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char ch : text) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (ch < 0x20 || ch == 0x7f)
          out += fmt::format("\\u{:04X}", ch);
        else
          out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

namespace {

// A bare TOML key when possible, else quoted.
std::string toml_key(std::string_view key) {
  bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
  return bare ? std::string(key) : toml_quote(key);
}

// The value as the operator wrote it, for "found ..." in messages.
std::string show(const toml::node& node) {
  if (auto s = node.as_string())
    return fmt::format("{} {}", describe_type(node), toml_quote(s->get()));
  if (auto i = node.as_integer()) return fmt::format("{} ({})", describe_type(node), i->get());
  if (auto b = node.as_boolean()) return fmt::format("{} ({})", describe_type(node), b->get());
  return std::string(describe_type(node));
}

}  // namespace

Section::Section(Diagnostics& diagnostics, const toml::table* table, std::string path,
                 toml::source_region where, Section* parent)
    : diagnostics_(&diagnostics),
      table_(table),
      path_(std::move(path)),
      where_(std::move(where)),
      parent_(parent) {}

std::string Section::key_path(std::string_view key) const {
  return path_.empty() ? toml_key(key) : path_ + "." + toml_key(key);
}

const toml::node* Section::find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return table_ ? table_->get(key) : nullptr;
}

Section Section::table(std::string_view key) {
  const toml::node* node = find(key);
  const toml::table* sub = node ? node->as_table() : nullptr;
  if (node && !sub)
    error_at(*node, key,
             fmt::format("expected a table, found {}; write [{}] with its keys below it",
                         show(*node), key_path(key)));
  Section s(*diagnostics_, sub, key_path(key), sub ? sub->source() : where_, this);
  s.name_in_parent_ = key;
  return s;
}

std::vector<std::pair<std::string, Section>> Section::named_tables(std::string_view what) {
  all_known_ = true;
  std::vector<std::pair<std::string, Section>> out;
  if (!table_) return out;
  for (auto&& [k, node] : *table_) {
    std::string name(k.str());
    const toml::table* sub = node.as_table();
    if (!sub) {
      error_at(node, name,
               fmt::format("expected a table ({}), found {}; write [{}] with its keys below it",
                           what, show(node), key_path(name)));
      continue;
    }
    out.emplace_back(name, Section(*diagnostics_, sub, key_path(name), sub->source(), nullptr));
  }
  // toml::table is ordered by key; the operator's order is the file's.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const toml::source_position &x = a.second.where().begin, &y = b.second.where().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return out;
}

bool Section::boolean(std::string_view key, bool& out) {
  const toml::node* node = find(key);
  if (!node) return false;
  if (auto b = node->as_boolean()) {
    out = b->get();
    return true;
  }
  error_at(*node, key,
           fmt::format("expected true or false, found {}; write {} = true or {} = false",
                       show(*node), key, key));
  return false;
}

bool Section::integer(std::string_view key, int64_t& out, int64_t min, int64_t max) {
  const toml::node* node = find(key);
  if (!node) return false;
  auto i = node->as_integer();
  if (!i) {
    std::string hint;
    if (auto s = node->as_string()) {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(s->get().data(), s->get().data() + s->get().size(), n);
      if (ec == std::errc{} && end == s->get().data() + s->get().size())
        hint = fmt::format("; write {} = {} without quotes", key, n);
    }
    if (hint.empty()) hint = fmt::format("; write a whole number from {} to {}", min, max);
    error_at(*node, key, fmt::format("expected an integer, found {}{}", show(*node), hint));
    return false;
  }
  if (i->get() < min || i->get() > max) {
    error_at(
        *node, key,
        fmt::format("{} is out of range; write a whole number from {} to {}", i->get(), min, max));
    return false;
  }
  out = i->get();
  return true;
}

bool Section::duration(std::string_view key, Duration& out, Duration min, Duration max) {
  std::optional<Duration> d;
  if (!duration(key, d, min, max)) return false;
  out = *d;
  return true;
}

bool Section::duration(std::string_view key, std::optional<Duration>& out, Duration min,
                       Duration max) {
  const toml::node* node = find(key);
  if (!node) return false;
  auto s = node->as_string();
  if (!s) {
    std::string hint =
        node->is_integer()
            ? fmt::format("; write {} = \"{}s\" (a number and a unit)", key,
                          node->as_integer()->get())
            : "; write a quoted number and unit: \"500ms\", \"30s\", \"1m\", \"2h\", \"1d\"";
    error_at(*node, key, fmt::format("expected a duration, found {}{}", show(*node), hint));
    return false;
  }
  auto parsed = parse_duration(s->get());
  if (auto* e = std::get_if<std::string>(&parsed)) {
    error_at(*node, key, *e);
    return false;
  }
  Duration d = std::get<Duration>(parsed);
  if (d < min || d > max) {
    error_at(*node, key,
             fmt::format("\"{}\" is out of range; write a duration from \"{}\" to \"{}\"", s->get(),
                         format_duration(min), format_duration(max)));
    return false;
  }
  out = d;
  return true;
}

bool Section::string(std::string_view key, std::string& out, const Check& check) {
  std::optional<std::string> v;
  if (!string(key, v, check)) return false;
  out = std::move(*v);
  return true;
}

bool Section::string(std::string_view key, std::optional<std::string>& out, const Check& check) {
  const toml::node* node = find(key);
  if (!node) return false;
  auto s = node->as_string();
  if (!s) {
    error_at(
        *node, key,
        fmt::format("expected a string, found {}; put the value in double quotes", show(*node)));
    return false;
  }
  if (check) {
    std::string problem = check(s->get());
    if (!problem.empty()) {
      error_at(*node, key, std::move(problem));
      return false;
    }
  }
  out = s->get();
  return true;
}

std::optional<std::vector<Section::Element>> Section::strings(std::string_view key,
                                                              bool one_or_many,
                                                              const Check& check) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  std::vector<Element> out;
  bool ok = true;
  auto take = [&](const toml::node& n) {
    auto s = n.as_string();
    if (!s) {
      error_at(n, key,
               fmt::format("expected a string in the array, found {}; put each value in double "
                           "quotes",
                           show(n)));
      ok = false;
      return;
    }
    if (check) {
      std::string problem = check(s->get());
      if (!problem.empty()) {
        error_at(n, key, std::move(problem));
        ok = false;
        return;
      }
    }
    out.emplace_back(s->get(), &n);
  };
  if (node->is_string() && one_or_many) {
    take(*node);
  } else if (auto a = node->as_array()) {
    for (const toml::node& n : *a)
      take(n);
  } else {
    error_at(*node, key,
             fmt::format("expected {}, found {}; write {} = [\"...\", \"...\"]",
                         one_or_many ? "a string or an array of strings" : "an array of strings",
                         show(*node), key));
    return std::nullopt;
  }
  // Invalid elements were reported; the valid ones still take part in the
  // checks across values (duplicate addresses), so one typo hides nothing.
  (void)ok;
  return out;
}

void Section::error(std::string_view key, std::string message) {
  const toml::node* node = table_ ? table_->get(key) : nullptr;
  diagnostics_->error(node ? node->source() : where_, key_path(key), std::move(message));
}

void Section::error_at(const toml::node& node, std::string_view key, std::string message) {
  diagnostics_->error(node.source(), key_path(key), std::move(message));
}

void Section::warning_at(const toml::node& node, std::string_view key, std::string message) {
  diagnostics_->warning(node.source(), key_path(key), std::move(message));
}

void Section::finish() {
  if (table_ && !all_known_) {
    std::vector<std::string> candidates = known_;
    candidates.insert(candidates.end(), nested_.begin(), nested_.end());
    for (auto&& [k, node] : *table_) {
      std::string_view name = k.str();
      if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
      // A key that belongs one table down ("backlog" for "socket.backlog")
      // is the likeliest mistake; then a misspelling.
      std::optional<std::string> guess;
      for (const std::string& n : nested_)
        if (n.size() > name.size() && n.ends_with(name) && n[n.size() - name.size() - 1] == '.')
          guess = n;
      if (!guess) guess = closest(name, candidates);
      std::string message =
          guess ? fmt::format("unknown key; did you mean \"{}\"?", *guess)
                : fmt::format("unknown key; the keys here are: {}", fmt::join(known_, ", "));
      diagnostics_->error(k.source(), key_path(name), std::move(message));
    }
  }
  if (parent_)
    for (const std::string& k : known_)
      parent_->nested_.push_back(name_in_parent_ + "." + k);
}

}  // namespace ringmx::config
