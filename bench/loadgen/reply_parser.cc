#include "bench/loadgen/reply_parser.h"

namespace ringmx::loadgen {

ReplyLine parse_reply_line(std::string_view in) {
  ReplyLine line;
  auto lf = in.find('\n');
  if (lf == std::string_view::npos) {
    line.status =
        in.size() > kMaxReplyLine ? ReplyLine::Status::malformed : ReplyLine::Status::need_more;
    return line;
  }
  line.status = ReplyLine::Status::malformed;
  if (lf > kMaxReplyLine || lf == 0 || in[lf - 1] != '\r') return line;  // bare LF
  std::string_view body = in.substr(0, lf - 1);
  if (body.size() < 3) return line;
  if (body[0] < '2' || body[0] > '5' || body[1] < '0' || body[1] > '9' || body[2] < '0' ||
      body[2] > '9')
    return line;
  if (body.size() > 3 && body[3] != ' ' && body[3] != '-') return line;
  line.status = ReplyLine::Status::complete;
  line.consumed = lf + 1;
  line.code = (body[0] - '0') * 100 + (body[1] - '0') * 10 + (body[2] - '0');
  line.last = body.size() == 3 || body[3] == ' ';
  line.text = body.size() > 4 ? body.substr(4) : std::string_view{};
  return line;
}

}  // namespace ringmx::loadgen
