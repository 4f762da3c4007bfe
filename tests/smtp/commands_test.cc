// Transcripts: one client line, the exact reply it gets.
#include <gtest/gtest.h>

#include "tests/smtp/harness.h"

namespace ringmx::smtp::testing {
namespace {

constexpr std::string_view kEhloReply =
    "250-mx.example.com\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 104857600\r\n"
    "250-8BITMIME\r\n"
    "250-BINARYMIME\r\n"
    "250-CHUNKING\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250 SMTPUTF8\r\n";

TEST(Commands, GreetingIsHostNameThenTheConfiguredText) {
  Harness h;
  EXPECT_EQ(h.start(), "220 mx.example.com ringmx ESMTP\r\n");
  Settings lmtp = Harness::defaults();
  lmtp.mode = Mode::lmtp;
  lmtp.greeting = "mail store LMTP";
  Harness l(lmtp);
  EXPECT_EQ(l.start(), "220 mx.example.com mail store LMTP\r\n");
}

TEST(Commands, EhloAdvertisesExtensions) {
  Harness h;
  h.start();
  EXPECT_EQ(h.say("EHLO client.example.org\r\n"), kEhloReply);
}

TEST(Commands, EhloAdvertisesStarttlsOnlyWhenOffered) {
  Settings s = Harness::defaults();
  s.starttls_offered = true;
  s.max_message_size = 2048;
  Harness h(s);
  h.start();
  std::string r = h.say("EHLO c\r\n");
  EXPECT_NE(r.find("250-SIZE 2048\r\n"), std::string::npos);
  EXPECT_NE(r.find("250-SMTPUTF8\r\n250 STARTTLS\r\n"), std::string::npos) << r;
}

TEST(Commands, HeloAndSyntax) {
  Harness h;
  h.start();
  EXPECT_EQ(h.say("HELO client.example.org\r\n"), "250 mx.example.com\r\n");
  EXPECT_EQ(h.say("HELO\r\n"), "501 5.5.2 Syntax: HELO hostname\r\n");
  EXPECT_EQ(h.say("EHLO\r\n"), "501 5.5.2 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(h.say("EHLO two words\r\n"), "501 5.5.2 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(h.say("ehlo [192.0.2.7]\r\n"), kEhloReply) << "verbs are case-insensitive";
}

TEST(Commands, SimpleTransaction) {
  Harness h;
  h.start();
  h.say("EHLO client.example.org\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<alice@example.org>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(h.say("RCPT TO:<bob@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.say("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(h.say("Subject: hi\r\n\r\nHello\r\n.\r\n"), "");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q1\r\n");
  EXPECT_EQ(h.content(), "Subject: hi\r\n\r\nHello\r\n");
  const Envelope& e = h.envelope();
  EXPECT_EQ(e.queue_id, "Q1");
  EXPECT_EQ(e.received_at, "2026-11-26T00:25:40Z");
  EXPECT_EQ(e.listener, "inbound");
  EXPECT_EQ(e.client, "192.0.2.7:41234");
  EXPECT_EQ(e.helo, "client.example.org");
  EXPECT_EQ(e.tls, "none");
  EXPECT_EQ(e.mail_from, "alice@example.org");
  EXPECT_EQ(e.mail_params, "");
  ASSERT_EQ(e.rcpt_to.size(), 1u);
  EXPECT_EQ(e.rcpt_to[0].address, "bob@example.com");
  EXPECT_EQ(e.size, h.stored().size());
  EXPECT_EQ(h.say("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(h.closed);
}

TEST(Commands, ReceivedHeaderIsItsOwnFirstChunk) {
  Harness h;
  h.start();
  h.say("EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n");
  h.say("DATA\r\n");
  EXPECT_EQ(h.stored(0), "<no message 0>");
  h.say("x\r\n.\r\n");
  EXPECT_EQ(h.stored(),
            "Received: from client.example.org ([192.0.2.7])\r\n"
            "\tby mx.example.com (ringmx) with ESMTP id Q1\r\n"
            "\tfor <b@example.com>; Thu, 26 Nov 2026 00:25:40 +0000\r\n"
            "x\r\n");
}

TEST(Commands, ReceivedHeaderWithHeloTwoRecipientsAndIpv6) {
  Settings s = Harness::defaults();
  Harness h(s);
  ConnectionInfo c;
  c.client = "[2001:db8::1]:5000";
  c.client_ip = "2001:db8::1";
  h.session = std::make_unique<Session>(h.settings, h.ids, h.clock, c);
  h.start();
  h.say("HELO old\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n");
  h.say("DATA\r\nx\r\n.\r\n");
  EXPECT_EQ(h.stored(),
            "Received: from old ([IPv6:2001:db8::1])\r\n"
            "\tby mx.example.com (ringmx) with SMTP id Q1; Thu, 26 Nov 2026 00:25:40 +0000\r\n"
            "x\r\n");
  EXPECT_EQ(h.envelope().mail_from, "");
}

TEST(Commands, OutOfOrder) {
  Harness h;
  h.start();
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  h.say("EHLO c\r\n");
  EXPECT_EQ(h.say("RCPT TO:<a@b.c>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(h.say("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  h.say("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(h.say("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(h.say("BDAT 3\r\nabc"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(h.say("NOOP\r\n"), "250 2.0.0 Ok\r\n") << "the refused BDAT chunk was skipped";
}

TEST(Commands, MailWithoutEhloWhenNotRequired) {
  Settings s = Harness::defaults();
  s.ehlo_require = false;
  Harness h(s);
  h.start();
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(Commands, UnknownAndSmallCommands) {
  Harness h;
  h.start();
  EXPECT_EQ(h.say("EXPN staff\r\n"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(h.say("\r\n"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(h.say("LHLO c\r\n"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(h.say("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.say("NOOP anything\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.say("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.say("RSET x\r\n"), "501 5.5.4 Syntax: RSET\r\n");
  EXPECT_EQ(h.say("VRFY bob\r\n"),
            "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(h.say("VRFY\r\n"), "501 5.5.4 Syntax: VRFY address\r\n");
  EXPECT_EQ(h.say("HELP\r\n"),
            "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY "
            "STARTTLS\r\n");
  EXPECT_EQ(h.say("STARTTLS\r\n"), "502 5.5.1 Error: STARTTLS not offered\r\n");
  EXPECT_EQ(h.say("DATA x\r\n"), "501 5.5.4 Syntax: DATA\r\n");
}

TEST(Commands, CommandLineMayEndInBareLf) {
  Harness h;
  h.start();
  EXPECT_EQ(h.say("NOOP\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.say("HELO c\nNOOP\r\n"), "250 mx.example.com\r\n250 2.0.0 Ok\r\n");
}

TEST(Commands, RsetEndsTransaction) {
  Harness h;
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n");
  EXPECT_TRUE(h.session->in_transaction());
  EXPECT_EQ(h.say("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_FALSE(h.session->in_transaction());
  EXPECT_EQ(h.say("RCPT TO:<d@e.f>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  h.say("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(h.say("EHLO again\r\n").substr(0, 4), "250-");
  EXPECT_EQ(h.say("RCPT TO:<d@e.f>\r\n"), "503 5.5.1 Error: need MAIL command\r\n")
      << "EHLO resets the transaction";
}

TEST(Commands, MailParameters) {
  Harness h;
  h.start();
  h.say("EHLO c\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME\r\n"), "250 2.1.0 Ok\r\n");
  h.say("RSET\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> SIZE=104857601\r\n"),
            "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> SIZE=99999999999999999999999\r\n"),
            "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> SIZE=12x\r\n"), "501 5.5.4 Error: bad SIZE parameter\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> SIZE=1 SIZE=2\r\n"),
            "501 5.5.4 Error: bad SIZE parameter\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> BODY=9BIT\r\n"),
            "501 5.5.4 Error: BODY must be 7BIT, 8BITMIME or BINARYMIME\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> SMTPUTF8=yes\r\n"),
            "501 5.5.4 Error: bad SMTPUTF8 parameter\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> RET=FULL\r\n"),
            "555 5.5.4 Error: unsupported parameter RET\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> =x\r\n"), "501 5.5.4 Error: bad parameter syntax\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c>SIZE=1\r\n"),
            "501 5.5.2 Syntax: MAIL FROM:<address> [parameters]\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<a@b.c> body=binarymime smtputf8\r\n"), "250 2.1.0 Ok\r\n");
  h.say("RCPT TO:<d@e.f>\r\n");
  EXPECT_EQ(h.say("DATA\r\n"), "503 5.5.1 Error: BODY=BINARYMIME needs BDAT\r\n");
  EXPECT_EQ(h.say(std::string_view("BDAT 2 LAST\r\n\x00\xff", 15)), "");
  EXPECT_EQ(h.commit(CommitResult::committed), "250 2.0.0 Ok: queued as Q1\r\n");
  EXPECT_EQ(h.content(), std::string("\x00\xff", 2));
  EXPECT_EQ(h.envelope().mail_params, "body=binarymime smtputf8");
}

TEST(Commands, MailAndRcptSyntax) {
  Harness h;
  h.start();
  h.say("EHLO c\r\n");
  EXPECT_EQ(h.say("MAIL a@b.c\r\n"),
            "501 5.5.2 Syntax: MAIL FROM:<address> [SIZE=n] [BODY=7BIT|8BITMIME|BINARYMIME] "
            "[SMTPUTF8]\r\n");
  EXPECT_EQ(h.say("MAIL FROM:a@b.c\r\n"),
            "501 5.1.7 Error: bad sender address syntax, expected <local@domain>\r\n");
  EXPECT_EQ(h.say("MAIL FROM: <a@b.c>\r\n"), "250 2.1.0 Ok\r\n") << "space after colon tolerated";
  EXPECT_EQ(h.say("RCPT bob\r\n"), "501 5.5.2 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(h.say("RCPT TO:<>\r\n"),
            "501 5.1.3 Error: bad recipient address syntax, expected <local@domain>\r\n");
  EXPECT_EQ(h.say("RCPT TO:<bob>\r\n"),
            "501 5.1.3 Error: bad recipient address syntax, expected <local@domain>\r\n");
  EXPECT_EQ(h.say("RCPT TO:<Postmaster>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.say("RCPT TO:<d@e.f> NOTIFY=NEVER\r\n"),
            "555 5.5.4 Error: unsupported parameter NOTIFY\r\n");
  EXPECT_EQ(h.say("RCPT TO:<\"john smith\"@e.f>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.say("RCPT TO:<@relay.example:d@e.f>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.say("RCPT TO:<d@\xc3\xa9.f>\r\n"),
            "553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
  h.say("DATA\r\n.\r\n");
  h.commit(CommitResult::committed);
  const Envelope& e = h.envelope();
  ASSERT_EQ(e.rcpt_to.size(), 3u);
  EXPECT_EQ(e.rcpt_to[0].address, "Postmaster");
  EXPECT_EQ(e.rcpt_to[1].address, "\"john smith\"@e.f");
  EXPECT_EQ(e.rcpt_to[2].address, "d@e.f") << "source route dropped";
}

TEST(Commands, Utf8AddressesWithSmtputf8) {
  Harness h;
  h.start();
  h.say("EHLO c\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<j\xc3\xb6rg@b.c>\r\n"),
            "553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
  EXPECT_EQ(h.say("MAIL FROM:<j\xc3\xb6rg@b.c> SMTPUTF8\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(
      h.say("RCPT "
            "TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8>\r\n"),
      "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.say("RCPT TO:<bad\xc3@b.c>\r\n"),
            "501 5.1.3 Error: bad recipient address syntax, expected <local@domain>\r\n")
      << "invalid UTF-8";
}

TEST(Commands, RecipientDomains) {
  Settings s = Harness::defaults();
  s.rcpt_domains = {"example.com", "example.net"};
  Harness h(s);
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@elsewhere.org>\r\n");
  EXPECT_EQ(h.say("RCPT TO:<bob@Example.COM>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.say("RCPT TO:<bob@example.net>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(h.say("RCPT TO:<bob@example.org>\r\n"), "550 5.7.1 Error: relay access denied\r\n");
  EXPECT_EQ(h.say("RCPT TO:<bob@sub.example.com>\r\n"), "550 5.7.1 Error: relay access denied\r\n");
  EXPECT_EQ(h.say("RCPT TO:<postmaster>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(Commands, CountsForTheDisconnectLine) {
  Harness h;
  h.start();
  h.say("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x>\r\nRCPT TO:<d@e.f>\r\nFOO\r\n");
  h.say("DATA\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(h.session->counts().summary(),
            "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 unknown=0/1 commands=5/7");
}

}  // namespace
}  // namespace ringmx::smtp::testing

namespace ringmx::smtp::testing {
namespace {

TEST(SettingsBounds, DefaultsAreValidAndEachBoundIsChecked) {
  EXPECT_EQ(Harness::defaults().validate(), std::nullopt);
  Settings s = Harness::defaults();
  s.max_line = 100;
  EXPECT_EQ(s.validate(), "max_line=100: must be in [512, 65536]");
  s = Harness::defaults();
  s.max_recipients = 0;
  EXPECT_EQ(s.validate(), "max_recipients=0: must be in [1, 100000]");
  s = Harness::defaults();
  s.max_message_size = 10;
  EXPECT_EQ(s.validate(), "max_message_size=10: must be in [1024, 1099511627776]");
  s = Harness::defaults();
  s.max_messages = 0;
  EXPECT_EQ(s.validate(), "max_messages=0: must be in [1, 1000000]");
  s = Harness::defaults();
  s.max_received_headers = 5000;
  EXPECT_EQ(s.validate(), "max_received_headers=5000: must be in [1, 1000]");
  s = Harness::defaults();
  s.transfer_limit = 1;
  EXPECT_EQ(s.validate(), "transfer_limit=1: must be in [4096, 17592186044416]");
  s = Harness::defaults();
  s.tls_required = true;
  EXPECT_EQ(s.validate(), "tls_required: needs starttls_offered (a certificate)");
  s.hostname.clear();
  EXPECT_EQ(s.validate(), "hostname: must not be empty");
}

}  // namespace
}  // namespace ringmx::smtp::testing
