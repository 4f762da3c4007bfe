#include "protocols/smtp/received.h"

#include <fmt/format.h>

#include <cstdint>
#include <iterator>

namespace ringmx::smtp {
namespace {

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
};

// Howard Hinnant's civil_from_days: no time zone database, no syscall.
Civil to_civil(std::chrono::system_clock::time_point t) {
  int64_t secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  Civil c{};
  c.hour = static_cast<unsigned>(rem / 3600);
  c.minute = static_cast<unsigned>(rem % 3600 / 60);
  c.second = static_cast<unsigned>(rem % 60);
  c.weekday = static_cast<unsigned>(((days % 7 + 7) % 7 + 4) % 7);  // 1970-01-01 was a Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  c.day = doy - (153 * mp + 2) / 5 + 1;
  c.month = mp < 10 ? mp + 3 : mp - 9;
  c.year = static_cast<int64_t>(yoe) + era * 400 + (c.month <= 2);
  return c;
}

constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

void append_rfc5322_date(std::string& out, std::chrono::system_clock::time_point t) {
  Civil c = to_civil(t);
  fmt::format_to(std::back_inserter(out), "{}, {} {} {} {:02}:{:02}:{:02} +0000",
                 kWeekdays[c.weekday], c.day, kMonths[c.month - 1], c.year, c.hour, c.minute,
                 c.second);
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  Civil c = to_civil(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second);
}

void append_received(std::string& out, const ReceivedFields& f) {
  auto it = std::back_inserter(out);
  // An IPv6 literal is tagged as RFC 5321 4.1.3 writes it.
  bool v6 = f.client_ip.find(':') != std::string_view::npos;
  fmt::format_to(it, "Received: from {} ([{}{}])\r\n", f.helo.empty() ? "unknown" : f.helo,
                 v6 ? "IPv6:" : "", f.client_ip);
  if (!f.tls.empty()) fmt::format_to(it, "\t(using {})\r\n", f.tls);
  fmt::format_to(it, "\tby {} (ringmx) with {} id {}", f.hostname, f.protocol, f.queue_id);
  if (!f.recipient.empty()) fmt::format_to(it, "\r\n\tfor <{}>", f.recipient);
  out += "; ";
  append_rfc5322_date(out, f.when);
  out += "\r\n";
}

}  // namespace ringmx::smtp
