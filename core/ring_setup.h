// Creating a shard's ring, inside the shard's own thread.
#pragma once

#include <liburing.h>

#include <string>

namespace ringmx::core {

// Sets up `ring` with the best flags this kernel accepts, trying in order:
//   SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN: only this thread submits,
//     and completion work runs when the loop asks for events, not by
//     interrupting it (fewer IPIs, better batching);
//   SINGLE_ISSUER | COOP_TASKRUN; COOP_TASKRUN; none.
// Every try adds SUBMIT_ALL (one bad SQE does not stop the batch) and a
// CQ ring four times the SQ ring (multishot requests post many CQEs per SQE).
// Returns 0 or -errno; `mode` names the flags that were taken.
int setup_ring(io_uring* ring, unsigned entries, std::string* mode);

}  // namespace ringmx::core
