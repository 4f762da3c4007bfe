// The parser against the headers a real HAProxy (Debian's) sends: a client
// connects through HAProxy to a socket of ours; what arrives must parse,
// name the client's own address and port, and stop exactly where the
// client's SMTP bytes begin. HAProxy inherits its listening socket
// (bind fd@N), so it is accepting before it even starts: no waiting.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "protocols/proxy/proxy.h"

extern char** environ;

namespace ringmx::proxy {
namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";
constexpr int kTimeoutMs = 10000;  // a bound on a hang, not a synchronisation

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

sockaddr_storage loopback(int family) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto& a = reinterpret_cast<sockaddr_in&>(ss);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    auto& a = reinterpret_cast<sockaddr_in6&>(ss);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
  }
  return ss;
}

// A listening socket on an ephemeral loopback port. `inheritable` leaves
// CLOEXEC off so the spawned HAProxy gets it.
int listen_on(int family, bool inheritable, sockaddr_storage& bound) {
  int fd = socket(family, SOCK_STREAM | (inheritable ? 0 : SOCK_CLOEXEC), 0);
  sockaddr_storage ss = loopback(family);
  socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 16) != 0) {
    return -1;
  }
  len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return fd;
}

std::uint16_t port_of(const sockaddr_storage& ss) {
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(ss).sin_port
                                       : reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
}

// Address and port only (sockaddr_in has padding, sockaddr_in6 flow info).
std::string text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof(buf));
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, buf, sizeof(buf));
  }
  return std::string(buf) + " port " + std::to_string(port_of(ss));
}

bool wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, kTimeoutMs) == 1;
}

