#include "delivery/sync_io.h"

#include <unistd.h>

#include <cerrno>

namespace ringmx::delivery {

int execute_sync(const IoRequest& req) {
  for (;;) {
    ssize_t r;
    if (req.op == IoRequest::Op::fsync)
      r = ::fdatasync(req.fd);
    else
      r = ::pwritev(req.fd, req.iov.data(), static_cast<int>(req.iov.size()),
                    static_cast<off_t>(req.offset));
    if (r < 0 && errno == EINTR) continue;
    return r < 0 ? -errno : static_cast<int>(r);
  }
}

void run_sync(MessageSink& sink, Completions& out) {
  sink.take_immediate(out);
  IoRequest req;
  while (sink.next_io(req))
    sink.complete(req.token, execute_sync(req), out);
  sink.take_immediate(out);
}

}  // namespace ringmx::delivery
