// Connection steering (server.connection-steering): with "cpu" every
// shard's copy of an SO_REUSEPORT address carries SO_INCOMING_CPU = the
// shard's CPU, and a connection whose SYN was processed on CPU k (on
// loopback: the CPU the connecting thread runs on) is served by the shard
// pinned to k. With "hash" the option is cleared and the kernel's flow hash
// spreads one CPU's connections over every shard.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>

#include <fmt/format.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/cpus.h"
#include "tests/core/remote_sockets.h"
#include "tests/core/server_fixture.h"
#include "tests/core/server_process.h"

namespace ringmx::test {
namespace {

std::string config(int port, const std::string& steering) {
  return fmt::format(R"(
[server]
shards = 2
hostname = "mx.test"
{}
[server.listener.smtp]
bind = "127.0.0.1:{}"
[spool]
path = "spool"
)",
                     steering.empty() ? "" : fmt::format("connection-steering = \"{}\"", steering),
                     port);
}

// Runs the calling thread on `cpu` until destroyed.
class PinnedTo {
 public:
  explicit PinnedTo(int cpu) {
    sched_getaffinity(0, sizeof saved_, &saved_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ok_ = sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~PinnedTo() { sched_setaffinity(0, sizeof saved_, &saved_); }
  bool ok() const { return ok_; }

 private:
  cpu_set_t saved_;
  bool ok_ = false;
};

// Pairs "shard=N <key>=V" from the log lines of `event`, e.g. the CPU of each
// shard (event=shard.ring ... cpu=) or the shard of each fd (listener.bound ... fd=).
std::map<int, int> shard_values(const std::string& log, const std::string& event,
                                const std::string& key) {
  std::map<int, int> out;
  const std::regex line("event=" + event + " [^\n]*shard=(\\d+)[^\n]* " + key + "=(\\d+)");
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
    out[std::stoi((*it)[1])] = std::stoi((*it)[2]);
  return out;
}

// The shard that served the connection from local port `port` (its
// conn.close line), or -1.
int served_by(ServerProcess& server, int port) {
  const std::string client = fmt::format("client=127.0.0.1:{} ", port);
  if (!server.wait_for_log({"event=conn.close", client})) return -1;
  const std::string log = server.log_text();
  const std::regex line("event=conn.close shard=(\\d+)[^\n]*" + client);
  std::smatch m;
  return std::regex_search(log, m, line) ? std::stoi(m[1]) : -1;
}

int local_port(int fd) {
  const std::string local = local_of(fd);
  return std::stoi(local.substr(local.rfind(':') + 1));
}

// One whole session from the calling thread; returns its local port.
int one_session(int port) {
  Client c;
  if (!c.connect("127.0.0.1", port)) return -1;
  if (c.reply().substr(0, 3) != "220") return -1;
  const int local = local_port(c.fd());
  c.send("QUIT\r\n");
  if (c.reply().substr(0, 3) != "221") return -1;
  return local;
}

// listening fd (in the server) -> SO_INCOMING_CPU read back.
std::map<int, int> incoming_cpus(pid_t pid) {
  std::map<int, int> out;
  for (const RemoteSocket& r : server_sockets(pid)) {
    if (r.listening) out[r.remote_fd] = opt(r.fd, SOL_SOCKET, SO_INCOMING_CPU);
    close(r.fd);
  }
  return out;
}

class SteeringTest : public ServerFixture {
 protected:
  int port_ = free_port();
};

TEST_F(SteeringTest, CpuIsTheDefaultAndEachShardsSocketCarriesItsCpu) {
  ASSERT_TRUE(server_.start(config(port_, ""), dir_.path())) << server_.log_text();
  EXPECT_TRUE(server_.wait_for_log({"event=ready", "steering=cpu"}));
  const std::string log = server_.log_text();
  const std::map<int, int> cpu_of_shard = shard_values(log, "shard.ring", "cpu");
  const std::map<int, int> shard_of_fd = shard_values(log, "listener.bound", "fd");
  ASSERT_EQ(cpu_of_shard.size(), 2u) << log;
  ASSERT_EQ(shard_of_fd.size(), 2u) << log;
  const std::map<int, int> cpus = incoming_cpus(server_.pid());
  for (const auto& [shard, fd] : shard_of_fd) {
    ASSERT_TRUE(cpus.count(fd)) << "fd " << fd;
    EXPECT_EQ(cpus.at(fd), cpu_of_shard.at(shard)) << "shard " << shard;
  }
}

TEST_F(SteeringTest, ConnectionsGoToTheShardOnTheClientsCpu) {
  const std::vector<int> cpus = core::allowed_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
  ASSERT_TRUE(server_.start(config(port_, "cpu"), dir_.path())) << server_.log_text();
  std::map<int, int> shard_on_cpu;  // cpu -> shard
  for (const auto& [shard, cpu] : shard_values(server_.log_text(), "shard.ring", "cpu"))
    shard_on_cpu[cpu] = shard;
  for (int cpu : {cpus[0], cpus[1]}) {
    ASSERT_TRUE(shard_on_cpu.count(cpu)) << server_.log_text();
    PinnedTo pin(cpu);
    ASSERT_TRUE(pin.ok());
    for (int i = 0; i < 8; ++i) {
      const int local = one_session(port_);
      ASSERT_GT(local, 0);
      EXPECT_EQ(served_by(server_, local), shard_on_cpu[cpu]) << "client on cpu " << cpu;
    }
  }
}

TEST_F(SteeringTest, HashClearsTheCpuAndSpreadsOneCpusConnections) {
  const std::vector<int> cpus = core::allowed_cpus();
  ASSERT_TRUE(server_.start(config(port_, "hash"), dir_.path())) << server_.log_text();
  EXPECT_TRUE(server_.wait_for_log({"event=ready", "steering=hash"}));
  for (const auto& [fd, cpu] : incoming_cpus(server_.pid()))
    EXPECT_EQ(cpu, -1) << "fd " << fd;
  // From one CPU, 64 connections land on both shards (all on one would have
  // a chance of 2^-63 with the hash).
  PinnedTo pin(cpus[0]);
  std::set<int> shards;
  for (int i = 0; i < 64; ++i) {
    const int local = one_session(port_);
    ASSERT_GT(local, 0);
    shards.insert(served_by(server_, local));
  }
  EXPECT_EQ(shards, (std::set<int>{0, 1}));
}

TEST_F(SteeringTest, ReloadSwitchesTheSteeringOnTheSameSockets) {
  ASSERT_TRUE(server_.start(config(port_, "cpu"), dir_.path())) << server_.log_text();
  const std::map<int, int> before = incoming_cpus(server_.pid());
  for (const auto& [fd, cpu] : before)
    EXPECT_GE(cpu, 0) << "fd " << fd;
  const std::size_t mark = server_.log_size();
  server_.rewrite(config(port_, "hash"));
  server_.signal(SIGHUP);
  ASSERT_TRUE(server_.wait_for_log({"event=reload.done"}, 20000, mark)) << server_.log_text();
  const std::map<int, int> after = incoming_cpus(server_.pid());
  EXPECT_EQ(after.size(), before.size());  // the same listening sockets, kept
  for (const auto& [fd, cpu] : after) {
    EXPECT_TRUE(before.count(fd)) << "fd " << fd;
    EXPECT_EQ(cpu, -1) << "fd " << fd;
  }
}

}  // namespace
}  // namespace ringmx::test
