#include "protocols/smtp/settings.h"

#include <fmt/format.h>

namespace ringmx::smtp {
namespace {

template <typename T>
bool out_of(const char* name, T value, Bounds<T> b, std::optional<std::string>& error) {
  if (value >= b.min && value <= b.max) return false;
  error = fmt::format("{}={}: must be in [{}, {}]", name, value, b.min, b.max);
  return true;
}

}  // namespace

std::optional<std::string> Settings::validate() const {
  std::optional<std::string> e;
  if (out_of("max_line", max_line, kMaxLine, e) ||
      out_of("max_recipients", max_recipients, kMaxRecipients, e) ||
      out_of("max_message_size", max_message_size, kMaxMessageSize, e) ||
      out_of("max_messages", max_messages, kMaxMessages, e) ||
      out_of("max_received_headers", max_received_headers, kMaxReceivedHeaders, e) ||
      out_of("transfer_limit", transfer_limit, kTransferLimit, e)) {
    return e;
  }
  if (hostname.empty()) return std::string("hostname: must not be empty");
  if (tls_required && !starttls_offered) {
    return std::string("tls_required: needs starttls_offered (a certificate)");
  }
  return std::nullopt;
}

}  // namespace ringmx::smtp