class Haproxy {
 public:
  // Starts HAProxy in the foreground with `server_line` as its only
  // backend server, listening on the inherited socket `listen_fd`.
  Haproxy(int listen_fd, const std::string& server_line) {
    char dir_template[] = "/tmp/ringmx-haproxy-XXXXXX";
    dir_ = mkdtemp(dir_template);
    std::string cfg = dir_ + "/haproxy.cfg";
    std::ofstream(cfg) << "global\n  maxconn 64\n"
                       << "defaults\n  mode tcp\n  timeout connect 5s\n"
                       << "  timeout client 5s\n  timeout server 5s\n"
                       << "frontend fe\n  bind fd@" << listen_fd << "\n"
                       << "  unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid\n"
                       << "  default_backend be\n"
                       << "backend be\n  " << server_line << "\n";
    std::vector<std::string> args = {kHaproxy, "-f", cfg, "-db", "-q"};
    std::vector<char*> argv;
    for (std::string& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kHaproxy, nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~Haproxy() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::remove((dir_ + "/haproxy.cfg").c_str());
    rmdir(dir_.c_str());
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  std::string dir_;
};

// Reads from `fd` until parse() decides and `tail` bytes follow the header.
Result read_header(int fd, std::string& got, std::size_t tail) {
  Result r;
  char buf[4096];
  while (true) {
    r = parse(got);
    if (r.status == Status::invalid) return r;
    if (r.status == Status::complete && got.size() >= r.consumed + tail) return r;
    if (!wait_readable(fd)) return r;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return r;
    got.append(buf, static_cast<std::size_t>(n));
  }
}

struct Mode {
  const char* name;
  int family;
  const char* server_options;  // after "server s1 <addr>:<port> "
  Version version;
  bool tlvs = false;  // unique-id and crc32c TLVs expected
};

void PrintTo(const Mode& m, std::ostream* os) {
  *os << m.name;
}

class ThroughHaproxy : public testing::TestWithParam<Mode> {};

TEST_P(ThroughHaproxy, ClientAddressAndExactEnd) {
  if (access(kHaproxy, X_OK) != 0) GTEST_SKIP() << kHaproxy << " not installed";
  const Mode& mode = GetParam();
  sockaddr_storage backend_addr{}, front_addr{};
  Fd backend(listen_on(AF_INET, false, backend_addr));
  Fd front(listen_on(mode.family, true, front_addr));
  ASSERT_GE(backend.fd, 0);
  ASSERT_GE(front.fd, 0);
  Haproxy haproxy(front.fd, "server s1 127.0.0.1:" + std::to_string(port_of(backend_addr)) + " " +
                                mode.server_options);
  ASSERT_TRUE(haproxy.started());

  Fd client(socket(mode.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  socklen_t len = mode.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  ASSERT_EQ(connect(client.fd, reinterpret_cast<sockaddr*>(&front_addr), len), 0);
  const std::string smtp = "EHLO client.example\r\n";
  ASSERT_EQ(send(client.fd, smtp.data(), smtp.size(), 0), static_cast<ssize_t>(smtp.size()));
  sockaddr_storage client_addr{};
  len = sizeof(client_addr);
  getsockname(client.fd, reinterpret_cast<sockaddr*>(&client_addr), &len);

  ASSERT_TRUE(wait_readable(backend.fd)) << "HAProxy never connected";
  Fd conn(accept4(backend.fd, nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(conn.fd, 0);
  std::string got;
  Result r = read_header(conn.fd, got, smtp.size());
  ASSERT_EQ(r.status, Status::complete) << r.reason;
  EXPECT_EQ(r.version, mode.version);
  EXPECT_EQ(r.command, Command::proxy);
  EXPECT_EQ(r.family, mode.family == AF_INET ? Family::inet : Family::inet6);
  ASSERT_TRUE(r.has_addresses);
  EXPECT_EQ(text(r.source), text(client_addr));
  EXPECT_EQ(text(r.destination), text(front_addr));
  EXPECT_EQ(got.substr(r.consumed), smtp);
  // With proxy-v2-options unique-id,crc32c the TLVs are there; the CRC32C
  // was checked by parse(), so HAProxy and we agree on it.
  bool unique_id = false, crc = false;
  std::string_view rest = r.tlvs;
  Tlv t;
  while (next_tlv(rest, t)) {
    unique_id = unique_id || (t.type == kTlvUniqueId && !t.value.empty());
    crc = crc || t.type == kTlvCrc32c;
  }
  EXPECT_EQ(unique_id, mode.tlvs);
  EXPECT_EQ(crc, mode.tlvs);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ThroughHaproxy,
    testing::Values(Mode{"v1_ipv4", AF_INET, "send-proxy", Version::v1},
                    Mode{"v1_ipv6", AF_INET6, "send-proxy", Version::v1},
                    Mode{"v2_ipv4", AF_INET, "send-proxy-v2", Version::v2},
                    Mode{"v2_ipv6", AF_INET6, "send-proxy-v2", Version::v2},
                    Mode{"v2_ipv4_tlvs", AF_INET,
                         "send-proxy-v2 proxy-v2-options unique-id,crc32c,authority", Version::v2,
                         true},
                    Mode{"v2_ipv6_tlvs", AF_INET6,
                         "send-proxy-v2 proxy-v2-options unique-id,crc32c,authority", Version::v2,
                         true}),
    [](const testing::TestParamInfo<Mode>& info) { return std::string(info.param.name); });

// HAProxy's health checks with check-send-proxy carry a v2 LOCAL header:
// the connection is the proxy's own, and keeps the socket's addresses.
TEST(Haproxy, HealthCheckSendsLocal) {
  if (access(kHaproxy, X_OK) != 0) GTEST_SKIP() << kHaproxy << " not installed";
  sockaddr_storage backend_addr{}, front_addr{};
  Fd backend(listen_on(AF_INET, false, backend_addr));
  Fd front(listen_on(AF_INET, true, front_addr));
  ASSERT_GE(backend.fd, 0);
  ASSERT_GE(front.fd, 0);
  Haproxy haproxy(front.fd, "server s1 127.0.0.1:" + std::to_string(port_of(backend_addr)) +
                                " send-proxy-v2 check check-send-proxy inter 100ms");
  ASSERT_TRUE(haproxy.started());
  ASSERT_TRUE(wait_readable(backend.fd)) << "no health check arrived";
  Fd conn(accept4(backend.fd, nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(conn.fd, 0);
  std::string got;
  Result r = read_header(conn.fd, got, 0);
  ASSERT_EQ(r.status, Status::complete) << r.reason;
  EXPECT_EQ(r.version, Version::v2);
  EXPECT_EQ(r.command, Command::local);
  EXPECT_FALSE(r.has_addresses);
  EXPECT_EQ(r.consumed, got.size());
}

}  // namespace
}  // namespace ringmx::proxy
