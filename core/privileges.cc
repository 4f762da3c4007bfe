#include "core/privileges.h"

#include <arpa/inet.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/log/log.h"

namespace ringmx::core {

unsigned long raise_nofile_limit(const config::Config& cfg) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  const rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      log::warn("limits.nofile_refused", "soft={} hard={} error={}", before, rl.rlim_max,
                log::quote(std::strerror(errno)));
      rl.rlim_cur = before;
    }
  }
  log::info("limits.nofile", "before={} soft={} hard={}", before, rl.rlim_cur, rl.rlim_max);
  unsigned long long sum = 0;
  std::string names;
  for (const config::Listener& l : cfg.listeners) {
    sum += l.max_connections;
    names += names.empty() ? l.id : "," + l.id;
  }
  if (sum > rl.rlim_cur)
    log::warn("limits.nofile_short",
              "listeners={} max_connections_total={} nofile={} "
              "hint=\"raise the hard limit (LimitNOFILE=, ulimit -Hn) or lower max-connections\"",
              names, sum, rl.rlim_cur);
  return rl.rlim_cur;
}

bool is_public(const config::BindAddress& a) {
  if (a.family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&a.addr);
    return (ntohl(in->sin_addr.s_addr) >> 24) != 127;
  }
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.addr);
  if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return false;
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] != 127;
  return true;
}

std::string check_root(const config::Config& cfg) {
  if (geteuid() != 0 || cfg.run_as_user || cfg.allow_root) return {};
  for (const config::Listener& l : cfg.listeners)
    for (const config::BindAddress& a : l.bind)
      if (is_public(a))
        return "refusing to run as root with listener " + l.id + " on public address " + a.text +
               ": set server.run-as = { user = \"...\" } or server.allow-root = true";
  return {};
}

std::string drop_privileges(const config::Config& cfg) {
  if (!cfg.run_as_user && !cfg.run_as_group) return {};
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (cfg.run_as_user) {
    passwd* pw = getpwnam(cfg.run_as_user->c_str());
    if (!pw) return "server.run-as.user: no such user " + *cfg.run_as_user;
    uid = pw->pw_uid;
    gid = pw->pw_gid;  // the user's primary group unless a group is named
  }
  if (cfg.run_as_group) {
    group* gr = getgrnam(cfg.run_as_group->c_str());
    if (!gr) return "server.run-as.group: no such group " + *cfg.run_as_group;
    gid = gr->gr_gid;
  }
  // Order matters: groups while still root, the user last. KEEPCAPS keeps
  // the permitted set across setresuid; it is then cut to the one
  // capability below and KEEPCAPS is turned off again.
  const bool keep = prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0;
  if (setgroups(0, nullptr) != 0) return std::string("setgroups: ") + std::strerror(errno);
  if (setresgid(gid, gid, gid) != 0) return std::string("setresgid: ") + std::strerror(errno);
  if (setresuid(uid, uid, uid) != 0) return std::string("setresuid: ") + std::strerror(errno);
  const char* kept = "none";
  if (keep) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    data[0].permitted = data[0].effective = 1u << CAP_NET_BIND_SERVICE;
    if (syscall(SYS_capset, &header, data) == 0) kept = "net_bind_service";
    // Whatever happened, nothing else may stay: with KEEPCAPS off and the
    // capset refused, the permitted set still holds what root had.
    if (std::strcmp(kept, "none") == 0) {
      data[0].permitted = data[0].effective = 0;
      if (syscall(SYS_capset, &header, data) != 0)
        return std::string("capset: ") + std::strerror(errno);
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  log::info("privileges.dropped", "uid={} gid={} kept={}", uid, gid, kept);
  return {};
}

void sd_notify(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::size_t len = std::strlen(path);
  if (len >= sizeof sun.sun_path) return;
  std::memcpy(sun.sun_path, path, len);
  if (sun.sun_path[0] == '@') sun.sun_path[0] = '\0';  // abstract namespace
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  socklen_t sl = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  if (sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sun), sl) <
      0)
    log::warn("sd_notify.failed", "error={}", log::quote(std::strerror(errno)));
  close(fd);
}

}  // namespace ringmx::core
