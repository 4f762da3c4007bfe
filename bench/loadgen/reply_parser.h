// SMTP reply lines (RFC 5321 4.2), parsed picohttpparser-style: one call
// returns one line as spans into the caller's bytes, or "need more", or
// "malformed". No allocation, no state: the caller keeps unconsumed bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace ringmx::loadgen {

// RFC 5321 4.5.3.1.5 allows 512 octets per reply line; servers in the wild
// send longer EHLO lines, so allow 2048 before calling the reply malformed.
inline constexpr std::size_t kMaxReplyLine = 2048;

struct ReplyLine {
  enum class Status { complete, need_more, malformed };
  Status status = Status::need_more;
  std::size_t consumed = 0;  // bytes of the line with its CRLF (complete only)
  int code = 0;              // 200..599
  bool last = false;         // "250 " or "250" ends a reply; "250-" continues it
  std::string_view text;     // after "250 " / "250-", without CRLF
};

ReplyLine parse_reply_line(std::string_view in);

}  // namespace ringmx::loadgen
