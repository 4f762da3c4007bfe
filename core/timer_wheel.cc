#include "core/timer_wheel.h"

namespace ringmx::core {

TimerWheel::TimerWheel(std::uint32_t tick_ms, std::uint32_t slots, std::uint64_t now_ms)
    : tick_ms_(tick_ms), mask_(slots - 1), current_(now_ms / tick_ms), slots_(slots) {
  for (TimerNode& h : slots_)
    h.next = h.prev = &h;
}

void TimerWheel::arm(TimerNode* node, std::uint64_t when_ms) {
  if (node->armed())
    unlink(node);
  else
    ++count_;
  node->when_ms = when_ms;
  link(&slots_[slot_of(when_ms)], node);
}

void TimerWheel::disarm(TimerNode* node) {
  if (!node->armed()) return;
  unlink(node);
  --count_;
}

}  // namespace ringmx::core
