// ringmx-bench's STARTTLS, implicit TLS, SNI and BDAT against a small Python
// server (tls_smtp_server.py: smtp-sink has neither TLS nor CHUNKING), with a
// throw-away certificate made by openssl for each test.
#include <string>
#include <vector>

#include "tests/loadgen/test_support.h"

namespace {

using namespace ringmx::loadgen::testing;

class LoadgenTlsEndToEnd : public BenchFixture {
 protected:
  void SetUp() override {
    BenchFixture::SetUp();
    if (access("/usr/bin/openssl", X_OK) != 0 || access("/usr/bin/python3", X_OK) != 0)
      GTEST_SKIP() << "needs openssl and python3";
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout '" +
        dir_ + "/key.pem' -out '" + dir_ +
        "/cert.pem' -days 2 "
        "-subj /CN=mx.bench.test 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  void TearDown() override {
    stop_process(server_);
    BenchFixture::TearDown();
  }

  void start_server(std::vector<std::string> flags) {
    port_ = free_port();
    std::vector<std::string> args = {
        "/usr/bin/python3", RINGMX_TLS_SERVER,      "--port", std::to_string(port_),
        "--cert",           dir_ + "/cert.pem",     "--key",  dir_ + "/key.pem",
        "--report",         dir_ + "/server.report"};
    args.insert(args.end(), flags.begin(), flags.end());
    server_ = spawn(args, dir_ + "/server.out", dir_ + "/server.err");
    ASSERT_GT(server_, 0);
    ASSERT_TRUE(wait_for_port(port_)) << read_file(dir_ + "/server.err");
  }

  // "messages=N sni=a,b peers=x,y", written by the server when it is stopped.
  std::string server_report() {
    stop_process(server_);
    return read_file(dir_ + "/server.report");
  }

  int port_ = 0;
  pid_t server_ = -1;
};

TEST_F(LoadgenTlsEndToEnd, StartTlsWithSni) {
  start_server({"--mode", "starttls"});
  ASSERT_EQ(bench(port_, {"--messages", "40", "--connections", "4", "--tls", "starttls", "--sni",
                          "mx.bench.test"}),
            0)
      << json_ << read_file(dir_ + "/server.err");
  EXPECT_EQ(field("messages_ok"), 40);
  EXPECT_EQ(field("errors"), 0);
  EXPECT_NE(json_.find("\"tls\": {\"count\": 40"), std::string::npos) << json_;
  // Past the handshake every session's records went through tls::RecordLayer.
  EXPECT_EQ(field("tls_record_layer_sessions"), 40);
  EXPECT_EQ(server_report(), "messages=40 sni=mx.bench.test peers=127.0.0.1\n");
}

// Bodies of many records each, sealed by the record layer, read by OpenSSL.
TEST_F(LoadgenTlsEndToEnd, BigBodiesOverStartTls) {
  start_server({"--mode", "starttls"});
  ASSERT_EQ(bench(port_, {"--messages", "4", "--connections", "2", "--tls", "starttls", "--size",
                          "3m", "--per-connection", "2"}),
            0)
      << json_ << read_file(dir_ + "/server.err");
  EXPECT_EQ(field("messages_ok"), 4);
  EXPECT_EQ(field("errors"), 0);
  EXPECT_EQ(field("tls_record_layer_sessions"), 2);
  EXPECT_GT(field("bytes_sent"), 4 * 3 * 1024 * 1024);
  EXPECT_EQ(server_report(), "messages=4 sni= peers=127.0.0.1\n");
}

TEST_F(LoadgenTlsEndToEnd, ImplicitTlsLmtpWithBdat) {
  start_server({"--mode", "implicit", "--lmtp"});
  ASSERT_EQ(bench(port_, {"--messages", "40", "--connections", "4", "--tls", "implicit",
                          "--protocol", "lmtp", "--recipients", "2", "--bdat", "--per-connection",
                          "5", "--threads", "1"}),
            0)
      << json_ << read_file(dir_ + "/server.err");
  EXPECT_EQ(field("messages_ok"), 40);
  EXPECT_EQ(field("sessions"), 8);
  EXPECT_EQ(field("tls_record_layer_sessions"), 8);
  EXPECT_EQ(field("errors"), 0);
  EXPECT_EQ(server_report(), "messages=40 sni= peers=127.0.0.1\n");  // no --sni, no server_name
}

TEST_F(LoadgenTlsEndToEnd, StartTlsNotOfferedIsAnError) {
  start_server({"--mode", "implicit"});
  // Plain SMTP against a TLS port: the greeting never comes in clear text.
  EXPECT_EQ(bench(port_, {"--messages", "4", "--connections", "2", "--tls", "starttls",
                          "--reply-timeout", "300ms"}),
            1);
  EXPECT_EQ(field("messages_ok"), 0);
  EXPECT_EQ(field("messages_failed"), 4);
  EXPECT_EQ(field("errors"), 4);
}

// Here only because this server reports its peers; TLS is not involved.
TEST_F(LoadgenTlsEndToEnd, SourceAddressesAreBoundInTurn) {
  start_server({"--mode", "starttls"});
  ASSERT_EQ(bench(port_, {"--messages", "30", "--connections", "3", "--source-addresses",
                          "127.0.0.2-127.0.0.4"}),
            0)
      << json_ << read_file(dir_ + "/server.err");
  EXPECT_EQ(field("messages_ok"), 30);
  // 127.0.0.1 is this test's own readiness probe; the rest are ringmx-bench.
  EXPECT_EQ(server_report(), "messages=30 sni= peers=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4\n");
}

}  // namespace
