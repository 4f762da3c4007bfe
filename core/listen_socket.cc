#include "core/listen_socket.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/log/log.h"

namespace ringmx::core {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

bool set_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0;
}

std::string failure(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// A tuning option the kernel refused: the socket still works, say so.
void warn_refused(const std::string& listener_id, const config::BindAddress& a, const char* option,
                  int value) {
  log::warn("listener.option_refused", "listener={} addr={} option={} value={} error={}",
            listener_id, a.text, option, value, log::quote(std::strerror(errno)));
}

void apply_tuning(int fd, const config::BindAddress& a, const config::SocketSettings& s,
                  const std::string& id) {
  const bool v6 = a.family == AF_INET6;
  if (s.send_buffer_size && !set_int(fd, SOL_SOCKET, SO_SNDBUF, *s.send_buffer_size))
    warn_refused(id, a, "SO_SNDBUF", *s.send_buffer_size);
  if (s.recv_buffer_size && !set_int(fd, SOL_SOCKET, SO_RCVBUF, *s.recv_buffer_size))
    warn_refused(id, a, "SO_RCVBUF", *s.recv_buffer_size);
  if (s.tos) {
    if (v6 ? !set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, *s.tos)
           : !set_int(fd, IPPROTO_IP, IP_TOS, *s.tos))
      warn_refused(id, a, v6 ? "IPV6_TCLASS" : "IP_TOS", *s.tos);
  }
  if (s.ttl) {
    if (v6 ? !set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, *s.ttl)
           : !set_int(fd, IPPROTO_IP, IP_TTL, *s.ttl))
      warn_refused(id, a, v6 ? "IPV6_UNICAST_HOPS" : "IP_TTL", *s.ttl);
  }
  if (!set_int(fd, IPPROTO_TCP, TCP_NODELAY, s.nodelay ? 1 : 0))
    warn_refused(id, a, "TCP_NODELAY", s.nodelay ? 1 : 0);
  if (s.linger) {
    // SO_LINGER counts whole seconds: round up so "500ms" still lingers.
    linger l{1, static_cast<int>((s.linger->count() + 999) / 1000)};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0)
      warn_refused(id, a, "SO_LINGER", l.l_linger);
  }
}

}  // namespace

int open_listening_socket(const config::BindAddress& a, const config::SocketSettings& s,
                          const std::string& listener_id, std::string* error) {
  Fd fd{::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
  if (fd.fd < 0) {
    *error = failure("socket");
    return -1;
  }
  if (s.reuse_addr && !set_int(fd.fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
    *error = failure("setsockopt SO_REUSEADDR");
    return -1;
  }
  if (s.reuse_port && !set_int(fd.fd, SOL_SOCKET, SO_REUSEPORT, 1)) {
    *error = failure("setsockopt SO_REUSEPORT");
    return -1;
  }
  // [::] takes IPv6 only, whatever net.ipv6.bindv6only says; 0.0.0.0 is
  // listed separately for IPv4.
  if (a.family == AF_INET6 && !set_int(fd.fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) {
    *error = failure("setsockopt IPV6_V6ONLY");
    return -1;
  }
  apply_tuning(fd.fd, a, s, listener_id);
  if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&a.addr), a.addr_len) != 0) {
    *error = failure("bind");
    return -1;
  }
  if (::listen(fd.fd, s.backlog) != 0) {
    *error = failure("listen");
    return -1;
  }
  return fd.release();
}

bool set_incoming_cpu(int fd, int cpu, const config::BindAddress& a,
                      const std::string& listener_id) {
  if (set_int(fd, SOL_SOCKET, SO_INCOMING_CPU, cpu)) return true;
  warn_refused(listener_id, a, "SO_INCOMING_CPU", cpu);
  return false;
}

bool kernel_reflects_tos() {
  std::FILE* f = std::fopen("/proc/sys/net/ipv4/tcp_reflect_tos", "r");
  if (!f) return false;
  int v = 0;
  bool on = std::fscanf(f, "%d", &v) == 1 && v != 0;
  std::fclose(f);
  return on;
}

void apply_accepted_options(int fd, int family, const config::SocketSettings& s, bool reflect_tos) {
  if (!reflect_tos || !s.tos) return;
  if (family == AF_INET6)
    set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, *s.tos);
  else
    set_int(fd, IPPROTO_IP, IP_TOS, *s.tos);
}

}  // namespace ringmx::core
