// What one SMTP/LMTP listener asks of the engine. The runtime maps the
// configuration onto this struct once per listener; every session of the
// listener points at the same instance (it must outlive them).
//
// Each limit is declared once here: its default, minimum and maximum live in
// one `Bounds` constant beside the field, and validate() checks them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringmx::smtp {

enum class Mode : uint8_t { smtp, lmtp };

// session.data.bare-newline: what a bare LF inside DATA content does.
enum class BareNewline : uint8_t {
  normalize,  // ends a content line, stored as CRLF, never ends the message (Postfix 3.9)
  reject,     // the message is refused with 550 5.6.0; nothing is stored
};

template <typename T>
struct Bounds {
  T min, def, max;
};

// Octets of a command line including its CRLF. RFC 5321 4.5.3.1.4: at
// least 512; extensions may raise it (Postfix accepts 2048).
inline constexpr Bounds<size_t> kMaxLine{512, 4096, 65536};
// RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted.
inline constexpr Bounds<uint32_t> kMaxRecipients{1, 100, 100000};
// Message content octets after dot-unstuffing, without our Received header.
inline constexpr Bounds<uint64_t> kMaxMessageSize{1024, 104857600, uint64_t{1} << 40};
inline constexpr Bounds<uint32_t> kMaxMessages{1, 100, 1000000};
// Received header fields in the client's header section (mail loop guard).
inline constexpr Bounds<uint32_t> kMaxReceivedHeaders{1, 50, 1000};
// Octets the client may send over the whole session.
inline constexpr Bounds<uint64_t> kTransferLimit{4096, 262144000, uint64_t{1} << 44};

struct Settings {
  Mode mode = Mode::smtp;
  std::string hostname = "localhost";     // in the greeting, EHLO, Received "by"
  std::string greeting = "ringmx ESMTP";  // "220 <hostname> <greeting>"
  std::string listener;                   // listener name, copied into each envelope
  size_t max_line = kMaxLine.def;
  uint32_t max_recipients = kMaxRecipients.def;
  uint64_t max_message_size = kMaxMessageSize.def;
  uint32_t max_messages = kMaxMessages.def;
  uint32_t max_received_headers = kMaxReceivedHeaders.def;
  uint64_t transfer_limit = kTransferLimit.def;
  bool ehlo_require = true;               // MAIL before EHLO/HELO/LHLO: 503 5.5.1
  std::vector<std::string> rcpt_domains;  // empty: any domain; else others get 550 5.7.1
  BareNewline bare_newline = BareNewline::normalize;
  bool starttls_offered = false;  // the listener has a certificate: advertise STARTTLS
  bool tls_required = false;      // before TLS only EHLO/HELO/LHLO/STARTTLS/NOOP/RSET/QUIT/HELP

  // nullopt when every field is inside its bounds, else "max_line=100: must be in [512, 65536]".
  std::optional<std::string> validate() const;
};

}  // namespace ringmx::smtp
