// The runtime end to end: the server as a process with two shards,
// listeners on loopback addresses, real clients (this file's blocking
// client, swaks, Python smtplib, smtp-source), messages read back from the
// spool through its reader API.
#include <gtest/gtest.h>
#include <signal.h>

#include <fmt/format.h>

#include <string>

#include "delivery/spool_reader.h"
#include "tests/core/server_process.h"

namespace ringmx::test {
namespace {

// The configuration used by most tests: two shards, an SMTP listener on
// 127.0.0.1 and 127.0.0.2, an LMTP listener on [::1].
struct Ports {
  int smtp = free_port();
  int smtp2 = free_port();
  int lmtp = free_port();
};

std::string base_config(const Ports& p, const std::string& extra = "") {
  return fmt::format(R"(
[server]
shards = 2
hostname = "mx.test"
shutdown-timeout = "20s"
[server.listener.smtp]
bind = ["127.0.0.1:{}", "127.0.0.2:{}"]
[server.listener.lmtp]
bind = "[::1]:{}"
protocol = "lmtp"
[spool]
path = "spool"
{}
)",
                     p.smtp, p.smtp2, p.lmtp, extra);
}

std::vector<delivery::MessageView> stored(const delivery::SpoolReader& r) {
  return r.messages();
}

// The stored message is our Received header followed by exactly the bytes
// the client sent (dot-unstuffed).
void expect_stored(const delivery::SpoolReader& reader, const delivery::MessageView& m,
                   const std::string& body) {
  std::string bytes = reader.read_body(m);
  ASSERT_GE(bytes.size(), body.size());
  EXPECT_EQ(bytes.compare(0, 10, "Received: "), 0) << bytes;
  EXPECT_EQ(bytes.substr(bytes.size() - body.size()), body);
}

class ServerTest : public ::testing::Test {
 protected:
  std::filesystem::path spool() const { return dir_.path() / "spool"; }
  TempDir dir_;
  Ports ports_;
  ServerProcess server_;
};

TEST_F(ServerTest, LockStepSessionIsStoredByteForByte) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(c.reply().substr(0, 12), "220 mx.test ");
  c.send("EHLO client.test\r\n");
  EXPECT_EQ(c.reply().substr(0, 4), "250-");
  c.send("MAIL FROM:<alice@client.test>\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  c.send("RCPT TO:<bob@mx.test>\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  c.send("DATA\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "354");
  const std::string body = "Subject: hi\r\n\r\nline one\r\n..dot line\r\nend\r\n";
  c.send(body + ".\r\n");
  std::string queued = c.reply();
  EXPECT_EQ(queued.substr(0, 24), "250 2.0.0 Ok: queued as ") << queued;
  c.send("QUIT\r\n");
  EXPECT_EQ(c.reply().substr(0, 3), "221");
  EXPECT_TRUE(c.closed());

  delivery::SpoolReader reader(spool());
  auto msgs = stored(reader);
  ASSERT_EQ(msgs.size(), 1u);
  expect_stored(reader, msgs[0], "Subject: hi\r\n\r\nline one\r\n.dot line\r\nend\r\n");
  EXPECT_EQ(msgs[0].message->envelope.mail_from, "alice@client.test");
  ASSERT_EQ(msgs[0].message->envelope.rcpt_to.size(), 1u);
  EXPECT_EQ(msgs[0].message->envelope.rcpt_to[0].address, "bob@mx.test");
  EXPECT_EQ(msgs[0].message->envelope.listener, "smtp");
  EXPECT_EQ(msgs[0].message->envelope.client.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(queued.find(msgs[0].queue_id), std::string::npos);
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=quit", "mail=1"}));
}

}  // namespace
}  // namespace ringmx::test
