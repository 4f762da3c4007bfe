// One SMTP/LMTP reply line, and the one function that writes it.
//
//   "250 2.1.0 Ok\r\n", "250-PIPELINING\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n"
//
// Every reply the engine sends goes through append_reply(): on a busy
// shard it runs once per command, so it appends the pieces directly
// instead of parsing a format string (bench/smtp: ReplyFormat).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringmx::smtp {

struct Reply {
  uint16_t code;              // 200..599
  std::string_view enhanced;  // "2.1.0"; empty only for 220/354 and EHLO lines (RFC 2034)
  std::string_view text;
  std::string_view detail = {};
  bool more = false;  // "250-" continuation line
};

// Appends "<code><' ' or '-'>[<enhanced> ]<text><detail>\r\n" to `dst`.
void append_reply(std::string& dst, const Reply& r);

}  // namespace ringmx::smtp
