#include "core/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace ringmx::core {

std::unique_ptr<BufferRing> BufferRing::create(io_uring* ring, std::uint16_t group,
                                               std::uint32_t entries, std::uint32_t buffer_size,
                                               std::string* error) {
  if (entries == 0 || (entries & (entries - 1)) != 0 || entries > 32768) {
    *error = "buffer ring entries must be a power of two up to 32768";
    return nullptr;
  }
  std::unique_ptr<BufferRing> b(new BufferRing());
  b->ring_ = ring;
  b->group_ = group;
  b->entries_ = entries;
  b->size_ = buffer_size;
  b->mask_ = io_uring_buf_ring_mask(entries);
  b->holds_.assign(entries, 0);

  // The ring of buffer descriptors must be page aligned: mmap gives that.
  b->ring_bytes_ = entries * sizeof(io_uring_buf);
  void* r =
      mmap(nullptr, b->ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r == MAP_FAILED) {
    *error = std::string("mmap buffer ring: ") + std::strerror(errno);
    return nullptr;
  }
  b->br_ = static_cast<io_uring_buf_ring*>(r);
  io_uring_buf_ring_init(b->br_);

  b->base_bytes_ = static_cast<std::size_t>(entries) * buffer_size;
  void* m =
      mmap(nullptr, b->base_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (m == MAP_FAILED) {
    *error = std::string("mmap receive buffers: ") + std::strerror(errno);
    return nullptr;
  }
  b->base_ = static_cast<char*>(m);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(b->br_);
  reg.ring_entries = entries;
  reg.bgid = group;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) {
    *error = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc);
    return nullptr;
  }
  b->registered_ = true;
  for (std::uint32_t i = 0; i < entries; ++i) {
    io_uring_buf_ring_add(b->br_, b->base_ + static_cast<std::size_t>(i) * buffer_size, buffer_size,
                          static_cast<unsigned short>(i), b->mask_, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(b->br_, static_cast<int>(entries));
  return b;
}

BufferRing::~BufferRing() {
  if (registered_) io_uring_unregister_buf_ring(ring_, group_);
  if (base_) munmap(base_, base_bytes_);
  if (br_) munmap(br_, ring_bytes_);
}

void BufferRing::release(std::uint16_t bid) {
  if (holds_[bid] == 0 || --holds_[bid] != 0) return;
  io_uring_buf_ring_add(br_, base_ + static_cast<std::size_t>(bid) * size_, size_, bid, mask_,
                        pending_++);
  --out_;
}

void BufferRing::publish() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace ringmx::core
