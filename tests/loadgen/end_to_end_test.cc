// ringmx-bench run as a user runs it, against Postfix's smtp-sink on a free
// loopback port: the counts in its JSON, its exit status, and smtp-sink's
// own count of messages must agree.
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
#include <regex>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr const char* kSmtpSink = "/usr/sbin/smtp-sink";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A port nobody listens on right now: bind port 0 and let the kernel choose.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool can_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
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

class LoadgenEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/ringmx-loadgen-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    bench_ = RINGMX_BENCH_PATH;
    ASSERT_EQ(access(bench_.c_str(), X_OK), 0) << bench_;
    if (access(kSmtpSink, X_OK) != 0) GTEST_SKIP() << "smtp-sink (postfix) is not installed";
  }

  void TearDown() override {
    stop_sink();
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }

  // Starts smtp-sink with `flags` and waits until it accepts connections.
  void start_sink(std::vector<std::string> flags) {
    port_ = free_port();
    std::vector<std::string> args = {kSmtpSink, "-c"};
    if (geteuid() == 0) args.insert(args.end(), {"-u", "nobody"});  // required as root
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("127.0.0.1:" + std::to_string(port_));
    args.push_back("256");  // listen backlog
    sink_ = spawn(args, dir_ + "/sink.out", dir_ + "/sink.err");
    ASSERT_GT(sink_, 0);
    // Bounded retries: smtp-sink has no readiness signal, so poll the port.
    bool up = false;
    for (int i = 0; i < 500 && !up; ++i) {
      up = can_connect(port_);
      if (!up) {
        timespec pause{0, 10'000'000};
        nanosleep(&pause, nullptr);
      }
    }
    ASSERT_TRUE(up) << read_file(dir_ + "/sink.err");
  }

  void stop_sink() {
    if (sink_ <= 0) return;
    kill(sink_, SIGTERM);
    int status = 0;
    waitpid(sink_, &status, 0);
    sink_ = -1;
  }

  // smtp-sink -c prints "sess=N quit=N mesg=N" each time a count changes.
  long sink_messages() {
    auto out = read_file(dir_ + "/sink.out");
    long last = -1;
    std::regex mesg("mesg=([0-9]+)");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), mesg); it != std::sregex_iterator();
         ++it)
      last = std::stol((*it)[1]);
    return last;
  }

  // Runs ringmx-bench to the end; returns its exit status.
  int bench(std::vector<std::string> flags, int port = 0) {
    std::vector<std::string> args = {bench_,
                                     "--target",
                                     "127.0.0.1:" + std::to_string(port ? port : port_),
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

  long field(const std::string& name) {
    std::smatch m;
    std::regex re("\"" + name + "\": ([0-9]+)");
    if (!std::regex_search(json_, m, re)) {
      ADD_FAILURE() << name << " not in " << json_;
      return -1;
    }
    return std::stol(m[1]);
  }

  std::string dir_;
  std::string bench_;
  std::string json_;
  int port_ = 0;
  pid_t sink_ = -1;
};

TEST_F(LoadgenEndToEnd, PipelinedSmtp) {
  start_sink({});
  ASSERT_EQ(bench({"--messages", "200", "--connections", "10"}), 0) << json_;
  EXPECT_EQ(field("messages_ok"), 200);
  EXPECT_EQ(field("messages_failed"), 0);
  EXPECT_EQ(field("errors"), 0);
  EXPECT_EQ(field("sessions"), 200);  // --per-connection 1 by default
  EXPECT_EQ(field("connect_failures"), 0);
  EXPECT_GE(field("bytes_sent"), 200 * 1024);
  EXPECT_EQ(read_file(dir_ + "/bench.err"), "");  // not a terminal: no progress line
  EXPECT_NE(read_file(dir_ + "/bench.out").find("transaction"), std::string::npos);
  stop_sink();
  EXPECT_EQ(sink_messages(), 200);
}

TEST_F(LoadgenEndToEnd, UnpipelinedSmtpReusingSessions) {
  start_sink({});
  // One thread, so that each of the 10 sessions carries exactly 20 messages
  // (with more, a faster thread takes more of the shared budget).
  ASSERT_EQ(bench({"--messages", "200", "--connections", "10", "--pipelining", "off",
                   "--per-connection", "20", "--threads", "1"}),
            0)
      << json_;
  EXPECT_EQ(field("messages_ok"), 200);
  EXPECT_EQ(field("errors"), 0);
  EXPECT_EQ(field("sessions"), 10);
  stop_sink();
  EXPECT_EQ(sink_messages(), 200);
}

TEST_F(LoadgenEndToEnd, LmtpWithThreeRecipients) {
  start_sink({"-L"});
  ASSERT_EQ(bench({"--messages", "200", "--connections", "10", "--protocol", "lmtp", "--recipients",
                   "3"}),
            0)
      << json_;
  EXPECT_EQ(field("messages_ok"), 200);
  EXPECT_EQ(field("errors"), 0);
  stop_sink();
  EXPECT_EQ(sink_messages(), 200);
}

TEST_F(LoadgenEndToEnd, RejectedRecipientsAreCountedByCode) {
  start_sink({"-f", "RCPT"});  // 500 to every RCPT (and no PIPELINING, implied)
  EXPECT_EQ(bench({"--messages", "50", "--connections", "5", "--pipelining", "off"}), 1);
  EXPECT_EQ(field("messages_ok"), 0);
  EXPECT_EQ(field("messages_failed"), 50);
  EXPECT_EQ(field("errors"), 50);
  EXPECT_NE(json_.find("\"rcpt 500\": 50"), std::string::npos) << json_;
}

TEST_F(LoadgenEndToEnd, PipeliningRequestedButNotOffered) {
  start_sink({"-p"});
  EXPECT_EQ(bench({"--messages", "20", "--connections", "2"}), 1);
  EXPECT_EQ(field("messages_failed"), 20);
  EXPECT_NE(json_.find("\"hello no PIPELINING\": 20"), std::string::npos) << json_;
}

TEST_F(LoadgenEndToEnd, RefusedConnectsEndTheRun) {
  int nobody = free_port();
  EXPECT_EQ(bench({"--messages", "30", "--connections", "3"}, nobody), 1);
  EXPECT_EQ(field("connect_failures"), 30);
  EXPECT_EQ(field("messages_failed"), 30);
  EXPECT_NE(json_.find("\"connect ECONNREFUSED\": 30"), std::string::npos) << json_;
}

TEST_F(LoadgenEndToEnd, OpenLoopRateForADuration) {
  start_sink({});
  ASSERT_EQ(bench({"--rate", "400/s", "--duration", "500ms", "--connections", "10",
                   "--per-connection", "0"}),
            0)
      << json_;
  // 400/s for 0.5 s schedules 200 messages; each worker's schedule starts at
  // t=0, so a couple more may fall due on the boundary.
  EXPECT_GE(field("messages_ok"), 195);
  EXPECT_LE(field("messages_ok"), 203);
  EXPECT_EQ(field("errors"), 0);
}

TEST_F(LoadgenEndToEnd, HoldIdleKeepsSessionsOpen) {
  start_sink({});
  ASSERT_EQ(bench({"--hold-idle", "100", "--duration", "500ms"}), 0) << json_;
  EXPECT_EQ(field("held_idle"), 100);
  EXPECT_EQ(field("sessions"), 100);
  EXPECT_EQ(field("messages_ok"), 0);
  EXPECT_EQ(field("errors"), 0);
}

}  // namespace
