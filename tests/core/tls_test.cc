// TLS through a running ringmx (issue 6): implicit TLS and STARTTLS on the
// same server, SNI, protocol and cipher policy, the STARTTLS injection case,
// the handshake timeout, and what a message received over TLS carries in
// the spool. Real clients: openssl s_client, Python ssl/smtplib, swaks.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "delivery/spool_reader.h"
#include "tests/core/management_support.h"
#include "tests/core/server_fixture.h"
#include "tests/core/server_process.h"
#include "tls/record_aead.h"

namespace ringmx::test {
namespace {

struct TlsPorts {
  int starttls = free_port();
  int implicit = free_port();
};

// Two ECDSA P-256 certificates (mx.test, the default; other.test, by SNI)
// and an RSA one (rsa.test), written under `dir` by openssl.
void make_certificates(const std::filesystem::path& dir) {
  const std::string d = dir.string();
  for (const char* name : {"mx.test", "other.test"}) {
    ASSERT_EQ(run(fmt::format("cd {} && openssl req -x509 -newkey ec -pkeyopt "
                              "ec_paramgen_curve:P-256 -nodes -keyout {}.key -out {}.pem "
                              "-subj /CN={} -days 2",
                              d, name, name, name)),
              0);
  }
  ASSERT_EQ(run(fmt::format("cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout "
                            "rsa.test.key -out rsa.test.pem -subj /CN=rsa.test -days 2",
                            d)),
            0);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `starttls_extra` and `implicit_extra` are more keys for each listener.
std::string tls_config(const TlsPorts& p, const std::string& starttls_extra = "",
                       const std::string& implicit_extra = "", const std::string& extra = "") {
  return fmt::format(R"(
[server]
shards = 2
hostname = "mx.test"
shutdown-timeout = "20s"
[server.listener.smtp]
bind = "127.0.0.1:{}"
tls.enable = true
tls.certificate = "mx"
tls.sni = [ {{ subject = "other.test", certificate = "other" }},
            {{ subject = "*.rsa.test", certificate = "rsa" }} ]
{}
[server.listener.smtps]
bind = "127.0.0.1:{}"
tls.implicit = true
tls.certificate = "mx"
tls.timeout = "1s"
{}
[certificate.mx]
cert = "file://mx.test.pem"
private-key = "file://mx.test.key"
[certificate.other]
cert = "file://other.test.pem"
private-key = "file://other.test.key"
[certificate.rsa]
cert = "file://rsa.test.pem"
private-key = "file://rsa.test.key"
[spool]
path = "spool"
{}
)",
                     p.starttls, starttls_extra, p.implicit, implicit_extra, extra);
}

// What the Python clients share: the modules, a context that accepts the
// test's self-signed certificates, and reply(f), one whole SMTP reply from
// a file object (its last line). A script may define its own reply().
constexpr const char* kPythonPrelude = R"(import smtplib, socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def reply(f):
    while True:
        l = f.readline()
        if len(l) < 4 or l[3:4] != b"-": return l.decode().rstrip()
)";

class TlsTest : public ServerFixture {
 protected:
  void SetUp() override { make_certificates(dir_.path()); }
  void start(const std::string& toml) {
    ASSERT_TRUE(server_.start(toml, dir_.path())) << server_.log_text();
  }
  // openssl s_client against the STARTTLS (or implicit) listener; its
  // combined output. Stdin is QUIT so the session ends by itself.
  int s_client(const std::string& args, std::string* out, bool implicit = false) {
    const int port = implicit ? ports_.implicit : ports_.starttls;
    return run(fmt::format("printf 'QUIT\\r\\n' | timeout 20 openssl s_client -connect "
                           "127.0.0.1:{} {} {} -ign_eof 2>&1",
                           port, implicit ? "" : "-starttls smtp", args),
               out);
  }
  // A Python script run with the ports as arguments; its combined output.
  // Every script starts with kPythonPrelude.
  int python(const std::string& script, std::string* out) {
    const auto path = dir_.path() / "client.py";
    std::ofstream(path) << kPythonPrelude << script;
    return run(fmt::format("timeout 30 python3 {} {} {} 2>&1", path.string(), ports_.starttls,
                           ports_.implicit),
               out);
  }

