// The envelope the spool stores with each message, and its on-disk encoding
// (a list of tagged fields, see delivery/FORMAT.md "Commit record").
//
// delivery/ does not depend on protocols/: the runtime maps the SMTP
// engine's transaction onto this struct when the message ends.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ringmx::delivery {

struct Recipient {
  std::string address;  // without angle brackets
  std::string params;   // ESMTP parameters as received, e.g. "NOTIFY=NEVER"; may be empty
  bool operator==(const Recipient&) const = default;
};

struct Envelope {
  std::string queue_id;     // assigned by the spool at commit; ignored on input
  std::string received_at;  // RFC 3339, e.g. "2026-11-26T00:25:40.123Z"
  std::string listener;     // listener name from the configuration
  std::string client;       // "address:port" of the peer (after PROXY, the original client)
  std::string helo;         // HELO/EHLO/LHLO argument
  std::string tls;          // "none", or "TLSv1.3 TLS_AES_128_GCM_SHA256"
  std::string mail_from;    // reverse path without angle brackets; "" for the null sender
  std::string mail_params;  // MAIL FROM parameters as received, e.g. "SIZE=1024 BODY=8BITMIME"
  std::vector<Recipient> rcpt_to;
  uint64_t size = 0;  // message bytes; set by the spool at commit, ignored on input
  bool operator==(const Envelope&) const = default;
};

// Appends the tagged-field encoding of `env` to `out`.
void encode_envelope(const Envelope& env, std::string& out);

// Decodes what encode_envelope wrote; unknown tags are skipped (newer
// writers may add fields). nullopt when a field runs past the end.
std::optional<Envelope> decode_envelope(std::span<const char> bytes);

}  // namespace ringmx::delivery
