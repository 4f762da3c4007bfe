#include "delivery/uring_io.h"

#include <cerrno>
#include <system_error>

namespace ringmx::delivery {

UringIo::UringIo(unsigned entries) {
  // No SQPOLL: a shard's ring is busy with sockets too, and a polling
  // thread would take the second core from the other shard.
  int r = io_uring_queue_init(entries, &ring_, 0);
  if (r < 0) throw std::system_error(-r, std::generic_category(), "io_uring_queue_init");
}

UringIo::~UringIo() {
  io_uring_queue_exit(&ring_);
}

void UringIo::run_once(MessageSink& sink, Completions& out, bool wait) {
  sink.take_immediate(out);
  IoRequest req;
  for (;;) {
    if (io_uring_sq_space_left(&ring_) == 0) io_uring_submit(&ring_);
    if (!sink.next_io(req)) break;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (req.op == IoRequest::Op::fsync) {
      io_uring_prep_fsync(sqe, req.fd, IORING_FSYNC_DATASYNC);
    } else {
      io_uring_prep_writev(sqe, req.fd, req.iov.data(), static_cast<unsigned>(req.iov.size()),
                           req.offset);
    }
    io_uring_sqe_set_data64(sqe, req.token);
    ++in_flight_;
  }
  int r = io_uring_submit_and_wait(&ring_, wait && in_flight_ > 0 ? 1 : 0);
  if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
    throw std::system_error(-r, std::generic_category(), "io_uring_submit_and_wait");
  io_uring_cqe* cqe;
  unsigned head, seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    sink.complete(cqe->user_data, cqe->res, out);
    --in_flight_;
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
  sink.take_immediate(out);
}

void UringIo::drain(MessageSink& sink, Completions& out) {
  for (;;) {
    run_once(sink, out, true);
    if (in_flight_ > 0) continue;
    run_once(sink, out, false);  // completions may have made new requests (an fsync)
    if (in_flight_ == 0) return;
  }
}

}  // namespace ringmx::delivery
