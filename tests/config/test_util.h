// Helpers shared by the configuration tests: load TOML text against the
// test data folder, find the line a snippet is on, and match diagnostics.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "config/config.h"

namespace ringmx::config::testing {

// tests/config/data, found through RINGMX_SOURCE_DIR (set by ctest), so the
// tests do not depend on the current directory.
inline std::filesystem::path data_dir() {
  const char* root = std::getenv("RINGMX_SOURCE_DIR");
  if (root == nullptr) ADD_FAILURE() << "RINGMX_SOURCE_DIR is not set (run through ctest)";
  return std::filesystem::path(root ? root : ".") / "tests/config/data";
}

// A certificate table whose files resolve against data_dir().
inline constexpr std::string_view kDefaultCertificate = R"(
[certificate.default]
cert = "file://ecdsa-cert.pem"
private-key = "file://ecdsa-key.pem"
)";

// The smallest valid file: one listener, every other key at its default.
inline constexpr std::string_view kOneListener = R"(
[server.listener.smtp]
bind = "127.0.0.1:2525"
)";

inline std::string with_listener(std::string_view more) {
  return std::string(kOneListener) + std::string(more);
}

inline LoadResult load(std::string_view text) {
  return load_string(text, "test.toml", data_dir());
}

// Loads and expects success; the Config or a failed test with every error.
inline Config load_ok(std::string_view text) {
  LoadResult r = load(text);
  std::string errors;
  for (const Diagnostic& d : r.errors)
    errors += d.to_string() + "\n";
  EXPECT_TRUE(r.ok()) << errors;
  return r.config.value_or(Config{});
}

// The 1-based line of the first occurrence of `snippet` in `text`.
inline unsigned line_of(std::string_view text, std::string_view snippet) {
  size_t at = text.find(snippet);
  EXPECT_NE(at, std::string_view::npos) << "snippet not in the text: " << snippet;
  if (at == std::string_view::npos) return 0;
  unsigned line = 1;
  for (size_t i = 0; i < at; ++i)
    line += text[i] == '\n';
  return line;
}

// The error for `key` (exactly) at `line`, whose message contains `words`.
inline ::testing::AssertionResult has_error(const LoadResult& r, std::string_view key,
                                            unsigned line, std::string_view words = "") {
  for (const Diagnostic& d : r.errors)
    if (d.key == key && d.line == line && d.message.find(words) != std::string::npos &&
        d.to_string().starts_with("test.toml:" + std::to_string(line) + ":"))
      return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "no error for " << key << " at line " << line << " containing \"" << words
          << "\"; errors:";
  for (const Diagnostic& d : r.errors)
    failure << "\n  " << d.to_string();
  if (r.errors.empty()) failure << " none";
  return failure;
}

// The first listener named `id`.
inline const Listener& listener(const Config& c, std::string_view id) {
  for (const Listener& l : c.listeners)
    if (l.id == id) return l;
  ADD_FAILURE() << "no listener " << id;
  static const Listener none;
  return none;
}

}  // namespace ringmx::config::testing
