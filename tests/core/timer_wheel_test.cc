#include "core/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringmx::core {
namespace {

std::vector<std::uint32_t> fire(TimerWheel& w, std::uint64_t now) {
  std::vector<std::uint32_t> fired;
  w.advance(now, [&](TimerNode* n) { fired.push_back(n->owner); });
  return fired;
}

TEST(TimerWheel, FiresAtDeadlineNotBefore) {
  TimerWheel w(100, 8, 1000);
  TimerNode a, b;
  a.owner = 1;
  b.owner = 2;
  w.arm(&a, 1250);
  w.arm(&b, 1500);
  EXPECT_TRUE(fire(w, 1200).empty());
  EXPECT_EQ(fire(w, 1260), std::vector<std::uint32_t>{1});
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(fire(w, 1500), std::vector<std::uint32_t>{2});
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, DeadlineBeyondOneTurnWaitsForItsTurn) {
  TimerWheel w(100, 8, 0);  // one turn = 800 ms
  TimerNode a;
  a.owner = 7;
  w.arm(&a, 2050);
  EXPECT_TRUE(fire(w, 850).empty());   // same slot, first turn
  EXPECT_TRUE(fire(w, 1650).empty());  // second turn
  EXPECT_EQ(fire(w, 2100), std::vector<std::uint32_t>{7});
}

TEST(TimerWheel, DisarmAndRearmMoveTheDeadline) {
  TimerWheel w(100, 8, 0);
  TimerNode a, b;
  a.owner = 1;
  b.owner = 2;
  w.arm(&a, 300);
  w.arm(&b, 300);
  w.disarm(&b);
  w.arm(&a, 600);  // re-arming replaces the old deadline
  EXPECT_TRUE(fire(w, 400).empty());
  EXPECT_EQ(fire(w, 650), std::vector<std::uint32_t>{1});
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, CallbackMayRearmAndDisarmOthers) {
  TimerWheel w(100, 8, 0);
  TimerNode a, b;
  a.owner = 1;
  b.owner = 2;
  w.arm(&a, 100);
  w.arm(&b, 100);
  std::vector<std::uint32_t> fired;
  w.advance(150, [&](TimerNode* n) {
    fired.push_back(n->owner);
    TimerNode* other = n == &a ? &b : &a;
    w.disarm(other);
    w.arm(n, 400);
  });
  ASSERT_EQ(fired.size(), 1u);  // the other one was disarmed before it fired
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(fire(w, 450).size(), 1u);
}

TEST(TimerWheel, PastDeadlineFiresOnNextAdvance) {
  TimerWheel w(100, 8, 1000);
  TimerNode a;
  a.owner = 3;
  w.arm(&a, 500);
  EXPECT_EQ(fire(w, 1000), std::vector<std::uint32_t>{3});
}

}  // namespace
}  // namespace ringmx::core
