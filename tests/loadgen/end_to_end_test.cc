// ringmx-bench run as a user runs it, against Postfix's smtp-sink on a free
// loopback port: the counts in its JSON, its exit status, and smtp-sink's
// own count of messages must agree.
#include <string>
#include <vector>

#include "tests/loadgen/test_support.h"

namespace {

using namespace ringmx::loadgen::testing;

constexpr const char* kSmtpSink = "/usr/sbin/smtp-sink";

class LoadgenEndToEnd : public BenchFixture {
 protected:
  void SetUp() override {
    BenchFixture::SetUp();
    if (access(kSmtpSink, X_OK) != 0) GTEST_SKIP() << "smtp-sink (postfix) is not installed";
  }

  void TearDown() override {
    stop_process(sink_);
    BenchFixture::TearDown();
  }

  // Starts smtp-sink with `flags` and waits until it accepts connections.
  void start_sink(std::vector<std::string> flags, const std::string& host = "127.0.0.1") {
    host_ = host;
    port_ = free_port();
    std::vector<std::string> args = {kSmtpSink, "-c"};
    if (geteuid() == 0) args.insert(args.end(), {"-u", "nobody"});  // required as root
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(host + ":" + std::to_string(port_));
    args.push_back("256");  // listen backlog
    sink_ = spawn(args, dir_ + "/sink.out", dir_ + "/sink.err");
    ASSERT_GT(sink_, 0);
    ASSERT_TRUE(wait_for_port(port_, host == "[::1]")) << read_file(dir_ + "/sink.err");
  }

  void stop_sink() { stop_process(sink_); }

  // smtp-sink -c prints "sess=N quit=N mesg=N" each time a count changes.
  long sink_messages() {
    auto out = read_file(dir_ + "/sink.out");
    auto at = out.rfind("mesg=");
    return at == std::string::npos ? -1 : std::strtol(out.c_str() + at + 5, nullptr, 10);
  }

  int bench(std::vector<std::string> flags, int port = 0) {
    return BenchFixture::bench(port ? port : port_, std::move(flags), host_);
  }

  std::string host_ = "127.0.0.1";
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

TEST_F(LoadgenEndToEnd, Ipv6Loopback) {
  start_sink({}, "[::1]");
  ASSERT_EQ(bench({"--messages", "50", "--connections", "5"}), 0) << json_;
  EXPECT_EQ(field("messages_ok"), 50);
  EXPECT_EQ(field("errors"), 0);
  stop_sink();
  EXPECT_EQ(sink_messages(), 50);
}

TEST_F(LoadgenEndToEnd, UnpipelinedSmtpReusingSessions) {
  start_sink({});
  // Each session carries up to 20 messages. A session that finished its 20
  // hands its slot to a new one that takes from the same budget, so the
  // split depends on timing; but only the sessions open when the budget ran
  // out (at most 10) carry fewer than 20: 10 <= sessions <= 10 + 200 / 20.
  ASSERT_EQ(bench({"--messages", "200", "--connections", "10", "--pipelining", "off",
                   "--per-connection", "20", "--threads", "1"}),
            0)
      << json_;
  EXPECT_EQ(field("messages_ok"), 200);
  EXPECT_EQ(field("errors"), 0);
  EXPECT_GE(field("sessions"), 10);
  EXPECT_LE(field("sessions"), 20);
  stop_sink();
  EXPECT_EQ(sink_messages(), 200);
}

TEST_F(LoadgenEndToEnd, PinnedThreadsCarryEveryMessage) {
  start_sink({});
  ASSERT_EQ(bench({"--messages", "200", "--connections", "10", "--threads", "2", "--pin", "on"}), 0)
      << json_;
  EXPECT_EQ(field("messages_ok"), 200);
  EXPECT_EQ(field("errors"), 0);
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

TEST_F(LoadgenEndToEnd, SilentServerTimesOutAtTheStep) {
  start_sink({"-w", "5"});  // waits 5 s before answering DATA
  // Unpipelined, so that MAIL and RCPT are answered before the DATA that
  // stalls (pipelined, smtp-sink holds back the whole group's replies).
  EXPECT_EQ(bench({"--messages", "4", "--connections", "2", "--pipelining", "off",
                   "--reply-timeout", "200ms"}),
            1);
  EXPECT_EQ(field("messages_failed"), 4);
  EXPECT_NE(json_.find("\"data timeout\": 4"), std::string::npos) << json_;
}

TEST_F(LoadgenEndToEnd, DisconnectMidTransactionIsCounted) {
  start_sink({"-q", "RCPT"});  // hangs up, without a reply, at RCPT
  EXPECT_EQ(bench({"--messages", "10", "--connections", "2"}), 1);
  EXPECT_EQ(field("messages_failed"), 10);
  EXPECT_NE(json_.find("\"rcpt closed\": 10"), std::string::npos) << json_;
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
  // t=0, so a couple more may fall due on the boundary. On a loaded machine
  // some fall due while no session is free before the deadline: those are
  // reported as never started, not lost, so the three add up to the schedule.
  const auto scheduled =
      field("messages_ok") + field("messages_failed") + field("messages_unstarted");
  EXPECT_GE(scheduled, 195);
  EXPECT_LE(scheduled, 203);
  EXPECT_GE(field("messages_ok"), 100);
  EXPECT_EQ(field("messages_failed"), 0);
  EXPECT_EQ(field("errors"), 0);
}

TEST_F(LoadgenEndToEnd, OpenLoopOverloadShowsQueueingNotOmission) {
  start_sink({});
  // 100,000/s due on 2 connections: far more than they can carry. Latency
  // counts from each message's scheduled time, so the queue shows in it, and
  // what never found a session is reported rather than dropped.
  ASSERT_EQ(bench({"--rate", "100000/s", "--duration", "300ms", "--connections", "2",
                   "--per-connection", "0"}),
            0)
      << json_;
  EXPECT_GT(field("messages_ok"), 0);
  EXPECT_GT(field("messages_unstarted"), 0);
  EXPECT_GE(field("messages_ok") + field("messages_unstarted"), 29000);
  EXPECT_GT(field("p99", "transaction"), 100'000'000);  // ns: waited in the queue
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
