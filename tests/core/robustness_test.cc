// The runtime against clients that misbehave at the socket level: they
// pipeline without reading, keep sending after QUIT or after a 421, or go
// away in the middle of a message. Real sockets on loopback, the server as a
// process (issue 5).
#include <fcntl.h>
#include <signal.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "delivery/spool_reader.h"
#include "tests/core/server_fixture.h"
#include "tests/core/server_process.h"

namespace ringmx::test {
namespace {

std::string config(int port, const std::string& listener_extra = "") {
  return fmt::format(R"(
[server]
shards = 1
hostname = "mx.test"
shutdown-timeout = "20s"
[server.listener.smtp]
bind = "127.0.0.1:{}"
{}
[spool]
path = "spool"
)",
                     port, listener_extra);
}

class RobustnessTest : public ServerFixture {
 protected:
  int port_ = free_port();
};

// A client that goes away in the middle of DATA: the half message is not
// kept, the next session's message is stored byte for byte (its Received
// header, held by the spool until written, included).
TEST_F(RobustnessTest, DisconnectInDataKeepsNothingAndTheNextMessageIsExact) {
  ASSERT_TRUE(server_.start(config(port_), dir_.path())) << server_.log_text();
  {
    Client gone;
    ASSERT_TRUE(gone.connect("127.0.0.1", port_));
    ASSERT_EQ(gone.reply().substr(0, 4), "220 ");
    gone.send("EHLO a.test\r\nMAIL FROM:<a@a.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
    EXPECT_EQ(gone.reply().substr(0, 4), "250-");
    EXPECT_EQ(gone.reply().substr(0, 4), "250 ");
    EXPECT_EQ(gone.reply().substr(0, 4), "250 ");
    EXPECT_EQ(gone.reply().substr(0, 4), "354 ");
    gone.send("Subject: half\r\n\r\nnever finished\r\n");
  }
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=disconnect", "data=1"}));
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", port_));
  ASSERT_EQ(c.reply().substr(0, 4), "220 ");
  // Bare LFs are stored as CRLF; a leading dot is unstuffed.
  c.send("EHLO b.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
  for (const char* code : {"250-", "250 ", "250 ", "354 "})
    EXPECT_EQ(c.reply().substr(0, 4), code);
  c.send("Subject: whole\nX: y\r\n\r\nline\n..dot\r\nend\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(c.reply().substr(0, 24), "250 2.0.0 Ok: queued as ");
  EXPECT_EQ(c.reply(), "221 2.0.0 Bye\r\n");

  delivery::SpoolReader reader(spool());
  auto msgs = reader.messages();
  ASSERT_EQ(msgs.size(), 1u);
  std::string bytes = reader.read_body(msgs[0]);
  const std::string body = "Subject: whole\r\nX: y\r\n\r\nline\r\n.dot\r\nend\r\n";
  ASSERT_GT(bytes.size(), body.size());
  EXPECT_EQ(bytes.substr(0, 22), "Received: from b.test ");
  EXPECT_EQ(bytes.substr(bytes.size() - body.size()), body);
  EXPECT_NE(bytes.find(" id " + msgs[0].queue_id), std::string::npos) << bytes;
}

// Body bytes that came behind a PROXY header split across reads live in
// the PROXY stage, not in a receive buffer: the spool must still store them
// exactly (they are copied and held until written), along with the bare
// LF made CRLF and the Received header.
TEST_F(RobustnessTest, BodyBehindASplitProxyHeaderIsStoredExactly) {
  ASSERT_TRUE(server_.start(config(port_, "proxy.trusted-networks = [\"127.0.0.1\"]"), dir_.path()))
      << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", port_));
  ASSERT_TRUE(c.send("PROXY TCP4 192.0.2.7 198.51.100.1 5555 25\r"));
  const std::string body = "Subject: p\r\n\r\n" + std::string(3000, 'b') + "\nlast\r\n";
  ASSERT_TRUE(c.send("\nEHLO p.test\r\nMAIL FROM:<a@p.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n" +
                     body + ".\r\nQUIT\r\n"));
  for (const char* code : {"220 ", "250-", "250 ", "250 ", "354 ", "250 ", "221 "})
    EXPECT_EQ(c.reply().substr(0, 4), code);
  delivery::SpoolReader reader(spool());
  auto msgs = reader.messages();
  ASSERT_EQ(msgs.size(), 1u);
  std::string bytes = reader.read_body(msgs[0]);
  const std::string stored = "Subject: p\r\n\r\n" + std::string(3000, 'b') + "\r\nlast\r\n";
  ASSERT_GT(bytes.size(), stored.size());
  EXPECT_EQ(bytes.substr(0, 38), "Received: from p.test ([192.0.2.7])\r\n\t") << bytes;
  EXPECT_EQ(bytes.substr(bytes.size() - stored.size()), stored);
}

}  // namespace
}  // namespace ringmx::test
