// One client connection slot of a worker, and the deadline list that times
// them out. Slots are reused: a slot is free again only once the kernel has
// finished every operation that refers to its buffers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/client_session.h"
#include "bench/loadgen/tls_client.h"

namespace ringmx::loadgen {

// A client reads nothing but replies, so a small buffer is plenty; TLS
// records larger than this are reassembled by wolfSSL.
inline constexpr std::size_t kRecvBufferBytes = 4096;
inline constexpr std::uint32_t kNoSlot = UINT32_MAX;

struct Connection {
  enum class Stage : std::uint8_t { free, connecting, open, closing };

  explicit Connection(const SessionPlan* plan) : session(plan) {}

  Stage stage = Stage::free;
  int fd = -1;
  std::uint32_t generation = 0;  // bumped on reuse; stale completions are dropped
  unsigned inflight = 0;         // SQEs the kernel still owns
  bool recv_armed = false;
  bool send_armed = false;
  bool held = false;              // --hold-idle: parked on a poll, no buffer
  bool reserved_message = false;  // a message was taken from the budget for it
  bool abortive_close = false;
  bool setting_up = false;  // between connect and the first "ready"   // RST on close: we failed
                            // it, no TIME_WAIT wanted

  ClientSession session;
  std::unique_ptr<TlsClient> tls;
  std::unique_ptr<char[]> recv_buffer;  // allocated while reading, freed while held
  std::string wire;                     // bytes waiting to be sent
  std::string sending;                  // bytes the kernel is sending (stable until its CQE)
  std::size_t sent = 0;                 // of `sending`
  std::string plaintext;                // TLS: decrypted replies, scratch

  std::chrono::steady_clock::time_point connect_started;
  std::chrono::steady_clock::time_point connected;  // implicit TLS: handshake done
  std::chrono::steady_clock::time_point tls_started;
  std::chrono::steady_clock::time_point message_started;

  // Deadline list links (a slot is on it while it waits for the server).
  std::uint32_t prev = kNoSlot;
  std::uint32_t next = kNoSlot;
  bool timed = false;
  std::chrono::steady_clock::time_point deadline;
};

// Every wait has the same length (--reply-timeout), so appending at the tail
// keeps the list sorted by deadline: arming, disarming and finding the next
// expiry are all O(1), whatever the number of connections.
class DeadlineList {
 public:
  explicit DeadlineList(std::vector<Connection>& slots) : slots_(slots) {}

  void arm(std::uint32_t slot, std::chrono::steady_clock::time_point deadline) {
    disarm(slot);
    auto& c = slots_[slot];
    c.deadline = deadline;
    c.timed = true;
    c.prev = tail_;
    c.next = kNoSlot;
    if (tail_ != kNoSlot)
      slots_[tail_].next = slot;
    else
      head_ = slot;
    tail_ = slot;
  }

  void disarm(std::uint32_t slot) {
    auto& c = slots_[slot];
    if (!c.timed) return;
    if (c.prev != kNoSlot)
      slots_[c.prev].next = c.next;
    else
      head_ = c.next;
    if (c.next != kNoSlot)
      slots_[c.next].prev = c.prev;
    else
      tail_ = c.prev;
    c.prev = c.next = kNoSlot;
    c.timed = false;
  }

  // The slot with the earliest deadline, or kNoSlot.
  std::uint32_t first() const { return head_; }

 private:
  std::vector<Connection>& slots_;
  std::uint32_t head_ = kNoSlot;
  std::uint32_t tail_ = kNoSlot;
};

}  // namespace ringmx::loadgen
