// The provided-buffer ring against a real ring and a socketpair: buffers
// the application holds are not handed out again, exhaustion is ENOBUFS,
// and a release makes the buffer usable for the next recv.
#include "core/buffer_ring.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace ringmx::core {
namespace {

class BufferRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(io_uring_queue_init(8, &ring_, 0), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    std::string error;
    buffers_ = BufferRing::create(&ring_, 3, 2, 64, &error);
    ASSERT_TRUE(buffers_) << error;
  }
  void TearDown() override {
    buffers_.reset();
    io_uring_queue_exit(&ring_);
    close(fds_[0]);
    close(fds_[1]);
  }
  // One single-shot recv with buffer selection; returns res and the bid.
  int recv_one(std::uint16_t* bid) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    io_uring_prep_recv(s, fds_[0], nullptr, 64, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = buffers_->group();
    io_uring_submit(&ring_);
    io_uring_cqe* cqe;
    EXPECT_EQ(io_uring_wait_cqe(&ring_, &cqe), 0);
    int res = cqe->res;
    if (cqe->flags & IORING_CQE_F_BUFFER)
      *bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    io_uring_cqe_seen(&ring_, cqe);
    return res;
  }
  void send_text(const char* t) { ASSERT_EQ(write(fds_[1], t, strlen(t)), (ssize_t)strlen(t)); }

  io_uring ring_{};
  int fds_[2] = {-1, -1};
  std::unique_ptr<BufferRing> buffers_;
};

TEST_F(BufferRingTest, HeldBuffersAreNotReusedAndExhaustionIsEnobufs) {
  std::uint16_t a = 99, b = 99, c = 99;
  send_text("first");
  ASSERT_EQ(recv_one(&a), 5);
  buffers_->take(a);
  EXPECT_EQ(buffers_->view(a, 5), "first");
  send_text("second");
  ASSERT_EQ(recv_one(&b), 6);
  buffers_->take(b);
  EXPECT_NE(a, b);
  EXPECT_EQ(buffers_->outstanding(), 2u);

  send_text("third");
  EXPECT_EQ(recv_one(&c), -ENOBUFS);  // both buffers held: back-pressure

  buffers_->hold(a);     // a body chunk still points into `a`
  buffers_->release(a);  // the read is done with it; the chunk is not
  buffers_->publish();
  EXPECT_EQ(recv_one(&c), -ENOBUFS);
  buffers_->release(a);  // the spool wrote the chunk
  buffers_->publish();
  ASSERT_EQ(recv_one(&c), 5);
  EXPECT_EQ(c, a);
  EXPECT_EQ(buffers_->view(c, 5), "third");
}

TEST_F(BufferRingTest, LocatesTheBufferOfAPointer) {
  std::uint16_t a = 99;
  send_text("hello world");
  ASSERT_EQ(recv_one(&a), 11);
  std::string_view v = buffers_->view(a, 11);
  EXPECT_TRUE(buffers_->contains(v.data() + 6));
  EXPECT_EQ(buffers_->buffer_of(v.data() + 6), a);
  const char outside = 0;
  EXPECT_FALSE(buffers_->contains(&outside));
}

TEST(BufferRingCreate, RejectsNonPowerOfTwo) {
  io_uring ring{};
  ASSERT_EQ(io_uring_queue_init(4, &ring, 0), 0);
  std::string error;
  EXPECT_FALSE(BufferRing::create(&ring, 1, 3, 64, &error));
  EXPECT_NE(error.find("power of two"), std::string::npos);
  io_uring_queue_exit(&ring);
}

}  // namespace
}  // namespace ringmx::core
