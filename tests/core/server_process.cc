#include "tests/core/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "tests/free_port.h"

namespace ringmx::test {

TempDir::TempDir() {
  char tmpl[] = "/tmp/ringmx-core-XXXXXX";
  path_ = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int free_port() {
  return test_support::free_loopback_port();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
}

bool ServerProcess::start(const std::string& toml, const std::filesystem::path& dir) {
  config_ = dir / "ringmx.toml";
  rewrite(toml);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return false;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipefd[1], 2);
    dup2(pipefd[1], 1);
    if (chdir(dir.c_str()) != 0) _exit(126);
    for (std::string& e : env)
      putenv(e.data());
    execl(RINGMX_CORE_SERVE, RINGMX_CORE_SERVE, "--config", config_.c_str(), nullptr);
    _exit(127);
  }
  ::close(pipefd[1]);
  reader_ = std::thread([this, fd = pipefd[0]] { read_log(fd); });
  std::unique_lock<std::mutex> lock(mu_);
  const bool ok = cv_.wait_for(lock, std::chrono::seconds(30), [&] {
    if (eof_) return true;
    for (const auto& l : lines_)
      if (l.find("event=ready") != std::string::npos) return true;
    return false;
  });
  if (!ok) return false;
  for (const auto& l : lines_)
    if (l.find("event=ready") != std::string::npos) return true;
  return false;
}

void ServerProcess::rewrite(const std::string& toml) {
  std::ofstream(config_) << toml;
}

void ServerProcess::read_log(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    partial.append(buf, static_cast<std::size_t>(n));
    std::size_t pos;
    std::lock_guard<std::mutex> lock(mu_);
    while ((pos = partial.find('\n')) != std::string::npos) {
      lines_.push_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
    }
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

void ServerProcess::signal(int sig) {
  kill(pid_, sig);
}

int ServerProcess::wait_exit(int timeout_ms) {
  if (!reaped_) {
    // A pidfd becomes readable when the process exits: an event, bounded.
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    pollfd p{pidfd, POLLIN, 0};
    const bool exited = pidfd >= 0 && poll(&p, 1, timeout_ms) == 1;
    if (pidfd >= 0) ::close(pidfd);
    if (!exited) kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
    reaped_ = true;
    if (reader_.joinable()) reader_.join();
    if (!exited) return -1;
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

bool ServerProcess::wait_for_log(const std::vector<std::string>& needles, int timeout_ms,
                                 std::size_t from) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    for (std::size_t i = from; i < lines_.size(); ++i) {
      bool all = true;
      for (const auto& n : needles)
        all = all && lines_[i].find(n) != std::string::npos;
      if (all) return true;
    }
    return eof_;
  }) && [&] {
    for (std::size_t i = from; i < lines_.size(); ++i) {
      bool all = true;
      for (const auto& n : needles)
        all = all && lines_[i].find(n) != std::string::npos;
      if (all) return true;
    }
    return false;
  }();
}

std::size_t ServerProcess::log_size() {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_.size();
}

std::string ServerProcess::log_text() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string all;
  for (const auto& l : lines_)
    all += l + "\n";
  return all;
}

int ServerProcess::count_log(std::string_view needle) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& l : lines_)
    n += l.find(needle) != std::string::npos;
  return n;
}

Client::~Client() {
  close();
}

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Client::connect(const std::string& host, int port, int family) {
  addrinfo hints{};
  hints.ai_family = family ? family : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
  fd_ = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  if (!ok) close();
  return ok;
}

bool Client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string Client::reply(int timeout_ms) {
  for (;;) {
    // A complete reply: lines up to one whose 4th byte is a space.
    std::size_t start = 0;
    for (;;) {
      std::size_t eol = buffer_.find("\r\n", start);
      if (eol == std::string::npos) break;
      if (eol - start >= 4 && buffer_[start + 3] == ' ') {
        std::string r = buffer_.substr(0, eol + 2);
        buffer_.erase(0, eol + 2);
        return r;
      }
      if (eol - start < 4) {  // malformed: hand it over as it is
        std::string r = buffer_.substr(0, eol + 2);
        buffer_.erase(0, eol + 2);
        return r;
      }
      start = eol + 2;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return "";
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

bool Client::closed(int timeout_ms) {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

int run(const std::string& command, std::string* output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace ringmx::test
