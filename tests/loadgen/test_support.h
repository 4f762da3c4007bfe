// Helpers for the end-to-end tests: child processes, free ports, files,
// and running ringmx-bench with --json and reading its fields back.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/free_port.h"

extern char** environ;

namespace ringmx::loadgen::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A port for a server the test starts (tests/free_port.h).
inline int free_port() {
  return test_support::free_loopback_port();
}

inline bool can_connect(int port, bool ipv6 = false) {
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  bool ok = false;
  if (ipv6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  close(fd);
  return ok;
}

inline pid_t spawn(const std::vector<std::string>& args, const std::string& out,
                   const std::string& err) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&files, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &files, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&files);
  return pid;
}

// Waits for a server that has no readiness signal by retrying connect a
// bounded number of times.
inline bool wait_for_port(int port, bool ipv6 = false) {
  for (int i = 0; i < 500; ++i) {
    if (can_connect(port, ipv6)) return true;
    timespec pause{0, 10'000'000};
    nanosleep(&pause, nullptr);
  }
  return false;
}

inline void stop_process(pid_t& pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  pid = -1;
}

// A scratch directory and ringmx-bench runs with their JSON result.
class BenchFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/ringmx-loadgen-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    bench_ = RINGMX_BENCH_PATH;
    ASSERT_EQ(access(bench_.c_str(), X_OK), 0) << bench_;
  }

  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }

  // Runs ringmx-bench against 127.0.0.1:port to the end; returns its exit status.
  int bench(int port, std::vector<std::string> flags, const std::string& host = "127.0.0.1") {
    std::vector<std::string> args = {bench_,
                                     "--target",
                                     host + ":" + std::to_string(port),
                                     "--json",
                                     dir_ + "/result.json",
                                     "--reply-timeout",
                                     "20s"};
    args.insert(args.end(), flags.begin(), flags.end());
    pid_t pid = spawn(args, dir_ + "/bench.out", dir_ + "/bench.err");
    EXPECT_GT(pid, 0);
    int status = 0;
    waitpid(pid, &status, 0);
    json_ = read_file(dir_ + "/result.json");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // The number after "name": in the JSON, or in its "section": {...} (no std::regex: GCC 12 warns
  // inside it under ASan, and -Werror is on).
  long field(const std::string& name, const std::string& section = {}) {
    auto key = "\"" + name + "\": ";
    auto from = section.empty() ? 0 : json_.find("\"" + section + "\": {");
    auto at = from == std::string::npos ? from : json_.find(key, from);
    if (at == std::string::npos) {
      ADD_FAILURE() << name << " not in " << json_;
      return -1;
    }
    return std::strtol(json_.c_str() + at + key.size(), nullptr, 10);
  }

  std::string dir_;
  std::string bench_;
  std::string json_;
};

}  // namespace ringmx::loadgen::testing
