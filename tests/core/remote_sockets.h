// A running server's sockets, duplicated into the test process with
// pidfd_getfd, so their options can be read back with getsockopt.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace ringmx::test {

struct RemoteSocket {
  int fd;             // the duplicate: the caller closes it
  std::string local;  // "127.0.0.1:2525" / "[::1]:2525"
  std::string peer;   // "" for a listening socket
  bool listening;
  int remote_fd = -1;  // its number in the server process (the log's fd=)
};

// Every AF_INET/AF_INET6 socket of process `pid`.
std::vector<RemoteSocket> server_sockets(pid_t pid);

// getsockopt of an int option; -1 when it failed.
int opt(int fd, int level, int name);

std::string text_of(const sockaddr_storage& ss);
// The local address of `fd` as text_of() writes it.
std::string local_of(int fd);

}  // namespace ringmx::test
