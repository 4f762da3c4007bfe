// Test support: the runtime as a child process (ringmx_core_serve), its log
// read back line by line, and small blocking clients. Waiting is always on
// an event (a log line, a reply, a process exit) with a bound, never a sleep.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ringmx::test {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A TCP port nothing listens on right now (bound to :0 and released).
int free_port();

class ServerProcess {
 public:
  ~ServerProcess();
  // Writes `toml` to dir/ringmx.toml and starts the server on it. Waits for
  // `event=ready` (true) or for the process to exit first (false).
  bool start(const std::string& toml, const std::filesystem::path& dir);
  // Extra environment ("NAME=value") for the next start().
  std::vector<std::string> env;
  // Rewrites the configuration file (for SIGHUP).
  void rewrite(const std::string& toml);
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }
  void signal(int sig);
  // Exit code, or -1 when it did not exit within the bound (then killed).
  int wait_exit(int timeout_ms = 30000);
  // Waits until a log line at index >= `from` contains every needle.
  bool wait_for_log(const std::vector<std::string>& needles, int timeout_ms = 20000,
                    std::size_t from = 0);
  std::size_t log_size();
  std::string log_text();
  int count_log(std::string_view needle);

 private:
  void read_log(int fd);

  pid_t pid_ = -1;
  std::filesystem::path config_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  int status_ = -1;
  bool reaped_ = false;
};

// A blocking SMTP client for exact-reply tests.
class Client {
 public:
  ~Client();
  bool connect(const std::string& host, int port, int family = 0);
  bool send(std::string_view bytes);
  // One whole reply (every "xyz-" line up to the "xyz " one), or "" on EOF
  // or when nothing came within the bound.
  std::string reply(int timeout_ms = 10000);
  // True when the server closed the connection (EOF) within the bound.
  bool closed(int timeout_ms = 10000);
  int fd() const { return fd_; }
  void close();

 private:
  int fd_ = -1;
  std::string buffer_;
};

// Runs a shell command; its exit code, stdout+stderr in `output`.
int run(const std::string& command, std::string* output = nullptr);

}  // namespace ringmx::test
