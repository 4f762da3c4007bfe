// An idle session allocates nothing, and a pipelined command stream with no
// transaction in it allocates nothing either (the runtime's memory budget is
// 4 KiB of user memory per idle connection). Its own binary: it replaces the
// global operator new to count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/smtp/harness.h"

namespace {
std::atomic<size_t> g_allocations{0};
}

// These new/delete pair with each other (malloc/free); GCC cannot see that
// once they are inlined into callers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace ringmx::smtp::testing {
namespace {

TEST(Allocation, IdleSessionAndCommandsAllocateNothing) {
  Settings s = Harness::defaults();
  CountingIds ids;
  FixedClock clock;
  ConnectionInfo conn;
  conn.client = "192.0.2.7:41234";  // short strings stay inline (SSO)
  conn.client_ip = "192.0.2.7";
  Output out;
  out.replies.reserve(4096);
  out.actions.reserve(16);
  size_t before = g_allocations.load();
  Session session(s, ids, clock, conn);
  session.start(out);
  out.clear();
  session.receive(std::string_view("EHLO client\r\nNOOP\r\nRSET\r\nHELP\r\nVRFY x\r\n"), out);
  out.clear();
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_FALSE(session.in_transaction());
}

TEST(Allocation, PartialLineBufferIsReleased) {
  Settings s = Harness::defaults();
  CountingIds ids;
  FixedClock clock;
  Output out;
  out.replies.reserve(4096);
  out.actions.reserve(16);
  Session session(s, ids, clock, {});
  session.start(out);
  size_t before = g_allocations.load();
  session.receive(std::string_view("NOOP longer than the inline string"), out);
  EXPECT_GT(g_allocations.load() - before, 0u) << "a partial line is buffered (and counted)";
  session.receive(std::string_view("\r\n"), out);
  out.clear();
  before = g_allocations.load();
  session.receive(std::string_view("NOOP\r\n"), out);
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(out.replies, "250 2.0.0 Ok\r\n");
}

}  // namespace
}  // namespace ringmx::smtp::testing