  // Sends `count` messages of `lines` numbered lines, in one STARTTLS
  // session (Python smtplib); the body sent, or "" when the client failed.
  std::string send_big_bodies(int lines, int count) {
    std::string out;
    const int rc = python(fmt::format(R"(
body = b"Subject: big\r\n\r\n" + b"".join(b"%07d abcdefghijklmnopqrstuvwxyz0123456789\r\n" % i for i in range({}))
open(sys.argv[0] + ".body", "wb").write(body)
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.starttls(context=ctx)
s.ehlo("client.test")
for i in range({}):
    s.sendmail("a@client.test", ["bob@mx.test"], body)
s.quit()
)",
                                      lines, count),
                          &out);
    EXPECT_EQ(rc, 0) << out;
    return rc == 0 ? read_file(dir_.path() / "client.py.body") : "";
  }
  // How many spooled messages end with `body`, byte for byte (before it: our Received).
  std::size_t stored_whole(const std::string& body) {
    delivery::SpoolReader reader(spool());
    std::size_t whole = 0;
    for (const delivery::MessageView& m : reader.messages()) {
      const std::string bytes = reader.read_body(m);
      if (bytes.size() >= body.size() &&
          bytes.compare(bytes.size() - body.size(), body.size(), body) == 0)
        ++whole;
    }
    return whole;
  }

  TlsPorts ports_;
};

// The `extra` of tls_config: a management listener on `port` (for /metrics).
std::string management_listener(int port) {
  return fmt::format("[server.listener.management]\nbind = \"127.0.0.1:{}\"\nprotocol = \"http\"\n",
                     port);
}

std::string served_subject(const std::string& s_client_output) {
  const auto at = s_client_output.find("subject=");
  if (at == std::string::npos) return "";
  return s_client_output.substr(at, s_client_output.find('\n', at) - at);
}

