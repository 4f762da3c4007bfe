#include "tests/core/remote_sockets.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>

namespace ringmx::test {

std::string text_of(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, ntohs(in->sin_port));
  }
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
  return fmt::format("[{}]:{}", buf, ntohs(in6->sin6_port));
}

std::vector<RemoteSocket> server_sockets(pid_t pid) {
  std::vector<RemoteSocket> out;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  EXPECT_GE(pidfd, 0);
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid))) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec).string().rfind("socket:", 0) != 0) continue;
    int fd = static_cast<int>(
        syscall(SYS_pidfd_getfd, pidfd, std::stoi(e.path().filename().string()), 0));
    if (fd < 0) continue;
    int type = 0;
    socklen_t len = sizeof type;
    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &type, &len);
    if (type != AF_INET && type != AF_INET6) {
      close(fd);
      continue;
    }
    RemoteSocket r{fd, "", "", false, std::stoi(e.path().filename().string())};
    sockaddr_storage ss{};
    len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    r.local = text_of(ss);
    int acc = 0;
    len = sizeof acc;
    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
    r.listening = acc != 0;
    if (!r.listening) {
      len = sizeof ss;
      if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) r.peer = text_of(ss);
    }
    out.push_back(r);
  }
  close(pidfd);
  return out;
}

int opt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(fd, level, name, &v, &len);
  return v;
}

std::string local_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return text_of(ss);
}

}  // namespace ringmx::test
