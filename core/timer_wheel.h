// A hashed timing wheel, one per shard: every deadline of every connection
// (idle timeout, session duration, TLS handshake, PROXY header) and the
// drain deadline lives here, and one IORING_OP_TIMEOUT per tick drives it.
// Linked timeouts are not used: a linked timeout on a multishot recv would
// cancel the recv on its deadline whatever traffic arrived.
//
// Nodes are intrusive (a connection embeds one), so arming allocates
// nothing. Re-arming is O(1). A node whose deadline lies beyond one turn of
// the wheel stays in its slot for more turns; the owner also re-arms
// lazily (an idle deadline pushed back by traffic is checked when the old
// one fires), so a busy connection does not touch the wheel per read.
#pragma once

#include <cstdint>
#include <vector>

namespace ringmx::core {

struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  std::uint64_t when_ms = 0;  // armed deadline, shard clock
  // What the owner needs to find the timer's object again when it fires.
  std::uint32_t owner = 0;
  std::uint8_t kind = 0;
  bool armed() const { return prev != nullptr; }
};

class TimerWheel {
 public:
  // tick_ms: resolution; slots: a power of two.
  TimerWheel(std::uint32_t tick_ms, std::uint32_t slots, std::uint64_t now_ms);

  std::uint32_t tick_ms() const { return tick_ms_; }
  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }

  void arm(TimerNode* node, std::uint64_t when_ms);
  void disarm(TimerNode* node);

  // Fires every node whose deadline is <= now_ms (disarmed before fn runs;
  // fn may re-arm it or arm/disarm others).
  template <typename Fn>
  void advance(std::uint64_t now_ms, Fn&& fn) {
    std::uint64_t target = now_ms / tick_ms_;
    while (current_ <= target) {
      TimerNode& head = slots_[current_ & mask_];
      // Detach the slot's list so re-arms into this slot do not loop.
      TimerNode pending;
      if (head.next != &head) {
        pending.next = head.next;
        pending.prev = head.prev;
        pending.next->prev = &pending;
        pending.prev->next = &pending;
        head.next = head.prev = &head;
      } else {
        pending.next = pending.prev = &pending;
      }
      while (pending.next != &pending) {
        TimerNode* n = pending.next;
        unlink(n);
        if (n->when_ms <= now_ms) {
          --count_;
          fn(n);
        } else {
          link(&slots_[slot_of(n->when_ms)], n);  // a later turn of the wheel
        }
      }
      if (current_ == target) break;
      ++current_;
    }
  }

 private:
  static void unlink(TimerNode* n) {
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = nullptr;
  }
  static void link(TimerNode* head, TimerNode* n) {
    n->next = head->next;
    n->prev = head;
    head->next->prev = n;
    head->next = n;
  }
  std::uint64_t slot_of(std::uint64_t when_ms) const {
    std::uint64_t t = when_ms / tick_ms_;
    if (t < current_) t = current_;
    return t & mask_;
  }

  std::uint32_t tick_ms_;
  std::uint64_t mask_;
  std::uint64_t current_;  // tick being processed (absolute tick number)
  std::size_t count_ = 0;
  std::vector<TimerNode> slots_;  // list heads
};

}  // namespace ringmx::core