TEST_F(TlsTest, StartTlsAndImplicitOnOneServerStoreTlsInEnvelopeAndEsmtpsInReceived) {
  start(tls_config(ports_));
  // The ring logs once that kTLS is not there and the userspace path runs.
  EXPECT_EQ(server_.count_log("event=tls.ktls ktls=unavailable"), 1) << server_.log_text();
  // And once which code does the record crypto: ipsec-mb for AES-GCM where
  // the CPU has VAES (this test process decides the same way), else libcrypto.
  EXPECT_EQ(server_.count_log(
                fmt::format("event=tls.record_crypto aes_gcm={} chacha20_poly1305=libcrypto",
                            tls::record_aead_backend(tls::RecordCipher::aes_128_gcm))),
            1)
      << server_.log_text();

  std::string out;
  EXPECT_EQ(run(fmt::format("timeout 30 swaks --server 127.0.0.1:{} --tls --from a@client.test "
                            "--to bob@mx.test --body 'over starttls' 2>&1",
                            ports_.starttls),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("<~  250 2.0.0 Ok: queued as "), std::string::npos) << out;
  // After STARTTLS the EHLO answer no longer offers STARTTLS.
  const std::string after_tls = out.substr(out.find("TLS started"));
  EXPECT_EQ(after_tls.find("STARTTLS"), std::string::npos) << out;

  EXPECT_EQ(run(fmt::format("timeout 30 swaks --server 127.0.0.1:{} --tlsc --from a@client.test "
                            "--to bob@mx.test --body 'over implicit tls' 2>&1",
                            ports_.implicit),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("<~  220 mx.test"), std::string::npos) << out;
  EXPECT_NE(out.find("<~  250 2.0.0 Ok: queued as "), std::string::npos) << out;

  delivery::SpoolReader reader(spool());
  auto msgs = reader.messages();
  ASSERT_EQ(msgs.size(), 2u);
  for (const delivery::MessageView& m : msgs) {
    EXPECT_EQ(m.message->envelope.tls.rfind("TLSv1.3 TLS_", 0), 0u) << m.message->envelope.tls;
    const std::string bytes = reader.read_body(m);
    EXPECT_NE(bytes.substr(0, bytes.find("\r\n\r\n")).find("with ESMTPS"), std::string::npos)
        << bytes;
  }
}

// A message bigger than many TLS records: body chunks point into the
// plaintext pool and must stay intact until the spool wrote them.
TEST_F(TlsTest, LargeMessageOverStartTlsIsStoredByteForByte) {
  start(tls_config(ports_));
  const std::string body = send_big_bodies(40000, 1);
  ASSERT_GT(body.size(), 1000000u);
  EXPECT_EQ(delivery::SpoolReader(spool()).messages().size(), 1u);
  EXPECT_EQ(stored_whole(body), 1u);
}

// Without kTLS, records after the handshake are opened and sealed by
// tls::RecordLayer (crypto=userspace); RINGMX_TLS_RECORDS=wolfssl keeps
// wolfSSL's record layer. Both store a big body byte for byte, for TLS 1.3
// and for TLS 1.2 (swaks through OpenSSL), and give the client the same
// replies.
class TlsRecordsTest : public TlsTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(TlsRecordsTest, BigBodiesAndBothVersionsWhicheverLayerSealsTheRecords) {
  const std::string mode = GetParam();
  if (mode == "wolfssl") server_.env.push_back("RINGMX_TLS_RECORDS=wolfssl");
  start(tls_config(ports_));
  const std::string body = send_big_bodies(60000, 2);
  ASSERT_GT(body.size(), 2000000u);
  EXPECT_EQ(stored_whole(body), 2u);
  for (const char* version : {"tlsv1_2", "tlsv1_3"}) {
    std::string out;
    EXPECT_EQ(run(fmt::format("timeout 30 swaks --server 127.0.0.1:{} --tls --tls-protocol {} "
                              "--from a@client.test --to bob@mx.test --body 'over {}' 2>&1",
                              ports_.starttls, version, version),
                  &out),
              0)
        << out;
    EXPECT_NE(out.find("<~  250 2.0.0 Ok: queued as "), std::string::npos) << out;
    EXPECT_NE(out.find("<~  221 "), std::string::npos) << out;
  }
  EXPECT_TRUE(server_.wait_for_log({"event=conn.tls", "version=TLSv1.2", "crypto=" + mode}));
  EXPECT_TRUE(server_.wait_for_log({"event=conn.tls", "version=TLSv1.3", "crypto=" + mode}));
  const std::string other = mode == "userspace" ? "crypto=wolfssl" : "crypto=userspace";
  EXPECT_EQ(server_.count_log(other), 0);
}

INSTANTIATE_TEST_SUITE_P(Layers, TlsRecordsTest, ::testing::Values("userspace", "wolfssl"));

// A TLS 1.3 KeyUpdate from the client ends the session cleanly in record
// mode, as under kTLS: the server logs it, sends close_notify and closes;
// nothing is opened with stale keys. No command-line client sends one on
// demand, so this client is wolfSSL on the test's own socket
// (wolfSSL_update_keys).
TEST_F(TlsTest, KeyUpdateFromTheClientClosesTheSessionCleanly) {
  start(tls_config(ports_));
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.starttls));
  ASSERT_EQ(c.reply().substr(0, 4), "220 ");
  ASSERT_TRUE(c.send("EHLO client.test\r\n"));
  ASSERT_EQ(c.reply().substr(0, 4), "250-");
  ASSERT_TRUE(c.send("STARTTLS\r\n"));
  ASSERT_EQ(c.reply().substr(0, 4), "220 ");
  const timeval bound{10, 0};  // a broken server fails the test instead of hanging it
  ASSERT_EQ(setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound), 0);

  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  ASSERT_NE(ctx, nullptr);
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  WOLFSSL* ssl = wolfSSL_new(ctx);
  ASSERT_NE(ssl, nullptr);
  wolfSSL_set_fd(ssl, c.fd());
  ASSERT_EQ(wolfSSL_connect(ssl), WOLFSSL_SUCCESS);
  const std::string ehlo = "EHLO client.test\r\n";
  ASSERT_EQ(wolfSSL_write(ssl, ehlo.data(), static_cast<int>(ehlo.size())),
            static_cast<int>(ehlo.size()));
  std::string replies;
  char buf[4096];
  while (replies.find("\r\n250 ") == std::string::npos) {
    const int n = wolfSSL_read(ssl, buf, sizeof buf);
    ASSERT_GT(n, 0) << replies;
    replies.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(replies.substr(0, 12), "250-mx.test\r") << replies;

  ASSERT_EQ(wolfSSL_update_keys(ssl), WOLFSSL_SUCCESS);
  const int n = wolfSSL_read(ssl, buf, sizeof buf);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(wolfSSL_get_error(ssl, n), WOLFSSL_ERROR_ZERO_RETURN);  // close_notify
  wolfSSL_free(ssl);
  wolfSSL_CTX_free(ctx);
  EXPECT_TRUE(server_.wait_for_log({"event=conn.tls_record", "record=key_update", "action=close"}))
      << server_.log_text();
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=protocol"}));
}

