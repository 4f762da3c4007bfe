// Messages between threads (server thread to shards and back): a queue and
// an eventfd the receiving ring waits on. Only control messages travel this
// way (reload, drain, ready, stopped), never per-connection traffic, so the
// short mutex here is off the hot path.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace ringmx::core {

template <typename Message>
class Mailbox {
 public:
  Mailbox() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Mailbox() {
    if (fd_ >= 0) close(fd_);
  }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  bool ok() const { return fd_ >= 0; }
  // The eventfd the receiver reads (on its ring, or with poll()).
  int fd() const { return fd_; }

  void post(Message m) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(m));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
  }

  // Everything posted so far, oldest first.
  std::vector<Message> take() {
    std::vector<Message> out;
    std::lock_guard<std::mutex> lock(mu_);
    out.swap(queue_);
    return out;
  }

 private:
  int fd_;
  std::mutex mu_;
  std::vector<Message> queue_;
};

}  // namespace ringmx::core
