// The shard loop's one blocking call: submit what is queued, wait for
// completions, optionally lingering so a stream is taken in fewer wake-ups.
#pragma once

#include <liburing.h>

namespace ringmx::core {

// Whether this kernel honours a minimum wait (IORING_FEAT_MIN_TIMEOUT,
// Linux 6.12): without it submit_and_wait() never lingers.
bool ring_can_linger(const io_uring* ring);

// Submits the queued SQEs and waits for at least one completion, like
// io_uring_submit_and_wait(ring, 1). With linger_us > 0 (and a kernel that
// can), the wait goes on until `batch` completions are in or linger_us has
// passed since it began, whichever is first; a completion that comes after
// linger_us ends it at once, as a plain wait would. So one wake-up takes what
// a stream delivered in linger_us rather than one per arriving segment, and
// no completion waits longer than linger_us for it. Returns the number of
// SQEs submitted, or -errno (-EINTR and friends as io_uring_enter gives them).
int submit_and_wait(io_uring* ring, unsigned linger_us, unsigned batch);

}  // namespace ringmx::core
