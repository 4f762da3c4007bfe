// Logging: one logfmt line per event on stderr,
//   ts=2026-11-26T00:25:40.123Z level=info event=listener.bound listener=smtp addr=127.0.0.1:2525
// Each line leaves in a single write(2), so lines from several shards never
// interleave. The level is process-wide and set once at start (and on reload).
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace ringmx::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
inline bool enabled(Level l) {
  return static_cast<int>(l) <= static_cast<int>(level());
}

// Where lines go (default 2, stderr). For tests that read the log back.
void set_fd(int fd);

// Writes `ts=... level=... event=<event> <fields>\n`. `fields` is already
// logfmt ("key=value key=value"); use quote() for free-form values.
void emit(Level level, std::string_view event, std::string_view fields);

// A value as logfmt wants it: bare when it has no space, quote, '=' or
// control byte; otherwise in double quotes with \" \\ \n escaped.
std::string quote(std::string_view value);

template <typename... Args>
void write(Level l, std::string_view event, fmt::format_string<Args...> fields, Args&&... args) {
  if (!enabled(l)) return;
  emit(l, event, fmt::format(fields, std::forward<Args>(args)...));
}

template <typename... Args>
void error(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  write(Level::error, event, f, std::forward<Args>(a)...);
}
template <typename... Args>
void warn(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  write(Level::warn, event, f, std::forward<Args>(a)...);
}
template <typename... Args>
void info(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  write(Level::info, event, f, std::forward<Args>(a)...);
}
template <typename... Args>
void debug(std::string_view event, fmt::format_string<Args...> f, Args&&... a) {
  write(Level::debug, event, f, std::forward<Args>(a)...);
}

}  // namespace ringmx::log
