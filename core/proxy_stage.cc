#include "core/proxy_stage.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

namespace ringmx::core {

void describe_address(const sockaddr_storage& ss, std::string* with_port, std::string* ip) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    if (ip) *ip = buf;
    *with_port = fmt::format("{}:{}", buf, ntohs(in->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    if (ip) *ip = buf;
    *with_port = fmt::format("[{}]:{}", buf, ntohs(in6->sin6_port));
  } else {
    if (ip) *ip = "unknown";
    *with_port = "unknown";
  }
}

ProxyStep feed(ProxyStage& stage, std::span<const char> bytes) {
  // The common case, a whole header in the first read, parses the receive
  // buffer in place; only a split header is copied.
  std::span<const char> input = bytes;
  if (!stage.held.empty()) {
    stage.held.append(bytes.data(), bytes.size());
    input = std::span<const char>(stage.held.data(), stage.held.size());
  }
  const proxy::Result r = proxy::parse(input);
  ProxyStep step;
  step.status = r.status;
  switch (r.status) {
    case proxy::Status::need_more:
      // parse() refuses anything longer than kMaxHeaderBytes, so this is bounded.
      if (stage.held.empty()) stage.held.assign(bytes.data(), bytes.size());
      return step;
    case proxy::Status::invalid:
      step.reason = r.reason;
      return step;
    case proxy::Status::complete:
      break;
  }
  if (r.has_addresses) {
    stage.peer = r.source;
    describe_address(r.source, &stage.info.client, &stage.info.client_ip);
    describe_address(r.destination, &stage.info.local, nullptr);
  }
  step.rest = input.subspan(r.consumed);
  return step;
}

}  // namespace ringmx::core
