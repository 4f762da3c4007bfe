// The PROXY header stage: what a connection from a trusted peer holds
// before its session exists. Nothing is sent to the peer until the header
// is complete; then the header's source address becomes the client (log,
// Received header, spool envelope, management access check) and the bytes
// behind the header go to the session as if they were its first read.
#pragma once

#include <sys/socket.h>

#include <span>
#include <string>
#include <string_view>

#include "protocols/proxy/proxy.h"
#include "protocols/smtp/session.h"

namespace ringmx::core {

struct ProxyStage {
  // The socket's own view, replaced by the header's addresses when it
  // carries them (v2 LOCAL, UNKNOWN and AF_UNSPEC keep these).
  smtp::ConnectionInfo info;
  sockaddr_storage peer{};
  // Bytes of a header split across reads (at most proxy::kMaxHeaderBytes).
  std::string held;
};

// What one read did to the stage.
struct ProxyStep {
  proxy::Status status = proxy::Status::need_more;
  std::string_view reason;  // when invalid
  // When complete: the bytes after the header (a view into the read or
  // into `held`, valid until the stage is touched again).
  std::span<const char> rest;
};

// Feeds one read. On complete, `stage.info` and `stage.peer` describe the
// client from the header's point of view.
ProxyStep feed(ProxyStage& stage, std::span<const char> bytes);

// "203.0.113.7:41234" / "[2001:db8::1]:41234" and the bare address.
void describe_address(const sockaddr_storage& ss, std::string* with_port, std::string* ip);

}  // namespace ringmx::core
