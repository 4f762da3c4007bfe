// A loopback TCP port for a server a test is about to start.
//
// Taken below the kernel's ephemeral range (net.ipv4.ip_local_port_range,
// 32768 and up by default): a port the kernel hands out for bind(port 0)
// can be handed out again at once as the local end of some client's
// connection, and the server's bind then fails with EADDRINUSE; with tests
// running in parallel that happened. Ports are tried at random in
// [10000, 32768) until one binds on 127.0.0.1.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <random>

namespace ringmx::test_support {

inline int free_loopback_port() {
  static std::mutex mu;
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  const std::lock_guard lock(mu);
  std::uniform_int_distribution<int> pick(10000, 32767);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(rng);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;
}

}  // namespace ringmx::test_support
