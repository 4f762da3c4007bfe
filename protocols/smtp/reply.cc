#include "protocols/smtp/reply.h"

namespace ringmx::smtp {

void append_reply(std::string& dst, const Reply& r) {
  const char head[4] = {static_cast<char>('0' + r.code / 100 % 10),
                        static_cast<char>('0' + r.code / 10 % 10),
                        static_cast<char>('0' + r.code % 10), r.more ? '-' : ' '};
  dst.append(head, sizeof head);
  if (!r.enhanced.empty()) {
    dst.append(r.enhanced);
    dst.push_back(' ');
  }
  dst.append(r.text);
  dst.append(r.detail);
  dst.append("\r\n", 2);
}

}  // namespace ringmx::smtp