// The decrypted-data pool has a cap (4 buffers here, through
// RINGMX_TLS_PLAIN_BUFFERS): a client sending a big body faster than the
// spool writes it is no longer read at the cap, and is read again as the
// spool gives buffers back. Every byte arrives, the shard never allocated
// more than the cap, and the cap was reached (the client was paused).
TEST_F(TlsTest, PlaintextPoolStaysWithinItsCapWhileABigBodyArrivesWhole) {
  server_.env.push_back("RINGMX_TLS_PLAIN_BUFFERS=4");
  const int http = free_port();
  start(tls_config(ports_, "", "", management_listener(http)));
  const std::string body = send_big_bodies(100000, 2);
  ASSERT_GT(body.size(), 4000000u);
  EXPECT_EQ(delivery::SpoolReader(spool()).messages().size(), 2u);
  EXPECT_EQ(stored_whole(body), 2u);

  auto metrics = scrape(http);
  double most = 0;
  for (const char* shard : {"0", "1"}) {
    const std::string name = fmt::format("ringmx_tls_plain_buffers{{shard=\"{}\"}}", shard);
    ASSERT_TRUE(metrics.count(name)) << name;
    EXPECT_LE(metrics[name], 4) << name;
    most = std::max(most, metrics[name]);
  }
  EXPECT_EQ(most, 4);
  EXPECT_GT(metrics["ringmx_tls_reads_paused_total"], 0);
  EXPECT_TRUE(server_.wait_for_log({"event=shard.tls_buffers_exhausted", "buffers=4"}));
}

// A record that fails authentication (one bit of a client's record
// flipped on the wire) gets a fatal bad_record_mac alert and the
// connection closes; nothing of it reaches the engine. The client is
// Python's ssl over memory BIOs, so the test owns the bytes on the wire.
TEST_F(TlsTest, TamperedRecordGetsBadRecordMacAndTheConnectionCloses) {
  start(tls_config(ports_));
  std::string out;
  EXPECT_EQ(python(R"(
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
reply(f)
s.sendall(b"EHLO client.test\r\n"); reply(f)
s.sendall(b"STARTTLS\r\n"); print("starttls:", reply(f))
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
t = ctx.wrap_bio(inc, outg)
while True:
    try:
        t.do_handshake(); break
    except ssl.SSLWantReadError:
        s.sendall(outg.read())
        inc.write(s.recv(65536))
s.sendall(outg.read())
t.write(b"NOOP\r\n")
record = bytearray(outg.read())
record[10] ^= 0x01  # inside the ciphertext
s.sendall(bytes(record))
got = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    got += chunk
inc.write(got)
try:
    while True:
        t.read(4096)
except ssl.SSLError as e:
    print("error:", e.reason)
)",
                   &out),
            0)
      << out;
  EXPECT_NE(out.find("starttls: 220 2.0.0 Ready to start TLS"), std::string::npos) << out;
  // OpenSSL names alert 20 (bad_record_mac) with its SSLv3-era reason string.
  EXPECT_NE(out.find("error: SSLV3_ALERT_BAD_RECORD_MAC"), std::string::npos) << out;
  EXPECT_TRUE(server_.wait_for_log({"event=conn.tls_error", "reason=bad_record_mac"}))
      << server_.log_text();
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=io-error"}));
}

