// The session around the commands: commit results in order behind
// pipelined input, LMTP per-recipient replies, limits, STARTTLS, timeouts
// and shutdown.
#include <gtest/gtest.h>

#include "tests/smtp/harness.h"

namespace ringmx::smtp::testing {
namespace {

constexpr std::string_view kTx =
    "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nbody\r\n.\r\n";

Harness greeted(Settings s = Harness::defaults()) {
  Harness h(std::move(s));
  h.start();
  h.say("EHLO c\r\n");
  return h;
}

// --- commit results --------------------------------------------------------

struct Outcome3 {
  CommitResult result;
  const char* reply;
};
class CommitOutcome : public ::testing::TestWithParam<Outcome3> {};

TEST_P(CommitOutcome, ReplyComesBeforeThePipelinedCommandsBehindIt) {
  Harness h = greeted();
  // Everything in one read: the message, then more commands.
  std::string replies = h.say(std::string(kTx) + "NOOP\r\nMAIL FROM:<c@example.org>\r\nRSET\r\n");
  EXPECT_EQ(replies, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
      << "replies after the message wait for its commit";
  EXPECT_EQ(h.awaiting.size(), 1u);
  EXPECT_TRUE(h.session->in_transaction());
  EXPECT_EQ(h.commit(GetParam().result),
            std::string(GetParam().reply) + "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n");
}

INSTANTIATE_TEST_SUITE_P(
    Results, CommitOutcome,
    ::testing::Values(Outcome3{CommitResult::committed, "250 2.0.0 Ok: queued as Q1\r\n"},
                      Outcome3{CommitResult::no_space, "452 4.3.1 Insufficient system storage\r\n"},
                      Outcome3{CommitResult::failed, "451 4.3.0 Local error in processing\r\n"}));

TEST(Commit, SeveralMessagesPendingAnsweredInOrder) {
  Harness h = greeted();
  EXPECT_EQ(h.say(std::string(kTx) + std::string(kTx) + "QUIT\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(h.session->pending_commits(), 2u);
  EXPECT_FALSE(h.closed) << "close waits behind the replies";
  EXPECT_EQ(h.commit(CommitResult::no_space),
            "452 4.3.1 Insufficient system storage\r\n"
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_FALSE(h.closed);
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q2\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(h.closed);
  EXPECT_NE(h.stored(0).find("id Q1"), std::string::npos);
  EXPECT_NE(h.stored(1).find("id Q2"), std::string::npos);
}

TEST(Commit, ResultWithNothingPendingIsIgnored) {
  Harness h = greeted();
  EXPECT_EQ(h.commit(CommitResult::committed), "");
  EXPECT_EQ(h.say("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

// --- LMTP --------------------------------------------------------------------

Settings lmtp() {
  Settings s = Harness::defaults();
  s.mode = Mode::lmtp;
  return s;
}

TEST(Lmtp, LhloAndNoEhlo) {
  Harness h(lmtp());
  h.start();
  EXPECT_EQ(h.say("EHLO c\r\n"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(h.say("HELO c\r\n"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: send LHLO first\r\n");
  EXPECT_EQ(h.say("LHLO c\r\n").substr(0, 20), "250-mx.example.com\r\n");
}

TEST(Lmtp, OneReplyPerRecipientInRcptOrder) {
  Harness h(lmtp());
  h.start();
  h.say("LHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<one@example.com>\r\n");
  h.say("RCPT TO:<bad>\r\nRCPT TO:<two@example.com>\r\nRCPT TO:<three@example.com>\r\n");
  h.say("DATA\r\nbody\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(h.commit({CommitResult::committed, CommitResult::no_space, CommitResult::failed}),
            "250 2.0.0 <one@example.com> Ok: queued as Q1\r\n"
            "452 4.3.1 <two@example.com> Insufficient system storage\r\n"
            "451 4.3.0 <three@example.com> Local error in processing\r\n"
            "250 2.0.0 Ok\r\n");
  EXPECT_NE(h.stored().find("with LMTP id Q1"), std::string::npos);
}

TEST(Lmtp, SingleResultAppliesToEveryRecipient) {
  Harness h(lmtp());
  h.start();
  h.say("LHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@e.com>\r\nRCPT TO:<y@e.com>\r\n");
  h.say("BDAT 4 LAST\r\nbody");
  EXPECT_EQ(h.commit(CommitResult::committed),
            "250 2.0.0 <x@e.com> Ok: queued as Q1\r\n250 2.0.0 <y@e.com> Ok: queued as Q1\r\n");
}

// --- limits ------------------------------------------------------------------

TEST(Limits, LineTooLongAnsweredBeforeItsEnd) {
  Harness h = greeted();
  std::string accepted = "NOOP " + std::string(4096 - 7, 'x') + "\r\n";  // 4096 octets
  EXPECT_EQ(h.say(accepted), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.say("NOOP " + std::string(4096 - 5, 'x')), "500 5.5.2 Error: line too long\r\n")
      << "refused as soon as the limit is passed, before any LF";
  EXPECT_EQ(h.say(std::string(100000, 'y')), "") << "the rest is skipped, not buffered";
  EXPECT_EQ(h.say("still skipped\r\nNOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(Limits, LineLimitCountsAcrossReads) {
  Settings s = Harness::defaults();
  s.max_line = 512;
  Harness h = greeted(s);
  std::string line = "NOOP " + std::string(505, 'x') + "\r\n";  // 512 octets
  Outcome o = same_in_every_split(
      s, "EHLO c\r\n" + line + "NOOP " + std::string(506, 'x') + "\r\nNOOP\r\n");
  EXPECT_NE(o.replies.find("250 2.0.0 Ok\r\n500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n"),
            std::string::npos)
      << o.replies;
}

TEST(Limits, MaxRecipients) {
  Settings s = Harness::defaults();
  s.max_recipients = 2;
  Harness h = greeted(s);
  h.say("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.say("RCPT TO:<1@b.c>\r\nRCPT TO:<2@b.c>\r\nRCPT TO:<3@b.c>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n");
}

TEST(Limits, MaxMessagesPerSession) {
  Settings s = Harness::defaults();
  s.max_messages = 2;
  Harness h = greeted(s);
  h.auto_commit = CommitResult::committed;
  h.say(std::string(kTx) + std::string(kTx));
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>\r\n"),
            "452 4.7.0 Error: too many messages in this session, reconnect\r\n");
}

TEST(Limits, TransferLimitClosesWith421) {
  Settings s = Harness::defaults();
  s.transfer_limit = 4096;
  Harness h = greeted(s);
  h.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  EXPECT_EQ(h.say(std::string(5000, 'z')),
            "421 4.7.0 mx.example.com Error: transfer limit exceeded\r\n");
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(h.aborts, 1) << "the message in progress is not kept";
  EXPECT_EQ(h.say("NOOP\r\n"), "") << "nothing after close";
}

TEST(Limits, IdleTimeoutAndDuration) {
  Harness h = greeted();
  h.session->idle_timeout(h.out);
  EXPECT_EQ(h.drain(), "421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
  EXPECT_TRUE(h.closed);
  Harness d = greeted();
  d.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 10\r\nabc");
  d.session->duration_exceeded(d.out);
  EXPECT_EQ(d.drain(), "421 4.7.0 mx.example.com Error: session time limit exceeded\r\n");
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(d.aborts, 1);
}

TEST(Limits, HardCloseSilencesPendingCommits) {
  Harness h = greeted();
  h.say(std::string(kTx) + "NOOP\r\n");
  h.session->duration_exceeded(h.out);
  EXPECT_EQ(h.drain(), "421 4.7.0 mx.example.com Error: session time limit exceeded\r\n");
  EXPECT_EQ(h.commit(CommitResult::committed), "") << "nothing is sent after the close";
  EXPECT_EQ(h.session->pending_commits(), 0u);
}

// --- shutdown ----------------------------------------------------------------

TEST(Shutdown, IdleSessionClosesAtOnce) {
  Harness h = greeted();
  h.session->shutdown(h.out);
  EXPECT_EQ(h.drain(), "421 4.3.2 mx.example.com Service shutting down\r\n");
  EXPECT_TRUE(h.closed);
}

TEST(Shutdown, TransactionFinishesFirst) {
  Harness h = greeted();
  h.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\npart");
  h.session->shutdown(h.out);
  EXPECT_EQ(h.drain(), "");
  EXPECT_FALSE(h.closed);
  EXPECT_EQ(h.say("\r\n.\r\nMAIL FROM:<a@example.org>\r\n"), "");
  EXPECT_EQ(h.commit(CommitResult::committed),
            "250 2.0.0 Ok: queued as Q1\r\n421 4.3.2 mx.example.com Service shutting down\r\n");
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(h.content(), "part\r\n");
}

// --- STARTTLS ------------------------------------------------------------------

Settings tls() {
  Settings s = Harness::defaults();
  s.starttls_offered = true;
  return s;
}

TEST(Starttls, DiscardsWhatWasPipelinedBehindIt) {
  Harness h = greeted(tls());
  std::string in = "STARTTLS\r\nMAIL FROM:<injected@evil>\r\n";
  EXPECT_EQ(h.say(in), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(h.last_consumed, 10u) << "up to the end of the STARTTLS line (CVE-2011-0411)";
  EXPECT_TRUE(h.start_tls);
  EXPECT_EQ(h.say("MAIL FROM:<x@y.z>\r\n"), "") << "ignored during the handshake";
  ConnectionInfo c;
  c.client = "192.0.2.7:41234";
  c.client_ip = "192.0.2.7";
  c.tls_description = "TLSv1.3 TLS_AES_128_GCM_SHA256";
  h.session->tls_established(c, h.out);
  EXPECT_EQ(h.drain(), "");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n")
      << "EHLO again after TLS";
  std::string ehlo = h.say("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  EXPECT_EQ(h.say("STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
  h.say(kTx);
  h.commit(CommitResult::committed);
  EXPECT_EQ(h.envelope().tls, "TLSv1.3 TLS_AES_128_GCM_SHA256");
  EXPECT_NE(h.stored().find("\t(using TLSv1.3 TLS_AES_128_GCM_SHA256)\r\n"
                            "\tby mx.example.com (ringmx) with ESMTPS id Q1"),
            std::string::npos)
      << h.stored();
}

TEST(Starttls, RequiredBeforeMail) {
  Settings s = tls();
  s.tls_required = true;
  Harness h = greeted(s);
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(h.say("BDAT 3\r\nabcNOOP\r\n"),
            "530 5.7.0 Must issue a STARTTLS command first\r\n250 2.0.0 Ok\r\n")
      << "a refused BDAT chunk is still skipped";
  EXPECT_EQ(h.say("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
  EXPECT_EQ(h.say("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
}

TEST(Starttls, RefusedInsideATransaction) {
  Harness h = greeted(tls());
  h.say("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.say("STARTTLS\r\n"), "503 5.5.1 Error: MAIL transaction in progress\r\n");
}

// --- memory ---------------------------------------------------------------------

TEST(Memory, IdleSessionIsSmall) {
  EXPECT_LE(sizeof(Session), 512u) << "the runtime's budget is 4 KiB per idle connection";
}

}  // namespace
}  // namespace ringmx::smtp::testing

namespace ringmx::smtp::testing {
namespace {

TEST(Disconnect, AbortsTheMessageInProgressAndSilencesPending) {
  Harness h;
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\n");
  h.say("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nhalf a mess");
  h.session->disconnected(h.out);
  EXPECT_EQ(h.drain(), "");
  EXPECT_EQ(h.aborts, 1);
  EXPECT_TRUE(h.session->closed());
  EXPECT_EQ(h.commit(CommitResult::committed), "") << "nobody to tell";
  EXPECT_FALSE(h.session->in_transaction());
}

}  // namespace
}  // namespace ringmx::smtp::testing

namespace ringmx::smtp::testing {
namespace {

// Found by fuzz_smtp: a timeout while STARTTLS's 220 waited behind a pending
// commit let that commit's 250 out after the 421 and the close.
TEST(Limits, TimeoutWithStarttlsHeldBehindACommit) {
  Settings s = Harness::defaults();
  s.starttls_offered = true;
  Harness h(s);
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\n");
  EXPECT_EQ(h.say("STARTTLS\r\n"), "");
  EXPECT_FALSE(h.start_tls) << "held behind the commit";
  h.session->idle_timeout(h.out);
  EXPECT_EQ(h.drain(), "421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(h.commit(CommitResult::committed), "");
  EXPECT_FALSE(h.start_tls);
}

}  // namespace
}  // namespace ringmx::smtp::testing
