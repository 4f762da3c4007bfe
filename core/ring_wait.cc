#include "core/ring_wait.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// liburing 2.3 predates the minimum wait: the flag is from the kernel's
// uapi header, and the field is the one 2.3 still calls `pad`.
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

namespace ringmx::core {

bool ring_can_linger(const io_uring* ring) {
  return ring->features & IORING_FEAT_MIN_TIMEOUT;
}

namespace {

// What liburing's submit does before io_uring_enter: publish the SQ tail
// (this ring is not SQPOLL, so a plain store, as liburing does), and count
// what the kernel has not taken yet.
unsigned flush_submissions(io_uring* ring) {
  io_uring_sq* sq = &ring->sq;
  const unsigned tail = sq->sqe_tail;
  if (sq->sqe_head != tail) {
    sq->sqe_head = tail;
    __atomic_store_n(sq->ktail, tail, __ATOMIC_RELEASE);
  }
  return tail - *sq->khead;
}

}  // namespace

int submit_and_wait(io_uring* ring, unsigned linger_us, unsigned batch) {
  if (linger_us == 0 || batch <= 1 || !ring_can_linger(ring))
    return io_uring_submit_and_wait(ring, 1);
  // The overall limit only matters once the linger is over and nothing came:
  // the kernel then sleeps as a plain wait does, until the first completion
  // or this. One second keeps an idle shard from waking for nothing.
  __kernel_timespec limit{.tv_sec = 1, .tv_nsec = 0};
  io_uring_getevents_arg arg{};
  arg.ts = reinterpret_cast<__u64>(&limit);
  arg.pad = linger_us;  // min_wait_usec in the kernel's header
  const unsigned submit = flush_submissions(ring);
  long rc = ::syscall(__NR_io_uring_enter, ring->ring_fd, submit, batch,
                      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
  if (rc < 0) return errno == ETIME ? 0 : -errno;
  return static_cast<int>(rc);
}

}  // namespace ringmx::core