// TLS ciphertext has its own receive ring (ShardLimits::kTlsBuffers, 64
// KiB each). Shrunk to 2 buffers, four clients sending big bodies at once
// run it dry: the shard says so, re-arms each starved recv as buffers come
// back, and every body is stored byte for byte.
TEST_F(TlsTest, ExhaustedTlsReceiveRingLosesNothing) {
  server_.env.push_back("RINGMX_TLS_RECV_BUFFERS=2");
  start(tls_config(ports_));
  std::string out;
  ASSERT_EQ(python(R"(
from concurrent.futures import ProcessPoolExecutor
body = b"Subject: big\r\n\r\n" + b"".join(b"%07d abcdefghijklmnopqrstuvwxyz0123456789\r\n" % i for i in range(50000))
open(sys.argv[0] + ".body", "wb").write(body)
def send(n):
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
    s.starttls(context=ctx)
    s.ehlo("client%d.test" % n)
    s.sendmail("a@client.test", ["bob@mx.test"], body)
    s.quit()
    return n
with ProcessPoolExecutor(4) as pool:
    print(sorted(pool.map(send, range(4))))
)",
                   &out),
            0)
      << out;
  EXPECT_NE(out.find("[0, 1, 2, 3]"), std::string::npos) << out;
  const std::string body = read_file(dir_.path() / "client.py.body");
  ASSERT_GT(body.size(), 2000000u);
  EXPECT_EQ(stored_whole(body), 4u);
  EXPECT_TRUE(server_.wait_for_log({"event=shard.buffers_exhausted", "buffers=2", "size=65536"}))
      << server_.log_text();
}

// The same cap with `delivery.mode = "discard"`: buffers come back at once,
// inside drive_sink, which then resumes the paused connection itself (no
// spool completion will wake the loop). Both messages get their 250.
TEST_F(TlsTest, PausedReadsResumeInDiscardMode) {
  server_.env.push_back("RINGMX_TLS_PLAIN_BUFFERS=4");
  const int http = free_port();
  start(tls_config(ports_, "", "", management_listener(http) + "[delivery]\nmode = \"discard\"\n"));
  ASSERT_GT(send_big_bodies(100000, 2).size(), 4000000u);  // smtplib raises unless 250
  auto metrics = scrape(http);
  EXPECT_EQ(metrics["ringmx_messages_accepted_total"], 2);
  EXPECT_GT(metrics["ringmx_tls_reads_paused_total"], 0);
  EXPECT_LE(metrics["ringmx_tls_plain_buffers{shard=\"0\"}"], 4);
  EXPECT_LE(metrics["ringmx_tls_plain_buffers{shard=\"1\"}"], 4);
}

// The kTLS hand-off as far as this kernel lets it run (RINGMX_KTLS=try):
// after each handshake the userspace recv is cancelled, what it still read
// goes to the session, and setsockopt(TCP_ULP) refuses, so the session
// goes on in userspace. Nothing a client sent is lost on the way, whether
// it waited for replies or wrote right behind its Finished.
TEST_F(TlsTest, RefusedKtlsHandOffContinuesInUserspaceWithoutLosingBytes) {
  server_.env.push_back("RINGMX_KTLS=try");
  const int http = free_port();
  start(tls_config(ports_, "", "", management_listener(http)));
  std::string out;
  EXPECT_EQ(run(fmt::format("timeout 30 swaks --server 127.0.0.1:{} --tlsc --from a@client.test "
                            "--to bob@mx.test --body 'over implicit tls' 2>&1",
                            ports_.implicit),
                &out),
            0)
      << out;
  EXPECT_NE(out.find("<~  250 2.0.0 Ok: queued as "), std::string::npos) << out;
  ASSERT_EQ(python(R"(
# Commands written the moment the handshake ends, behind the client's Finished.
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
reply(f)
s.sendall(b"EHLO client.test\r\n"); reply(f)
s.sendall(b"STARTTLS\r\n"); reply(f)
t = ctx.wrap_socket(s)
t.sendall(b"EHLO client.test\r\nNOOP\r\n")
tf = t.makefile("rb")
print("ehlo:", reply(tf))
print("noop:", reply(tf))
t.sendall(b"QUIT\r\n"); print("quit:", reply(tf))
)",
                   &out),
            0)
      << out;
  EXPECT_NE(out.find("ehlo: 250 "), std::string::npos) << out;
  EXPECT_NE(out.find("noop: 250 2.0.0 Ok"), std::string::npos) << out;
  EXPECT_NE(out.find("quit: 221 "), std::string::npos) << out;

  // A big body once sessions are past the switch.
  const std::string body = send_big_bodies(40000, 1);
  EXPECT_EQ(delivery::SpoolReader(spool()).messages().size(), 2u);
  EXPECT_EQ(stored_whole(body), 1u);

  // Three handshakes, each offered to the kernel and kept in userspace.
  auto metrics = scrape(http);
  EXPECT_TRUE(server_.wait_for_log({"event=conn.tls", "crypto=userspace ktls_declined="}));
  EXPECT_EQ(server_.count_log("crypto=kernel"), 0);
  double declined = 0;
  for (const char* reason : {"buffered-input", "send-pending", "cipher", "refused"})
    declined += metrics[fmt::format("ringmx_tls_ktls_declined_total{{reason=\"{}\"}}", reason)];
  EXPECT_EQ(declined, 3);
  EXPECT_GE(metrics["ringmx_tls_ktls_declined_total{reason=\"refused\"}"], 2);
  EXPECT_EQ(metrics["ringmx_tls_ktls_offloads_total"], 0);
}

