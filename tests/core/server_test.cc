// The runtime end to end: the server as a process with two shards,
// listeners on loopback addresses, real clients (this file's blocking
// client, swaks, Python smtplib, smtp-source), messages read back from the
// spool through its reader API.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "delivery/spool_reader.h"
#include "tests/core/server_fixture.h"
#include "tests/core/remote_sockets.h"
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

class ServerTest : public ServerFixture {
 protected:
  Ports ports_;
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

// --- sockets and options -------------------------------------------------

TEST_F(ServerTest, OneSocketPerShardPerAddressWithEveryOptionReadBack) {
  const int plain = free_port();
  const std::string extra = fmt::format(R"(
[server.socket]
backlog = 321
ttl = 33
tos = 16
send-buffer-size = 65536
recv-buffer-size = 98304
linger = "2s"
[server.listener.tuned]
bind = ["127.0.0.2:{}", "[::1]:{}"]
socket.backlog = 123
socket.ttl = 77
socket.tos = 32
socket.send-buffer-size = 32768
socket.nodelay = false
socket.linger = "5s"
)",
                                        plain, plain);
  ASSERT_TRUE(server_.start(base_config(ports_, extra), dir_.path())) << server_.log_text();

  // ss: one listening socket per shard per address, with its backlog.
  std::string ss;
  ASSERT_EQ(run("ss -Hltn", &ss), 0);
  std::map<std::string, int> sockets;
  std::map<std::string, std::string> backlog;
  std::istringstream lines(ss);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string state, recvq, sendq, local;
    f >> state >> recvq >> sendq >> local;
    ++sockets[local];
    backlog[local] = sendq;
  }
  for (const std::string& a :
       {fmt::format("127.0.0.1:{}", ports_.smtp), fmt::format("127.0.0.2:{}", ports_.smtp2),
        fmt::format("[::1]:{}", ports_.lmtp), fmt::format("127.0.0.2:{}", plain),
        fmt::format("[::1]:{}", plain)}) {
    EXPECT_EQ(sockets[a], 2) << a << "\n" << ss;
  }
  EXPECT_EQ(backlog[fmt::format("127.0.0.1:{}", ports_.smtp)], "321");
  EXPECT_EQ(backlog[fmt::format("[::1]:{}", plain)], "123");

  // Accepted sockets: one client per listener address.
  Client a, b, c;
  ASSERT_TRUE(a.connect("127.0.0.1", ports_.smtp));
  ASSERT_TRUE(b.connect("127.0.0.2", plain));
  ASSERT_TRUE(c.connect("::1", plain));
  for (Client* cl : {&a, &b, &c})
    ASSERT_EQ(cl->reply().substr(0, 3), "220");

  struct Expect {
    int ttl, tos, sndbuf, rcvbuf, nodelay, linger;
  };
  const Expect defaults{33, 16, 65536, 98304, 1, 2};
  const Expect tuned{77, 32, 32768, 98304, 0, 5};
  int listening = 0, accepted = 0;
  for (const RemoteSocket& r : server_sockets(server_.pid())) {
    const bool is_tuned = r.local.ends_with(fmt::format(":{}", plain));
    const bool v6 = r.local[0] == '[';
    if (!r.listening) {
      // Only the three clients of this test.
      if (r.peer != local_of(a.fd()) && r.peer != local_of(b.fd()) && r.peer != local_of(c.fd()))
        continue;
      ++accepted;
    } else {
      ++listening;
      EXPECT_EQ(opt(r.fd, SOL_SOCKET, SO_REUSEADDR), 1) << r.local;
      EXPECT_EQ(opt(r.fd, SOL_SOCKET, SO_REUSEPORT), 1) << r.local;
      if (v6) {
        EXPECT_EQ(opt(r.fd, IPPROTO_IPV6, IPV6_V6ONLY), 1) << r.local;
      }
    }
    const Expect& e = is_tuned ? tuned : defaults;
    SCOPED_TRACE(r.local + " " + r.peer);
    EXPECT_EQ(opt(r.fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL), e.ttl);
    EXPECT_EQ(opt(r.fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS), e.tos);
    EXPECT_EQ(opt(r.fd, SOL_SOCKET, SO_SNDBUF), 2 * e.sndbuf);  // the kernel doubles it
    EXPECT_EQ(opt(r.fd, SOL_SOCKET, SO_RCVBUF), 2 * e.rcvbuf);
    EXPECT_EQ(opt(r.fd, IPPROTO_TCP, TCP_NODELAY), e.nodelay);
    linger l{};
    socklen_t len = sizeof l;
    getsockopt(r.fd, SOL_SOCKET, SO_LINGER, &l, &len);
    EXPECT_EQ(l.l_onoff, 1);
    EXPECT_EQ(l.l_linger, e.linger);
    close(r.fd);
  }
  EXPECT_EQ(listening, 10);  // 5 addresses x 2 shards
  EXPECT_EQ(accepted, 3);
}

