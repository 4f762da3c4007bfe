// Reading one TOML table of the schema: typed getters that check the type
// and range of a value and report what is wrong at the value's line and
// column, and an unknown-key check that suggests the closest known key.
//
// The keys a Section was asked for are the keys it knows: the loader asks
// for every key of the schema whether or not it is present, so the list of
// known keys is the loader code itself, written once.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace ringmx::config {

// Collects errors (at most kMaxErrors) and warnings for one source.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(const toml::source_region& where, std::string key, std::string message);
  void warning(const toml::source_region& where, std::string key, std::string message);
  bool full() const { return errors_.size() >= kMaxErrors; }
  bool has_errors() const { return !errors_.empty(); }
  const std::string& file() const { return file_; }
  std::vector<Diagnostic> take_errors() { return std::move(errors_); }
  std::vector<Diagnostic> take_warnings() { return std::move(warnings_); }

 private:
  Diagnostic make(const toml::source_region& where, std::string key, std::string message,
                  bool warning) const;
  std::string file_;
  std::vector<Diagnostic> errors_, warnings_;
};

// "a string", "an integer", ...: for "found ..." in messages.
std::string_view describe_type(const toml::node& node);

// A TOML string, quoted as TOML writes it.
std::string toml_quote(std::string_view text);

class Section {
 public:
  // `table` may be null: the section is absent and every getter leaves its
  // output at the default.
  Section(Diagnostics& diagnostics, const toml::table* table, std::string path,
          toml::source_region where, Section* parent = nullptr);
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;
  Section(Section&&) = default;
  Section& operator=(Section&&) = default;

  bool present() const { return table_ != nullptr; }
  const std::string& path() const { return path_; }
  const toml::source_region& where() const { return where_; }
  std::string key_path(std::string_view key) const;
  Diagnostics& diagnostics() { return *diagnostics_; }

  // The value under `key` (null when absent); the key becomes known.
  const toml::node* find(std::string_view key);

  // The sub-table under `key`; an absent section when missing, an error
  // when it is not a table.
  Section table(std::string_view key);

  // Every entry of this table as a sub-table, for tables keyed by a name
  // (server.listener.<id>, certificate.<name>). Entries that are not tables
  // are reported; all entries become known.
  std::vector<std::pair<std::string, Section>> named_tables(std::string_view what);

  // Typed getters: when the key is present and valid, overwrite `out` and
  // return true; when it is invalid, report and return false (out untouched).
  bool boolean(std::string_view key, bool& out);
  bool integer(std::string_view key, int64_t& out, int64_t min, int64_t max);
  template <typename T>
  bool integer(std::string_view key, T& out, int64_t min, int64_t max) {
    int64_t v = 0;
    if (!integer(key, v, min, max)) return false;
    out = static_cast<T>(v);
    return true;
  }
  template <typename T>
  bool integer(std::string_view key, std::optional<T>& out, int64_t min, int64_t max) {
    int64_t v = 0;
    if (!integer(key, v, min, max)) return false;
    out = static_cast<T>(v);
    return true;
  }
  bool duration(std::string_view key, Duration& out, Duration min, Duration max);
  bool duration(std::string_view key, std::optional<Duration>& out, Duration min, Duration max);

  // A string; `check` returns an error message for a bad value (or "").
  using Check = std::function<std::string(std::string_view)>;
  bool string(std::string_view key, std::string& out, const Check& check = {});
  bool string(std::string_view key, std::optional<std::string>& out, const Check& check = {});

  // One of `names`; the error lists them all.
  template <typename E>
  bool choice(std::string_view key, E& out,
              std::initializer_list<std::pair<std::string_view, E>> names) {
    std::string text;
    std::string list;
    for (auto& [name, value] : names)
      list += (list.empty() ? "" : ", ") + toml_quote(name);
    if (!string(key, text, [&](std::string_view v) {
          for (auto& [name, value] : names)
            if (v == name) return std::string();
          return "\"" + std::string(v) + "\" is not one of " + list + "; write one of them";
        }))
      return false;
    for (auto& [name, value] : names)
      if (text == name) out = value;
    return true;
  }

  // An array of strings (or, with one_or_many, a single string), each
  // checked by `check` (which reports through `report` at the element).
  // Returns the valid elements with their nodes (invalid ones are reported
  // and left out); nullopt when absent or not an array.
  using Element = std::pair<std::string, const toml::node*>;
  std::optional<std::vector<Element>> strings(std::string_view key, bool one_or_many = false,
                                              const Check& check = {});

  void error(std::string_view key, std::string message);  // at the key's value, or this table
  void error_at(const toml::node& node, std::string_view key, std::string message);
  void warning_at(const toml::node& node, std::string_view key, std::string message);

  // Reports every key of this table that no getter asked for, with the
  // closest known key as a suggestion. Call after reading all keys.
  void finish();

 private:
  Diagnostics* diagnostics_;
  const toml::table* table_;
  std::string path_;
  toml::source_region where_;
  Section* parent_;
  std::string name_in_parent_;
  std::vector<std::string> known_;
  std::vector<std::string> nested_;  // "sub.key" of finished sub-tables, for suggestions
  bool all_known_ = false;
};

}  // namespace ringmx::config