// Kernel mode's own I/O, end to end, on a kernel without kTLS: the test
// server's hand-off "succeeds" without touching the socket
// (RINGMX_TEST_KTLS_PLAIN), so after the handshake the server reads with
// multishot recvmsg and sends unsealed, as it does over kTLS, and the
// client speaks plaintext the way its kernel would hand it over. What the
// kernel would have sealed is seen here as it is: replies, and at the end
// the close_notify payload {1, 0} (plain TCP ignores the SOL_TLS cmsg).
TEST_F(TlsTest, KernelModeReadsWithRecvmsgAndRepliesUnsealedOverPlainTcp) {
  server_.env.push_back("RINGMX_KTLS=try");
  server_.env.push_back("RINGMX_TEST_KTLS_PLAIN=1");
  const int http = free_port();
  start(tls_config(ports_, "", "", management_listener(http)));
  std::string out;
  ASSERT_EQ(python(R"(
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
buf = b""
def reply():
    global buf
    while True:
        # TLS records the server sealed before the hand-off (TLS 1.3 session
        # tickets) come first: a client's kernel would have opened them.
        while buf[:3] == b"" and len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[3:5], "big"):
            buf = buf[5 + int.from_bytes(buf[3:5], "big"):]
        if b"\r\n" in buf and buf[:1] != b"":
            line, buf = buf.split(b"\r\n", 1)
            if line[3:4] != b"-": return line.decode()
            continue
        data = s.recv(65536)
        if not data: return "EOF"
        buf += data
reply(); s.sendall(b"EHLO client.test\r\n"); reply()
s.sendall(b"STARTTLS\r\n"); print("starttls:", reply())
inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, outb)
while True:
    try:
        tls.do_handshake(); break
    except ssl.SSLWantReadError:
        s.sendall(outb.read()); inc.write(s.recv(65536))
s.sendall(outb.read())  # Finished; from here on plaintext, as after a kTLS hand-off
print("version:", tls.version())
s.sendall(b"EHLO client.test\r\n"); print("ehlo:", reply())
body = b"Subject: kernel\r\n\r\n" + b"".join(b"%07d abcdefghijklmnopqrstuvwxyz0123456789\r\n" % i for i in range(30000))
open(sys.argv[0] + ".body", "wb").write(body)
s.sendall(b"MAIL FROM:<a@client.test>\r\n"); print("mail:", reply())
s.sendall(b"RCPT TO:<bob@mx.test>\r\n"); print("rcpt:", reply())
s.sendall(b"DATA\r\n"); print("data:", reply())
s.sendall(body + b".\r\n"); print("end:", reply())
s.sendall(b"QUIT\r\n"); print("quit:", reply())
rest = buf
while True:
    d = s.recv(65536)
    if not d: break
    rest += d
print("after quit:", rest.hex())
)",
                   &out),
            0)
      << out;
  EXPECT_NE(out.find("starttls: 220 2.0.0 Ready to start TLS"), std::string::npos) << out;
  EXPECT_NE(out.find("version: TLSv1.3"), std::string::npos) << out;
  EXPECT_NE(out.find("ehlo: 250 "), std::string::npos) << out;
  EXPECT_NE(out.find("end: 250 2.0.0 Ok: queued as "), std::string::npos) << out;
  EXPECT_NE(out.find("quit: 221 "), std::string::npos) << out;
  EXPECT_NE(out.find("after quit: 0100\n"), std::string::npos) << out;

  const std::string body = read_file(dir_.path() / "client.py.body");
  ASSERT_GT(body.size(), 1000000u);
  EXPECT_EQ(stored_whole(body), 1u);  // zero-copy from the recvmsg buffers, byte for byte
  auto metrics = scrape(http);
  EXPECT_EQ(metrics["ringmx_tls_ktls_offloads_total"], 1);
  EXPECT_TRUE(server_.wait_for_log({"event=conn.tls", "crypto=kernel"}));
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=quit"}));
}

