// Runs a sink's I/O requests on an io_uring: the path the server takes (the
// runtime's shard ring does the same with its own ring) and the one the
// benchmark measures. Writes are IORING_OP_WRITEV at the request's offset,
// syncs IORING_OP_FSYNC with IORING_FSYNC_DATASYNC; user_data is the token.
#pragma once

#include <liburing.h>

#include "delivery/spool_writer.h"

namespace ringmx::delivery {

class UringIo {
 public:
  // Throws std::system_error when the ring cannot be set up.
  explicit UringIo(unsigned entries = 64);
  ~UringIo();
  UringIo(const UringIo&) = delete;
  UringIo& operator=(const UringIo&) = delete;

  // Submits every request the sink has now, waits for one completion when
  // `wait` and something is in flight, and feeds every completion that has
  // arrived back to the sink. Results land in `out`.
  void run_once(MessageSink& sink, Completions& out, bool wait);
  // Repeats run_once until the sink has nothing queued or in flight.
  void drain(MessageSink& sink, Completions& out);
  size_t in_flight() const { return in_flight_; }

 private:
  io_uring ring_{};
  size_t in_flight_ = 0;
};

}  // namespace ringmx::delivery
