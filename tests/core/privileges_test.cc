// run-as: after the drop the server keeps CAP_NET_BIND_SERVICE and nothing
// else, so a reload can still add a listener on a port below 1024.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "tests/core/server_fixture.h"
#include "tests/core/server_process.h"

namespace ringmx::test {
namespace {

// A port below 1024 that 127.0.0.1 can bind now, or 0.
int free_low_port() {
  for (int port = 990; port > 700; --port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (ok) return port;
  }
  return 0;
}

std::map<std::string, std::string> proc_status(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(status, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto value = line.find_first_not_of("\t ", colon + 1);
    fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return fields;
}

std::string config(int port, const std::string& extra_listener) {
  return fmt::format(R"(
[server]
run-as = {{ user = "nobody", group = "nogroup" }}
shards = 2
hostname = "mx.test"
[server.listener.smtp]
bind = "127.0.0.1:{}"
{}
[spool]
path = "spool"
)",
                     port, extra_listener);
}

class PrivilegesTest : public ServerFixture {};

TEST_F(PrivilegesTest, RunAsKeepsOnlyNetBindServiceAndReloadBindsALowPort) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const int low = free_low_port();
  ASSERT_NE(low, 0) << "no free port below 1024 on 127.0.0.1";
  std::filesystem::permissions(dir_.path(),
                               std::filesystem::perms::all);  // nobody writes the spool
  const int port = free_port();
  ASSERT_TRUE(server_.start(config(port, ""), dir_.path())) << server_.log_text();
  EXPECT_TRUE(server_.wait_for_log({"event=privileges.dropped", "kept=net_bind_service"}));

  // Every thread (the shards too): CAP_NET_BIND_SERVICE (bit 10) only.
  const std::string task_dir = fmt::format("/proc/{}/task", server_.pid());
  int threads = 0;
  for (const auto& t : std::filesystem::directory_iterator(task_dir)) {
    const auto f = proc_status(std::stoi(t.path().filename().string()));
    SCOPED_TRACE("thread " + t.path().filename().string());
    EXPECT_EQ(f.at("Uid"), "65534\t65534\t65534\t65534");
    EXPECT_EQ(f.at("CapEff"), "0000000000000400");
    EXPECT_EQ(f.at("CapPrm"), "0000000000000400");
    EXPECT_EQ(f.at("CapInh"), "0000000000000000");
    EXPECT_EQ(f.at("CapAmb"), "0000000000000000");
    ++threads;
  }
  EXPECT_GE(threads, 3);  // main and two shards

  const std::size_t mark = server_.log_size();
  server_.rewrite(config(port, fmt::format("[server.listener.low]\nbind = \"127.0.0.1:{}\"", low)));
  server_.signal(SIGHUP);
  ASSERT_TRUE(server_.wait_for_log({"event=reload.done"}, 20000, mark)) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", low));
  EXPECT_EQ(c.reply().substr(0, 11), "220 mx.test");
}

}  // namespace
}  // namespace ringmx::test