TEST_F(TlsTest, SniPicksEachCertificateAndFallsBackToTheDefault) {
  start(tls_config(ports_));
  std::string out;
  s_client("-servername other.test", &out);
  EXPECT_NE(served_subject(out).find("CN = other.test"), std::string::npos) << out;
  s_client("-servername mail.rsa.test", &out);
  EXPECT_NE(served_subject(out).find("CN = rsa.test"), std::string::npos) << out;
  s_client("-servername unknown.test", &out);
  EXPECT_NE(served_subject(out).find("CN = mx.test"), std::string::npos) << out;
  s_client("-noservername", &out);
  EXPECT_NE(served_subject(out).find("CN = mx.test"), std::string::npos) << out;
  // TLS 1.2 with the RSA certificate picked by SNI: the suites follow the key.
  s_client("-tls1_2 -servername mail.rsa.test", &out);
  EXPECT_NE(out.find("ECDHE-RSA-"), std::string::npos) << out;
}

TEST_F(TlsTest, ProtocolRestrictionRefusesTheOtherVersion) {
  start(tls_config(ports_, "tls.protocols = [\"TLSv1.3\"]", "tls.protocols = [\"TLSv1.2\"]"));
  std::string out;
  EXPECT_NE(s_client("-tls1_2", &out), 0) << out;
  EXPECT_TRUE(server_.wait_for_log({"event=tls.handshake_failed", "offered=TLSv1.2"})) << out;
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "reason=tls-handshake"}));
  EXPECT_EQ(s_client("-tls1_3", &out), 0) << out;
  EXPECT_NE(out.find("New, TLSv1.3"), std::string::npos) << out;

  EXPECT_NE(s_client("-tls1_3", &out, true), 0) << out;
  EXPECT_EQ(s_client("-tls1_2", &out, true), 0) << out;
  EXPECT_NE(out.find("New, TLSv1.2"), std::string::npos) << out;
}

TEST_F(TlsTest, CipherRestrictionRefusesOthersAndOrderFollowsIgnoreClientOrder) {
  start(tls_config(ports_,
                   "tls.ciphers = [\"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\", "
                   "\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\", "
                   "\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"]\n"
                   "tls.protocols = [\"TLSv1.2\"]\n"
                   "tls.ignore-client-order = true",
                   "tls.protocols = [\"TLSv1.2\"]\n"
                   "tls.ciphers = [\"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\", "
                   "\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"]\n"
                   "tls.ignore-client-order = false"));
  std::string out;
  EXPECT_NE(s_client("-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305", &out), 0) << out;
  // Server order wins on the STARTTLS listener...
  const std::string client_prefers_128 =
      "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384";
  EXPECT_EQ(s_client(client_prefers_128, &out), 0) << out;
  EXPECT_NE(out.find("Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"), std::string::npos) << out;
  // ...the client's on the implicit one.
  EXPECT_EQ(s_client(client_prefers_128, &out, true), 0) << out;
  EXPECT_NE(out.find("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"), std::string::npos) << out;
}

