// Typed io_uring user_data: every SQE carries what it is (Op), which
// connection slot it belongs to and that slot's generation, packed in the
// 64 bits the kernel hands back in the CQE. The generation lets a
// completion that arrives after its slot was recycled be recognised and
// dropped (same idea as liburing's examples/proxy.h encode_userdata).
#pragma once

#include <cstdint>

namespace ringmx::core {

enum class Op : std::uint8_t {
  none = 0,
  accept,        // multishot accept; slot = listening-socket index in the shard
  recv,          // multishot recv from the provided-buffer ring
  send,          // reply bytes of one connection
  cancel,        // a connection's cancel (all on the fd, or its paused recv) or shutdown
  tick,          // the shard's single timer-wheel timeout
  mailbox,       // read of the shard's eventfd (messages from other threads)
  spool,         // a write/fsync of the spool writer; slot/generation = its token
  accept_close,  // close of a listening socket that stopped
};

struct UserData {
  Op op = Op::none;
  std::uint32_t generation = 0;  // 24 bits used
  std::uint32_t slot = 0;
};

inline constexpr std::uint32_t kGenerationMask = (1u << 24) - 1;

inline std::uint64_t encode(Op op, std::uint32_t slot, std::uint32_t generation = 0) {
  return static_cast<std::uint64_t>(op) << 56 |
         static_cast<std::uint64_t>(generation & kGenerationMask) << 32 | slot;
}

inline std::uint64_t encode(const UserData& u) {
  return encode(u.op, u.slot, u.generation);
}

inline UserData decode(std::uint64_t v) {
  return UserData{static_cast<Op>(v >> 56), static_cast<std::uint32_t>(v >> 32) & kGenerationMask,
                  static_cast<std::uint32_t>(v)};
}

}  // namespace ringmx::core
