// A read-only look at the first ClientHello of a connection, for the
// handshake failure log: wolfSSL does not report what the client offered
// when it refuses the hello (version or cipher mismatch), so the session
// reads it from the bytes it was fed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringmx::tls {

struct ClientHelloSummary {
  enum class Status {
    need_more,  // the first record is not complete yet
    ok,
    malformed,  // not a TLS handshake record holding a ClientHello
  };
  Status status = Status::need_more;
  // Highest version offered: the largest supported_versions entry (GREASE
  // values skipped), else legacy_version. 0x0304 is TLS 1.3.
  uint16_t max_version = 0;
  std::string_view server_name;  // host_name from server_name, a view into the input
};

// Parses the first record of `data` (bounded by its 16 KiB record limit).
// A ClientHello split over several records gives `malformed`; this is for
// logging only, so that costs a log field, never a connection.
ClientHelloSummary peek_client_hello(std::span<const std::byte> data);

// "TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3", else "0x0302"-style.
std::string version_name(uint16_t version);

}  // namespace ringmx::tls
