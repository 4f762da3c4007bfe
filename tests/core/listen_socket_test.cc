// Listening sockets built from a loaded configuration: every option of
// server.socket and of the listener's override reads back from the kernel,
// on the listening socket and on an accepted one.
#include "core/listen_socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "config/config.h"

namespace ringmx::core {
namespace {

int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

config::Config load(const std::string& toml) {
  config::LoadResult r =
      config::load_string(toml, "test.toml", std::filesystem::temp_directory_path());
  std::string errors;
  for (auto& e : r.errors)
    errors += e.to_string() + "\n";
  EXPECT_TRUE(r.ok()) << errors;
  return r.ok() ? *r.config : config::Config{};
}

// Accepts one connection on `lfd` (a client connects first).
int accept_one(int lfd, const config::BindAddress& a) {
  int c = socket(a.family, SOCK_STREAM, 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len);
  EXPECT_EQ(connect(c, reinterpret_cast<sockaddr*>(&ss), len), 0);
  pollfd p{lfd, POLLIN, 0};
  poll(&p, 1, 5000);
  int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  close(c);
  return fd;
}

const char* kConfig = R"(
[server.socket]
backlog = 77
ttl = 42
tos = 32
send-buffer-size = 65536
recv-buffer-size = 131072
linger = "3s"
nodelay = true
[server.listener.a]
bind = ["127.0.0.1:0", "[::1]:0"]
[server.listener.b]
bind = "127.0.0.1:0"
socket.ttl = 9
socket.tos = 64
socket.recv-buffer-size = 65536
socket.nodelay = false
socket.reuse-port = false
[spool]
path = "spool"
)";

TEST(ListenSocket, EveryServerSocketOptionReadsBackOnListeningAndAcceptedSockets) {
  config::Config cfg = load(kConfig);
  ASSERT_EQ(cfg.listeners.size(), 2u);
  const config::Listener& a = cfg.listeners[0];
  for (const config::BindAddress& addr : a.bind) {
    SCOPED_TRACE(addr.text);
    std::string error;
    int lfd = open_listening_socket(addr, a.socket, a.id, &error);
    ASSERT_GE(lfd, 0) << error;
    const bool v6 = addr.family == AF_INET6;
    for (int fd : {lfd, accept_one(lfd, addr)}) {
      ASSERT_GE(fd, 0);
      if (fd == lfd) {
        EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 1);
        EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 1);
        if (v6) {
          EXPECT_EQ(get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
        }
      }
      // The kernel doubles SO_SNDBUF/SO_RCVBUF for its bookkeeping.
      EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_SNDBUF), 2 * 65536);
      EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVBUF), 2 * 131072);
      EXPECT_EQ(get_int(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL), 42);
      EXPECT_EQ(get_int(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS), 32);
      EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
      linger l{};
      socklen_t len = sizeof l;
      ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
      EXPECT_EQ(l.l_onoff, 1);
      EXPECT_EQ(l.l_linger, 3);
      if (fd != lfd) {
        apply_accepted_options(fd, addr.family, a.socket, kernel_reflects_tos());
        close(fd);
      }
    }
    close(lfd);
  }
}

TEST(ListenSocket, ListenerOverridesBeatTheServerDefaults) {
  config::Config cfg = load(kConfig);
  const config::Listener& b = cfg.listeners[1];
  std::string error;
  int lfd = open_listening_socket(b.bind[0], b.socket, b.id, &error);
  ASSERT_GE(lfd, 0) << error;
  int afd = accept_one(lfd, b.bind[0]);
  for (int fd : {lfd, afd}) {
    EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_TTL), 9);
    EXPECT_EQ(get_int(fd, IPPROTO_IP, IP_TOS), 64);
    EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_RCVBUF), 2 * 65536);
    EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_SNDBUF), 2 * 65536);  // the default still applies
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 0);
  }
  EXPECT_EQ(get_int(lfd, SOL_SOCKET, SO_REUSEPORT), 0);
  close(afd);
  close(lfd);
}

TEST(ListenSocket, BacklogReachesListen) {
  // ss shows the backlog of a listening socket as Send-Q; /proc does not
  // expose it, so check through the diag socket's user: `ss -ltn`.
  config::Config cfg = load(kConfig);
  const config::Listener& a = cfg.listeners[0];
  std::string error;
  int lfd = open_listening_socket(a.bind[0], a.socket, a.id, &error);
  ASSERT_GE(lfd, 0);
  sockaddr_in sin{};
  socklen_t len = sizeof sin;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&sin), &len);
  const std::string cmd =
      "ss -Hltn 'sport = :" + std::to_string(ntohs(sin.sin_port)) + "' | awk '{print $3}'";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[64] = {};
  ASSERT_TRUE(fgets(buf, sizeof buf, p));
  pclose(p);
  EXPECT_EQ(std::atoi(buf), 77);
  close(lfd);
}

TEST(ListenSocket, BindFailureNamesTheStepAndError) {
  config::Config cfg = load(kConfig);
  const config::Listener& b = cfg.listeners[1];  // reuse-port off: a second bind fails
  std::string error;
  int first = open_listening_socket(b.bind[0], b.socket, b.id, &error);
  ASSERT_GE(first, 0);
  sockaddr_in sin{};
  socklen_t len = sizeof sin;
  getsockname(first, reinterpret_cast<sockaddr*>(&sin), &len);
  config::BindAddress taken = b.bind[0];
  reinterpret_cast<sockaddr_in*>(&taken.addr)->sin_port = sin.sin_port;
  EXPECT_EQ(open_listening_socket(taken, b.socket, b.id, &error), -1);
  EXPECT_EQ(error, "bind: Address already in use");
  close(first);

  config::BindAddress foreign = b.bind[0];  // an address this host does not have
  reinterpret_cast<sockaddr_in*>(&foreign.addr)->sin_addr.s_addr = htonl(0xC0000201);
  EXPECT_EQ(open_listening_socket(foreign, b.socket, b.id, &error), -1);
  EXPECT_EQ(error, "bind: Cannot assign requested address");
}

}  // namespace
}  // namespace ringmx::core
