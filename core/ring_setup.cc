#include "core/ring_setup.h"

#include <cerrno>

namespace ringmx::core {

int setup_ring(io_uring* ring, unsigned entries, std::string* mode) {
  struct Try {
    unsigned flags;
    const char* name;
  };
  static constexpr Try kTries[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
       "single-issuer,defer-taskrun,coop-taskrun"},
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN, "single-issuer,coop-taskrun"},
      {IORING_SETUP_COOP_TASKRUN, "coop-taskrun"},
      {0, "plain"},
  };
  int rc = -EINVAL;
  for (const Try& t : kTries) {
    io_uring_params p{};
    p.flags = t.flags | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, ring, &p);
    if (rc == 0) {
      *mode = t.name;
      return 0;
    }
    if (rc != -EINVAL) return rc;  // not a flag problem: ENOMEM, EPERM...
  }
  return rc;
}

}  // namespace ringmx::core