// CVE-2011-0411: what was pipelined behind STARTTLS is discarded; after the
// handshake the first reply is the one to the first command sent over TLS.
TEST_F(TlsTest, BytesPipelinedAfterStartTlsAreDiscarded) {
  start(tls_config(ports_));
  std::string out;
  ASSERT_EQ(python(R"(
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline()
        lines.append(l.decode().rstrip())
        if len(l) < 4 or l[3:4] != b"-": return lines
reply()
s.sendall(b"EHLO client.test\r\n"); reply()
s.sendall(b"STARTTLS\r\nRSET\r\n")
print("starttls:", reply()[-1])
t = ctx.wrap_socket(s)
t.sendall(b"NOOP\r\n")
tf = t.makefile("rb")
print("first:", tf.readline().decode().rstrip())
)",
                   &out),
            0)
      << out;
  EXPECT_NE(out.find("starttls: 220 2.0.0 Ready to start TLS"), std::string::npos) << out;
  // The injected RSET never reached the engine: no reply, and not counted.
  EXPECT_NE(out.find("first: 250 2.0.0 Ok"), std::string::npos) << out;
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "starttls=1", "noop=1"})) << out;
  EXPECT_EQ(server_.count_log("rset="), 0) << server_.log_text();
}

TEST_F(TlsTest, SilentClientIsClosedWhenTheHandshakeTimeoutExpires) {
  start(tls_config(ports_));
  Client c;
  ASSERT_TRUE(c.connect("127.0.0.1", ports_.implicit));
  // tls.timeout is 1s on the implicit listener; the tick is 250 ms.
  EXPECT_TRUE(c.closed(3000));
  EXPECT_TRUE(server_.wait_for_log({"event=tls.handshake_failed", "reason=timeout"}));
  EXPECT_TRUE(server_.wait_for_log({"event=conn.close", "listener=smtps", "reason=tls-timeout"}));
}

TEST_F(TlsTest, InlineCertificateAndPythonSmtpSsl) {
  std::string toml = tls_config(ports_);
  const std::string pem = read_file(dir_.path() / "mx.test.pem");
  const std::string key = read_file(dir_.path() / "mx.test.key");
  toml.replace(toml.find("cert = \"file://mx.test.pem\""),
               std::string("cert = \"file://mx.test.pem\"").size(), "cert = '''" + pem + "'''");
  toml.replace(toml.find("private-key = \"file://mx.test.key\""),
               std::string("private-key = \"file://mx.test.key\"").size(),
               "private-key = '''" + key + "'''");
  start(toml);
  std::string out;
  ASSERT_EQ(python(R"(
s = smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[2]), context=ctx)
print("cert:", ssl.DER_cert_to_PEM_cert(s.sock.getpeercert(True)).strip()[:64])
print(s.ehlo("client.test")[0])
s.quit()
)",
                   &out),
            0)
      << out;
  EXPECT_NE(out.find("250"), std::string::npos) << out;
  std::string served;
  s_client("", &served, true);
  EXPECT_NE(served_subject(served).find("CN = mx.test"), std::string::npos) << served;
}

// Reload: new connections get the new certificate; the server keeps running.
TEST_F(TlsTest, ReloadServesTheNewCertificateToNewConnections) {
  const std::string before = tls_config(ports_);
  start(before);
  std::string out;
  s_client("", &out);
  EXPECT_NE(served_subject(out).find("CN = mx.test"), std::string::npos) << out;
  std::string after = before;
  after.replace(after.find("tls.certificate = \"mx\""), 22, "tls.certificate = \"other\"");
  server_.rewrite(after);
  const std::size_t from = server_.log_size();
  server_.signal(SIGHUP);
  ASSERT_TRUE(server_.wait_for_log({"event=reload.done"}, 20000, from)) << server_.log_text();
  s_client("", &out);
  EXPECT_NE(served_subject(out).find("CN = other.test"), std::string::npos) << out;
}

// A key that does not belong to its certificate fails the start, naming it.
TEST_F(TlsTest, MismatchedKeyFailsTheStart) {
  std::string toml = tls_config(ports_);
  toml.replace(toml.find("private-key = \"file://mx.test.key\""),
               std::string("private-key = \"file://mx.test.key\"").size(),
               "private-key = \"file://other.test.key\"");
  EXPECT_FALSE(server_.start(toml, dir_.path()));
  EXPECT_NE(server_.wait_exit(), 0);
  EXPECT_NE(server_.log_text().find("certificate.mx.private-key: the private key does not belong"),
            std::string::npos)
      << server_.log_text();
}

}  // namespace
}  // namespace ringmx::test
