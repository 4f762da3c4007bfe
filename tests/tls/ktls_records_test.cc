// What the runtime does with each kind of record read from a kTLS socket,
// and the close_notify it sends there: the sans-I/O halves of the kernel
// path (tls/ktls.h), checked on buffers laid out exactly as a multishot
// recvmsg completion lays them out (io_uring_recvmsg_out, name, control,
// payload), since the kernel here has no kTLS to produce them.
#include <gtest/gtest.h>
#include <liburing.h>
#include <linux/tls.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "tls/ktls.h"

namespace ringmx::tls {
namespace {

// One completion's buffer: the header, a TLS_GET_RECORD_TYPE cmsg when
// `type` is set (else an empty control area), then `payload`.
std::vector<char> completion(const msghdr& msg, std::optional<std::uint8_t> type,
                             std::string_view payload, unsigned flags = 0) {
  std::vector<char> buf(sizeof(io_uring_recvmsg_out) + msg.msg_namelen + msg.msg_controllen +
                        payload.size());
  io_uring_recvmsg_out out{};
  out.namelen = 0;
  out.controllen = type ? static_cast<unsigned>(CMSG_SPACE(1)) : 0;
  out.payloadlen = static_cast<unsigned>(payload.size());
  out.flags = flags;
  std::memcpy(buf.data(), &out, sizeof out);
  if (type) {
    cmsghdr c{};
    c.cmsg_level = SOL_TLS;
    c.cmsg_type = TLS_GET_RECORD_TYPE;
    c.cmsg_len = CMSG_LEN(1);
    char* at = buf.data() + sizeof out + msg.msg_namelen;
    std::memcpy(at, &c, sizeof c);
    at[CMSG_LEN(0)] = static_cast<char>(*type);
  }
  std::memcpy(buf.data() + sizeof out + msg.msg_namelen + msg.msg_controllen, payload.data(),
              payload.size());
  return buf;
}

KtlsRecord parse(std::optional<std::uint8_t> type, std::string_view payload, unsigned flags = 0) {
  static const msghdr msg = ktls_recvmsg_template();
  static std::vector<char> keep;  // the payload view points into it
  keep = completion(msg, type, payload, flags);
  return parse_ktls_recvmsg(keep, msg);
}

std::string text(std::span<const char> s) {
  return {s.data(), s.size()};
}

TEST(KtlsRecords, TemplateHasRoomForOneRecordTypeCmsgAndNoName) {
  const msghdr m = ktls_recvmsg_template();
  EXPECT_EQ(m.msg_namelen, 0u);
  EXPECT_EQ(m.msg_controllen, CMSG_SPACE(1));
  EXPECT_EQ(m.msg_iovlen, 0u);  // the provided buffer is the payload
}

TEST(KtlsRecords, ApplicationDataGoesToTheEngine) {
  const KtlsRecord r = parse(kRecordApplicationData, "EHLO client.test\r\n");
  EXPECT_EQ(r.action, KtlsRecordAction::data);
  EXPECT_EQ(r.record_type, 23);
  EXPECT_EQ(text(r.payload), "EHLO client.test\r\n");
}

TEST(KtlsRecords, DataWithoutACmsgIsData) {
  // The kernel always adds the type when there is room; it may be missing
  // only for data (a data record does not fail when the cmsg does not fit).
  const KtlsRecord r = parse(std::nullopt, "QUIT\r\n");
  EXPECT_EQ(r.action, KtlsRecordAction::data);
  EXPECT_EQ(r.record_type, -1);
  EXPECT_EQ(text(r.payload), "QUIT\r\n");
}

TEST(KtlsRecords, ZeroBytesIsEndOfStream) {
  // A multishot recvmsg reports EOF as a completion with a header and no payload.
  const KtlsRecord r = parse(std::nullopt, "");
  EXPECT_EQ(r.action, KtlsRecordAction::end);
  EXPECT_EQ(r.what, "eof");
}

TEST(KtlsRecords, CloseNotifyEndsTheSessionLikeEof) {
  const KtlsRecord r = parse(kRecordAlert, std::string_view("\x01\x00", 2));
  EXPECT_EQ(r.action, KtlsRecordAction::end);
  EXPECT_EQ(r.record_type, 21);
  EXPECT_EQ(r.what, "close_notify");
  EXPECT_TRUE(r.payload.empty());
}

TEST(KtlsRecords, OtherAlertsCloseAtOnce) {
  const KtlsRecord fatal =
      parse(kRecordAlert, std::string_view("\x02\x28", 2));  // handshake_failure
  EXPECT_EQ(fatal.action, KtlsRecordAction::close_abort);
  EXPECT_EQ(fatal.what, "alert 40");
  const KtlsRecord canceled =
      parse(kRecordAlert, std::string_view("\x01\x5a", 2));  // user_canceled
  EXPECT_EQ(canceled.action, KtlsRecordAction::close_abort);
  EXPECT_EQ(canceled.what, "alert 90");
  const KtlsRecord odd = parse(kRecordAlert, std::string_view("\x01", 1));
  EXPECT_EQ(odd.action, KtlsRecordAction::close_abort);
}

TEST(KtlsRecords, KeyUpdateAndOtherHandshakeMessagesCloseCleanly) {
  // KeyUpdate (24), length 1, update_requested.
  const KtlsRecord ku = parse(kRecordHandshake, std::string_view("\x18\x00\x00\x01\x01", 5));
  EXPECT_EQ(ku.action, KtlsRecordAction::close_clean);
  EXPECT_EQ(ku.record_type, 22);
  EXPECT_EQ(ku.what, "key_update");
  EXPECT_TRUE(ku.payload.empty());  // nothing of it reaches the engine
  const KtlsRecord other = parse(kRecordHandshake, std::string_view("\x01\x00\x00\x00", 4));
  EXPECT_EQ(other.action, KtlsRecordAction::close_clean);
  EXPECT_EQ(other.what, "handshake message 1");
}

TEST(KtlsRecords, UnknownTypesTruncatedControlAndShortBuffersAbort) {
  EXPECT_EQ(parse(20, "\x01").action, KtlsRecordAction::close_abort);  // change_cipher_spec
  EXPECT_EQ(parse(kRecordApplicationData, "data", MSG_CTRUNC).action,
            KtlsRecordAction::close_abort);
  const msghdr msg = ktls_recvmsg_template();
  std::vector<char> shorter(sizeof(io_uring_recvmsg_out) + msg.msg_controllen - 1);
  EXPECT_EQ(parse_ktls_recvmsg(shorter, msg).action, KtlsRecordAction::close_abort);
}

TEST(KtlsRecords, CloseNotifyMessageIsOneAlertRecordTypeCmsgAndWarningCloseNotify) {
  const msghdr& m = close_notify_message();
  EXPECT_EQ(m.msg_name, nullptr);
  EXPECT_EQ(m.msg_namelen, 0u);
  ASSERT_EQ(m.msg_iovlen, 1u);
  ASSERT_EQ(m.msg_iov[0].iov_len, 2u);
  const auto* p = static_cast<const unsigned char*>(m.msg_iov[0].iov_base);
  EXPECT_EQ(p[0], 1);  // warning
  EXPECT_EQ(p[1], 0);  // close_notify
  ASSERT_EQ(m.msg_controllen, CMSG_SPACE(1));
  const cmsghdr* c = CMSG_FIRSTHDR(&m);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cmsg_level, SOL_TLS);
  EXPECT_EQ(c->cmsg_type, TLS_SET_RECORD_TYPE);
  EXPECT_EQ(c->cmsg_len, CMSG_LEN(1));
  EXPECT_EQ(*CMSG_DATA(c), 21);
  EXPECT_EQ(CMSG_NXTHDR(const_cast<msghdr*>(&m), const_cast<cmsghdr*>(c)), nullptr);
  // Built once: every connection sends the same immutable message.
  EXPECT_EQ(&close_notify_message(), &m);
}

}  // namespace
}  // namespace ringmx::tls
