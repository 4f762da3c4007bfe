// Names of the enums as the schema writes them, diagnostics as text, and
// the comparison the round trip (print, then load) is judged by.
#include <fmt/format.h>

#include <tuple>

#include "config/config.h"

namespace ringmx::config {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::smtp:
      return "smtp";
    case Protocol::lmtp:
      return "lmtp";
    case Protocol::http:
      return "http";
  }
  return "?";
}

std::string_view to_string(TlsVersion v) {
  return v == TlsVersion::tls12 ? "TLSv1.2" : "TLSv1.3";
}

std::string_view to_string(BareNewline b) {
  return b == BareNewline::normalize ? "normalize" : "reject";
}

std::string_view to_string(DeliveryMode m) {
  return m == DeliveryMode::spool ? "spool" : "discard";
}

std::string_view to_string(Steering s) {
  return s == Steering::cpu ? "cpu" : "hash";
}

std::string_view to_string(LogLevel l) {
  switch (l) {
    case LogLevel::error:
      return "error";
    case LogLevel::warn:
      return "warn";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "?";
}

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line != 0) out += fmt::format(":{}:{}", line, column);
  out += warning ? ": warning: " : ": error: ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

bool Config::operator==(const Config& o) const {
  // Every field but source_path. Keep in step with the struct.
  auto values = [](const Config& c) {
    return std::tie(c.hostname, c.greeting, c.shards, c.steering, c.max_connections,
                    c.shutdown_timeout, c.proxy_timeout, c.proxy_trusted_networks, c.log_level,
                    c.run_as_user, c.run_as_group, c.allow_root, c.management_auth_token, c.session,
                    c.delivery_mode, c.spool_path, c.segment_size, c.listeners, c.certificates);
  };
  return values(*this) == values(o);
}

}  // namespace ringmx::config