TEST_F(ServerTest, ReusePortOffGivesOneSocketServedByOneShard) {
  const int single = free_port();
  const std::string extra = fmt::format(R"(
[server.listener.single]
bind = "127.0.0.1:{}"
socket.reuse-port = false
)",
                                        single);
  ASSERT_TRUE(server_.start(base_config(ports_, extra), dir_.path())) << server_.log_text();
  EXPECT_TRUE(server_.wait_for_log({"event=listener.single_socket", "listener=single"}));
  std::string ss;
  run(fmt::format("ss -Hltn 'sport = :{}'", single), &ss);
  EXPECT_EQ(std::count(ss.begin(), ss.end(), '\n'), 1) << ss;
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", single));
  EXPECT_EQ(c.reply().substr(0, 11), "220 mx.test");
}

// --- whole sessions with real clients ---------------------------------------

TEST_F(ServerTest, PipelinedTransactionGetsEveryReplyInOrder) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.2", ports_.smtp2));
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  // RFC 2920: the whole group in one write, DATA last.
  c.send(
      "EHLO pipe.test\r\nMAIL FROM:<p@pipe.test>\r\nRCPT TO:<a@mx.test>\r\n"
      "RCPT TO:<b@mx.test>\r\nDATA\r\n");
  EXPECT_NE(c.reply().find("PIPELINING"), std::string::npos);
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "354");
  // Body, end of data, a second transaction and QUIT in one write.
  c.send("Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<c@mx.test>\r\nDATA\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "250");
  EXPECT_EQ(c.reply().substr(0, 3), "354");
  c.send("Subject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(c.reply().substr(0, 3), "221");
  EXPECT_TRUE(c.closed());

  delivery::SpoolReader reader(spool());
  auto msgs = stored(reader);
  ASSERT_EQ(msgs.size(), 2u);
  std::map<std::string, const delivery::MessageView*> by_from;
  for (const auto& m : msgs)
    by_from[m.message->envelope.mail_from] = &m;
  ASSERT_TRUE(by_from.count("p@pipe.test"));
  ASSERT_TRUE(by_from.count(""));
  expect_stored(reader, *by_from["p@pipe.test"], "Subject: one\r\n\r\nfirst\r\n");
  expect_stored(reader, *by_from[""], "Subject: two\r\n\r\nsecond\r\n");
  EXPECT_EQ(by_from["p@pipe.test"]->message->envelope.rcpt_to.size(), 2u);
}

TEST_F(ServerTest, SwaksSmtpAndLmtp) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  const std::filesystem::path data = dir_.path() / "swaks.eml";
  const std::string body =
      "Subject: swaks\r\nX-Test: 1\r\n\r\nhello from swaks\r\n.leading dot\r\n";
  std::ofstream(data) << body;
  std::string out;
  EXPECT_EQ(run(fmt::format("swaks --server 127.0.0.1 --port {} --from s@client.test "
                            "--to one@mx.test --data {}",
                            ports_.smtp, data.string()),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("<-  250 2.0.0 Ok: queued as"), std::string::npos) << out;
  EXPECT_EQ(run(fmt::format("swaks --protocol LMTP --server ::1 --port {} --from l@client.test "
                            "--to two@mx.test,three@mx.test --data {}",
                            ports_.lmtp, data.string()),
                &out),
            0)
      << out;
  delivery::SpoolReader reader(spool());
  auto msgs = stored(reader);
  ASSERT_EQ(msgs.size(), 2u);
  // swaks ends the data with a CRLF of its own before the final dot.
  for (const auto& m : msgs)
    expect_stored(reader, m, body + "\r\n");
  int lmtp = 0;
  for (const auto& m : msgs)
    lmtp += m.message->envelope.listener == "lmtp";
  EXPECT_EQ(lmtp, 1);
}

TEST_F(ServerTest, PythonSmtplibLockStepSmtpAndLmtp) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  const std::filesystem::path script = dir_.path() / "client.py";
  std::ofstream(script) << fmt::format(R"(
import smtplib, sys
msg = b"Subject: py\r\n\r\nbody line\r\n"
s = smtplib.SMTP("127.0.0.1", {smtp})
s.ehlo("py.test")
for i in range(3):
    refused = s.sendmail("py@client.test", ["r%d@mx.test" % i], msg)
    assert refused == {{}}, refused
s.quit()
l = smtplib.LMTP("::1", {lmtp})
l.ehlo_or_helo_if_needed()
refused = l.sendmail("py@client.test", ["x@mx.test", "y@mx.test"], msg)
assert refused == {{}}, refused
l.quit()
print("ok")
)",
                                       fmt::arg("smtp", ports_.smtp),
                                       fmt::arg("lmtp", ports_.lmtp));
  std::string out;
  EXPECT_EQ(run("python3 " + script.string(), &out), 0) << out;
  delivery::SpoolReader reader(spool());
  auto msgs = stored(reader);
  ASSERT_EQ(msgs.size(), 4u);
  for (const auto& m : msgs)
    expect_stored(reader, m, "Subject: py\r\n\r\nbody line\r\n");
}

