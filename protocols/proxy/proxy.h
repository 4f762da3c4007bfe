// PROXY protocol v1/v2 header parser (haproxy.org/download/2.8/doc/proxy-protocol.txt).
//
// Sans-I/O and shaped like picohttpparser: the caller hands over every byte
// received so far on the connection and gets back `complete` (with the
// exact header length in `consumed`), `need_more`, or `invalid` (with a
// reason for the log). Nothing is copied or allocated; feeding the same
// stream in one piece or one byte at a time gives the same answer. Bytes
// after the header (an SMTP command pipelined by the client behind the load
// balancer) are never looked at: `consumed` stops exactly at the header end.
//
// Which peers must send a header (trusted networks) is the configuration's
// decision; this file only parses.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringmx::proxy {

// v1 lines are at most 107 bytes, CRLF included (spec section 2.1).
inline constexpr std::size_t kV1MaxBytes = 107;
// v2: 12-byte signature, version/command, family/protocol, 16-bit length.
inline constexpr std::size_t kV2FixedBytes = 16;
// Bound on a whole v2 header (fixed part, addresses and TLVs). The wire
// format allows 16 + 65535 bytes; real senders (HAProxy with SSL TLVs, AWS
// NLB, GCP PSC) stay far below 1 KiB. A longer header is refused as soon as
// its length field is read, so a trusted-but-broken peer cannot make the
// runtime hold 64 KiB per connection.
inline constexpr std::size_t kV2MaxBytes = 4096;
// Most bytes a caller ever has to hold before parse() decides.
inline constexpr std::size_t kMaxHeaderBytes = kV2MaxBytes;

enum class Status {
  complete,   // a whole valid header; `consumed` is its length
  need_more,  // a valid prefix so far; call again with more bytes
  invalid,    // not a PROXY header, or a malformed one: close, log `reason`
};

enum class Version { v1, v2 };

enum class Command {
  proxy,  // relayed connection: the header carries the client's address
  local,  // v2 LOCAL (health check from the proxy itself): keep the socket's addresses
};

// The address family the header announced.
enum class Family {
  unspec,       // v1 UNKNOWN, v2 AF_UNSPEC, or any family under v2 LOCAL
  inet,         // v1 TCP4, v2 AF_INET + STREAM
  inet6,        // v1 TCP6, v2 AF_INET6 + STREAM
  unix_socket,  // v2 AF_UNIX + STREAM: accepted, but it has no IP to report
};

struct Result {
  Status status = Status::need_more;
  // Header length when complete; 0 otherwise.
  std::size_t consumed = 0;
  // Why the header is invalid, a static string for the log ("" otherwise).
  std::string_view reason;
  Version version = Version::v1;
  Command command = Command::proxy;
  Family family = Family::unspec;
  // True when `source`/`destination` hold the addresses from the header
  // (command proxy, family inet or inet6). When false the connection keeps
  // the socket's own peer and local addresses (v2 LOCAL, AF_UNSPEC,
  // AF_UNIX, v1 UNKNOWN), and both are zeroed.
  bool has_addresses = false;
  // sockaddr_in or sockaddr_in6, port and address in network byte order.
  sockaddr_storage source{};
  sockaddr_storage destination{};
  // v2 PROXY: the TLV bytes after the address block, a view into the
  // caller's buffer (valid while it is). Every TLV in it fits, and a
  // PP2_TYPE_CRC32C, when present, has been verified. Empty otherwise.
  // Walk it with next_tlv().
  std::string_view tlvs;
};

// PP2 TLV types (spec 2.2.1-2.2.7).
inline constexpr std::uint8_t kTlvAlpn = 0x01;
inline constexpr std::uint8_t kTlvAuthority = 0x02;
inline constexpr std::uint8_t kTlvCrc32c = 0x03;
inline constexpr std::uint8_t kTlvNoop = 0x04;
inline constexpr std::uint8_t kTlvUniqueId = 0x05;
inline constexpr std::uint8_t kTlvSsl = 0x20;
inline constexpr std::uint8_t kTlvNetns = 0x30;

struct Tlv {
  std::uint8_t type = 0;
  std::string_view value;
};

// Takes the first TLV off `tlvs` (a Result::tlvs or what is left of it);
// false when none is left.
bool next_tlv(std::string_view& tlvs, Tlv& out);

// Parses the header at the start of `bytes`. The version is decided by the
// first byte ('P' for v1, '\r' for v2); any byte that cannot start or
// continue a header gives `invalid` at once, so a non-PROXY client is
// refused without waiting for more.
Result parse(std::span<const char> bytes);

// "complete", "need_more", "invalid": for logs and test messages.
std::string_view to_string(Status status);
// "unspec", "inet", "inet6", "unix_socket".
std::string_view to_string(Family family);

}  // namespace ringmx::proxy
