// The shard loop's wait (core/ring_wait.h) on a real ring set up as the
// shard sets it up: with or without a linger it returns with the
// completions that came, including one that comes after the linger is over.
#include "core/ring_wait.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/ring_setup.h"

namespace ringmx::core {
namespace {

class RingWaitTest : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    std::string mode;
    ASSERT_EQ(setup_ring(&ring_, 8, &mode), 0);
  }
  void TearDown() override { io_uring_queue_exit(&ring_); }

  // The user_data of every completion waiting in the CQ, reaped.
  std::vector<std::uint64_t> reap() {
    std::vector<std::uint64_t> seen;
    io_uring_cqe* cqe;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      seen.push_back(cqe->user_data);
      io_uring_cqe_seen(&ring_, cqe);
    }
    return seen;
  }

  io_uring ring_{};
};

TEST_P(RingWaitTest, SubmitsAndReturnsWithTheCompletion) {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  io_uring_prep_nop(s);
  io_uring_sqe_set_data64(s, 7);
  EXPECT_EQ(submit_and_wait(&ring_, GetParam(), 16), 1);
  EXPECT_EQ(reap(), std::vector<std::uint64_t>{7});
}

TEST_P(RingWaitTest, ACompletionAfterTheLingerEndsTheWait) {
  // 20 ms: well past any linger; the wait must not come back empty-handed
  // when the linger ends, nor sleep through the completion.
  __kernel_timespec ts{.tv_sec = 0, .tv_nsec = 20'000'000};
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  io_uring_prep_timeout(s, &ts, 0, 0);
  io_uring_sqe_set_data64(s, 9);
  EXPECT_EQ(submit_and_wait(&ring_, GetParam(), 16), 1);
  EXPECT_EQ(reap(), std::vector<std::uint64_t>{9});
}

TEST_P(RingWaitTest, SeveralCompletionsComeBackTogether) {
  for (std::uint64_t i = 1; i <= 3; ++i) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    io_uring_prep_nop(s);
    io_uring_sqe_set_data64(s, i);
  }
  EXPECT_EQ(submit_and_wait(&ring_, GetParam(), 16), 3);
  EXPECT_EQ(reap(), (std::vector<std::uint64_t>{1, 2, 3}));
}

// 0: a plain wait; 300: the shard's linger.
INSTANTIATE_TEST_SUITE_P(Linger, RingWaitTest, ::testing::Values(0u, 300u));

}  // namespace
}  // namespace ringmx::core
