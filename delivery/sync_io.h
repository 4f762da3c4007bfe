// Runs a sink's I/O requests with plain syscalls (pwritev, fdatasync), one
// at a time. For the CLI tools, the tests and the kill test; the server and
// the benchmark run the same requests on io_uring (delivery/uring_io.h).
#pragma once

#include "delivery/spool_writer.h"

namespace ringmx::delivery {

// One request, its result as a CQE would carry it: bytes written, 0 for a
// completed fdatasync, or -errno.
int execute_sync(const IoRequest& req);

// Submits and completes requests until the sink has none left; what they
// finished (and take_immediate's results) are appended to `out`.
void run_sync(MessageSink& sink, Completions& out);

}  // namespace ringmx::delivery