TEST_F(ServerTest, SmtpSourceSmtpAndLmtpEveryMessageStored) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  std::string out;
  // 5 sessions, 40 messages of 1 KiB, several messages per connection.
  EXPECT_EQ(run(fmt::format("smtp-source -s 5 -m 40 -l 1024 -f src@client.test -t dst@mx.test "
                            "127.0.0.1:{}",
                            ports_.smtp),
                &out),
            0)
      << out;
  EXPECT_EQ(run(fmt::format("smtp-source -L -s 3 -m 20 -l 512 -f src@client.test -t dst@mx.test "
                            "'inet:[::1]:{}'",
                            ports_.lmtp),
                &out),
            0)
      << out;
  delivery::SpoolReader reader(spool());
  auto msgs = stored(reader);
  ASSERT_EQ(msgs.size(), 60u);
  int big = 0;
  for (const auto& m : msgs) {
    std::string bytes = reader.read_body(m);
    big += bytes.size() > 1024;
    EXPECT_EQ(m.message->envelope.mail_from, "src@client.test");
  }
  EXPECT_EQ(big, 40);
}

// --- limits and failures -------------------------------------------------------

TEST_F(ServerTest, BindFailureStopsTheStartAndLeavesNothingListening) {
  // Something else holds the smtp listener's second address.
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(ports_.smtp2));
  inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(listen(holder, 1), 0);

  EXPECT_FALSE(server_.start(base_config(ports_), dir_.path()));
  EXPECT_EQ(server_.wait_exit(), 1);
  EXPECT_EQ(server_.count_log("event=listener.bind_failed"), 1) << server_.log_text();
  EXPECT_EQ(server_.count_log(fmt::format("listener=smtp addr=127.0.0.2:{} error=", ports_.smtp2)),
            1)
      << server_.log_text();
  EXPECT_EQ(server_.count_log("Address already in use"), 1);
  Client c;  // the first address was bound before the failure: closed again
  EXPECT_FALSE(c.connect("127.0.0.1", ports_.smtp));
  close(holder);
}

