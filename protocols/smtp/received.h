// The Received header the engine puts in front of each message (RFC 5321
// 4.4, RFC 5322 3.6.7) and the two date formats it needs.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace ringmx::smtp {

struct ReceivedFields {
  std::string_view helo;       // what the client said in EHLO/HELO/LHLO
  std::string_view client_ip;  // "192.0.2.7" or "2001:db8::1"
  std::string_view hostname;   // ours
  std::string_view protocol;   // "ESMTP", "ESMTPS", "SMTP", "LMTP", "LMTPS" (RFC 3848)
  std::string_view tls;        // "TLSv1.3 TLS_AES_128_GCM_SHA256" or empty
  std::string_view queue_id;
  std::string_view recipient;  // named in "for <...>" only when the message has one
  std::chrono::system_clock::time_point when;
};

// Appends the header field, folded, ending in CRLF:
//   Received: from mx.example.org ([192.0.2.7])
//   	(using TLSv1.3 TLS_AES_128_GCM_SHA256)
//   	by gw.example.com (ringmx) with ESMTPS id 00000001A0000001
//   	for <user@example.com>; Thu, 26 Nov 2026 00:25:40 +0000
void append_received(std::string& out, const ReceivedFields& f);

// "Thu, 26 Nov 2026 00:25:40 +0000" (RFC 5322 3.3), always UTC.
void append_rfc5322_date(std::string& out, std::chrono::system_clock::time_point t);
// "2026-11-26T00:25:40Z" (RFC 3339).
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace ringmx::smtp
