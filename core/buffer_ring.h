// The shard's provided-buffer ring: one block of equal receive buffers the
// kernel picks from for every multishot recv (IOSQE_BUFFER_SELECT). A
// buffer goes back to the ring when its hold count drops to zero: at once
// after a read the engine consumed (it copies partial lines), or later,
// when the spool's write completion releases body chunks that still point
// into it. So an idle connection holds no receive buffer.
//
// liburing 2.3 has io_uring_register_buf_ring but not
// io_uring_setup_buf_ring, so the ring memory is mmapped and registered by
// hand, the way liburing 2.4's setup_buf_ring does it.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringmx::core {

class BufferRing {
 public:
  // entries must be a power of two (kernel rule), at most 32768.
  static std::unique_ptr<BufferRing> create(io_uring* ring, std::uint16_t group,
                                            std::uint32_t entries, std::uint32_t buffer_size,
                                            std::string* error);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  std::uint16_t group() const { return group_; }
  std::uint32_t buffer_size() const { return size_; }
  std::uint32_t entries() const { return entries_; }

  // The bytes a recv completion put in buffer `bid`.
  std::string_view view(std::uint16_t bid, std::uint32_t length) const {
    return {base_ + static_cast<std::size_t>(bid) * size_, length};
  }
  bool contains(const char* p) const { return p >= base_ && p < base_ + base_bytes_; }
  // Which buffer a pointer into the block belongs to (for body chunks the
  // spool hands back).
  std::uint16_t buffer_of(const char* p) const {
    return static_cast<std::uint16_t>(static_cast<std::size_t>(p - base_) / size_);
  }

  // A recv completion hands the buffer out with one hold (the read itself).
  void take(std::uint16_t bid) {
    holds_[bid] = 1;
    ++out_;
  }
  void hold(std::uint16_t bid) { ++holds_[bid]; }
  // Drops one hold; at zero the buffer is queued to return to the kernel.
  void release(std::uint16_t bid);
  // Makes queued returns visible to the kernel (one store per loop turn).
  void publish();

  // Buffers in the hands of the application (not in the kernel's ring).
  std::uint32_t outstanding() const { return out_; }

 private:
  BufferRing() = default;

  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  std::size_t ring_bytes_ = 0;
  char* base_ = nullptr;
  std::size_t base_bytes_ = 0;
  std::uint16_t group_ = 0;
  std::uint32_t entries_ = 0;
  std::uint32_t size_ = 0;
  int mask_ = 0;
  int pending_ = 0;  // returns added since the last publish()
  std::uint32_t out_ = 0;
  bool registered_ = false;
  std::vector<std::uint16_t> holds_;
};

}  // namespace ringmx::core
