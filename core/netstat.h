// The kernel's listen-queue counters (TcpExt ListenOverflows, ListenDrops
// in /proc/net/netstat): /metrics exports them, and ringmx-bench reads them
// before and after a run, whose delta shows whether the server's accept
// backlog overflowed under that load. They are counters of the whole network
// namespace, not of one listener. A library of its own (ringmx_netstat) so
// the load generator shares it without linking the runtime.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ringmx::core {

struct ListenCounters {
  std::uint64_t overflows = 0;
  std::uint64_t drops = 0;
};

// Parses the text of /proc/net/netstat (pairs of "TcpExt: names" and
// "TcpExt: values" lines). nullopt if the fields are not there.
std::optional<ListenCounters> parse_netstat(std::string_view text);

// Reads /proc/net/netstat; nullopt if it cannot be read or parsed.
std::optional<ListenCounters> read_listen_counters();

}  // namespace ringmx::core