TEST_F(ServerTest, MaxConnectionsRefusesWith421AcrossShards) {
  std::string toml = base_config(ports_);
  toml.replace(toml.find("[server.listener.lmtp]"), 0, "max-connections = 3\n");
  ASSERT_TRUE(server_.start(toml, dir_.path())) << server_.log_text();
  std::vector<std::unique_ptr<Client>> held;
  // Both addresses count against the same listener, whichever shard accepts.
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>());
    ASSERT_TRUE(held.back()->connect(i % 2 ? "127.0.0.2" : "127.0.0.1",
                                     i % 2 ? ports_.smtp2 : ports_.smtp));
    ASSERT_EQ(held.back()->reply().substr(0, 3), "220");
  }
  Client over;
  ASSERT_TRUE(over.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(over.reply(), "421 4.7.0 mx.test Too many connections, try again later\r\n");
  EXPECT_TRUE(over.closed());
  EXPECT_TRUE(server_.wait_for_log(
      {"event=conn.rejected", "listener=smtp", "reason=max-connections", "rejected_total=1"}));
  // The LMTP listener has its own count.
  Client lmtp;
  ASSERT_TRUE(lmtp.connect("::1", ports_.lmtp));
  EXPECT_EQ(lmtp.reply().substr(0, 3), "220");
  // One leaves: a new one fits again.
  held[0]->send("QUIT\r\n");
  EXPECT_EQ(held[0]->reply().substr(0, 3), "221");
  EXPECT_TRUE(held[0]->closed());
  Client again;
  ASSERT_TRUE(again.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(again.reply().substr(0, 3), "220");
}

// --- lifecycle -----------------------------------------------------------------

TEST_F(ServerTest, SigtermDrainsIdleWith421AndFinishesTheTransactionInFlight) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  Client idle, busy;
  ASSERT_TRUE(idle.connect("127.0.0.1", ports_.smtp));
  ASSERT_TRUE(busy.connect("127.0.0.2", ports_.smtp2));
  ASSERT_EQ(idle.reply().substr(0, 3), "220");
  ASSERT_EQ(busy.reply().substr(0, 3), "220");
  idle.send("EHLO idle.test\r\n");
  ASSERT_EQ(idle.reply().substr(0, 3), "250");
  busy.send("EHLO busy.test\r\nMAIL FROM:<b@busy.test>\r\nRCPT TO:<r@mx.test>\r\nDATA\r\n");
  ASSERT_EQ(busy.reply().substr(0, 3), "250");
  ASSERT_EQ(busy.reply().substr(0, 3), "250");
  ASSERT_EQ(busy.reply().substr(0, 3), "250");
  ASSERT_EQ(busy.reply().substr(0, 3), "354");
  busy.send("Subject: drain\r\n\r\nfirst half\r\n");

  server_.signal(SIGTERM);
  EXPECT_EQ(idle.reply(), "421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_TRUE(idle.closed());
  // New connections are refused once every shard closed its socket for the
  // address (logged after close(2); "shard.draining" comes before the accept
  // cancel completes, when a connect could still be queued).
  const std::string addr = fmt::format("addr=127.0.0.1:{}", ports_.smtp);
  ASSERT_TRUE(server_.wait_for_log({"event=listener.closed", "shard=0", addr}));
  ASSERT_TRUE(server_.wait_for_log({"event=listener.closed", "shard=1", addr}));
  Client late;
  EXPECT_FALSE(late.connect("127.0.0.1", ports_.smtp));

  busy.send("second half\r\n.\r\n");
  EXPECT_EQ(busy.reply().substr(0, 24), "250 2.0.0 Ok: queued as ");
  EXPECT_EQ(busy.reply(), "421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_TRUE(busy.closed());
  EXPECT_EQ(server_.wait_exit(), 0) << server_.log_text();

  delivery::SpoolReader reader(spool());
  auto msgs = stored(reader);
  ASSERT_EQ(msgs.size(), 1u);
  expect_stored(reader, msgs[0], "Subject: drain\r\n\r\nfirst half\r\nsecond half\r\n");
}

TEST_F(ServerTest, SighupReloadsGreetingAndListenersKeepsSessionsAndRejectsInvalidFiles) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  Client before;
  ASSERT_TRUE(before.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(before.reply(), "220 mx.test ringmx ESMTP\r\n");
  before.send("EHLO before.test\r\n");
  ASSERT_EQ(before.reply().substr(0, 3), "250");

  // An invalid file: logged, the running configuration stays.
  std::size_t mark = server_.log_size();
  std::string invalid = base_config(ports_);
  invalid.replace(invalid.find("[server.listener.lmtp]"), 0, "socket.backlg = 3\n");
  server_.rewrite(invalid);
  server_.signal(SIGHUP);
  ASSERT_TRUE(server_.wait_for_log({"event=reload.rejected"}, 20000, mark)) << server_.log_text();
  EXPECT_GE(server_.count_log("event=reload.invalid"), 1);
  Client still;
  ASSERT_TRUE(still.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(still.reply(), "220 mx.test ringmx ESMTP\r\n");

  // A valid one: new greeting, LMTP removed, a new listener added.
  const int added = free_port();
  std::string next = fmt::format(R"(
[server]
shards = 2
hostname = "mx.test"
greeting = "reloaded ESMTP"
[server.listener.smtp]
bind = ["127.0.0.1:{}", "127.0.0.2:{}"]
[server.listener.added]
bind = "127.0.0.1:{}"
[spool]
path = "spool"
)",
                                 ports_.smtp, ports_.smtp2, added);
  mark = server_.log_size();
  server_.rewrite(next);
  server_.signal(SIGHUP);
  ASSERT_TRUE(server_.wait_for_log({"event=reload.done"}, 20000, mark)) << server_.log_text();

  Client fresh;
  ASSERT_TRUE(fresh.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(fresh.reply(), "220 mx.test reloaded ESMTP\r\n");
  Client on_added;
  ASSERT_TRUE(on_added.connect("127.0.0.1", added));
  EXPECT_EQ(on_added.reply(), "220 mx.test reloaded ESMTP\r\n");
  Client on_removed;
  EXPECT_FALSE(on_removed.connect("::1", ports_.lmtp));

  // The session from before the reloads goes on undisturbed.
  before.send("MAIL FROM:<a@before.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
  EXPECT_EQ(before.reply().substr(0, 3), "250");
  EXPECT_EQ(before.reply().substr(0, 3), "250");
  EXPECT_EQ(before.reply().substr(0, 3), "354");
  before.send("Subject: old session\r\n\r\nstill here\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(before.reply().substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(before.reply().substr(0, 3), "221");
}

TEST_F(ServerTest, ChangedSocketOptionsGetNewSocketsOnReload) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  std::string toml = base_config(ports_);
  toml.replace(toml.find("[server.listener.lmtp]"), 0, "socket.backlog = 77\n");
  const std::size_t mark = server_.log_size();
  server_.rewrite(toml);
  server_.signal(SIGHUP);
  ASSERT_TRUE(server_.wait_for_log({"event=reload.done"}, 20000, mark)) << server_.log_text();
  // Each shard closes its old socket once the accept on it has ended,
  // which may come after reload.done.
  for (const char* shard : {"shard=0", "shard=1"})
    ASSERT_TRUE(
        server_.wait_for_log({"event=listener.closed", shard, "listener=smtp"}, 20000, mark))
        << server_.log_text();
  std::string ss;
  run(fmt::format("ss -Hltn 'sport = :{}'", ports_.smtp), &ss);
  EXPECT_EQ(std::count(ss.begin(), ss.end(), '\n'), 2) << ss;  // the old ones are closed
  EXPECT_NE(ss.find(" 77 "), std::string::npos) << ss;
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(c.reply().substr(0, 3), "220");
}

TEST_F(ServerTest, TwoThousandConcurrentConnectionsEveryMessageStored) {
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  std::string out;
  EXPECT_EQ(run(fmt::format("smtp-source -s 2000 -m 4000 -l 1024 -f many@client.test "
                            "-t dst@mx.test 127.0.0.1:{}",
                            ports_.smtp),
                &out),
            0)
      << out;
  delivery::SpoolReader reader(spool());
  EXPECT_EQ(stored(reader).size(), 4000u);
  EXPECT_EQ(server_.count_log("level=error"), 0) << server_.log_text().substr(0, 4000);
}

TEST_F(ServerTest, IdleTimeoutCloses) {
  std::string toml = base_config(ports_, "[session]\ntimeout = \"1s\"\nduration = \"10m\"\n");
  ASSERT_TRUE(server_.start(toml, dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  EXPECT_EQ(c.reply(5000).substr(0, 10), "421 4.4.2 ");
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=timeout"}));
}

TEST_F(ServerTest, SessionDurationCloses) {
  std::string toml = base_config(ports_, "[session]\ntimeout = \"10m\"\nduration = \"1s\"\n");
  ASSERT_TRUE(server_.start(toml, dir_.path())) << server_.log_text();
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
  ASSERT_EQ(c.reply().substr(0, 3), "220");
  EXPECT_EQ(c.reply(5000).substr(0, 10), "421 4.7.0 ");
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=duration"}));
}

TEST_F(ServerTest, RootWithAPublicListenerIsRefusedUnlessAllowed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const int pub = free_port();
  const std::string extra = fmt::format("[server.listener.public]\nbind = \"0.0.0.0:{}\"\n", pub);
  EXPECT_FALSE(server_.start(base_config(ports_, extra), dir_.path()));
  EXPECT_EQ(server_.wait_exit(), 1);
  EXPECT_EQ(server_.count_log("refusing to run as root with listener public on public address"), 1)
      << server_.log_text();
  Client c;
  EXPECT_FALSE(c.connect("127.0.0.1", ports_.smtp));  // nothing was bound

  ServerProcess allowed;
  std::string toml = base_config(ports_, extra);
  toml.replace(toml.find("shards = 2"), 0, "allow-root = true\n");
  ASSERT_TRUE(allowed.start(toml, dir_.path())) << allowed.log_text();
}

TEST_F(ServerTest, RunAsDropsUserGroupAndSupplementaryGroupsAfterBinding) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  // The spool is created after the drop: let nobody write here.
  std::filesystem::permissions(dir_.path(), std::filesystem::perms::all);
  std::string toml = base_config(ports_);
  toml.replace(toml.find("shards = 2"), 0, "run-as = { user = \"nobody\", group = \"nogroup\" }\n");
  ASSERT_TRUE(server_.start(toml, dir_.path())) << server_.log_text();
  std::ifstream status(fmt::format("/proc/{}/status", server_.pid()));
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(status, line);) {
    auto colon = line.find(':');
    if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 1);
  }
  EXPECT_EQ(fields["Uid"], "\t65534\t65534\t65534\t65534");
  EXPECT_EQ(fields["Gid"], "\t65534\t65534\t65534\t65534");
  EXPECT_EQ(fields["Groups"].find_first_not_of("\t "), std::string::npos)  // none left
      << fields["Groups"];
  Client c;  // bound as root on the way in, served as nobody
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.smtp));
  EXPECT_EQ(c.reply().substr(0, 3), "220");
}

TEST_F(ServerTest, ReadinessIsNotifiedOnNotifySocket) {
  const std::filesystem::path path = dir_.path() / "notify.sock";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strncpy(sun.sun_path, path.c_str(), sizeof sun.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
  server_.env.push_back("NOTIFY_SOCKET=" + path.string());
  ASSERT_TRUE(server_.start(base_config(ports_), dir_.path())) << server_.log_text();
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  char buf[128] = {};
  ASSERT_GT(recv(fd, buf, sizeof buf - 1, 0), 0);
  EXPECT_STREQ(buf, "READY=1");
  // The readiness line comes after every shard accepts: a client gets in.
  Client c;
  ASSERT_TRUE(c.connect("::1", ports_.lmtp));
  EXPECT_EQ(c.reply().substr(0, 3), "220");
  server_.signal(SIGTERM);
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  std::memset(buf, 0, sizeof buf);
  ASSERT_GT(recv(fd, buf, sizeof buf - 1, 0), 0);
  EXPECT_STREQ(buf, "STOPPING=1");
  EXPECT_EQ(server_.wait_exit(), 0);
  close(fd);
}

}  // namespace
}  // namespace ringmx::test
