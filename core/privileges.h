// Process-wide start-up steps that need the privileges ringmx was started
// with: the descriptor limit, the root check and dropping to run-as.
#pragma once

#include <string>

#include "config/config.h"

namespace ringmx::core {

// Raises RLIMIT_NOFILE's soft limit to its hard limit, logs both, and warns
// naming the listeners when their max-connections add up past it.
// Returns the soft limit in force afterwards.
unsigned long raise_nofile_limit(const config::Config& cfg);

// Whether an address is reachable from other hosts (not loopback).
bool is_public(const config::BindAddress& address);

// Running as root with a public listener is refused unless server.run-as
// is set or server.allow-root = true. Empty when allowed, else the reason.
std::string check_root(const config::Config& cfg);

// Switches to server.run-as (group first, supplementary groups cleared,
// then user). Call after every socket is bound and before any client byte
// is read, while the process has one thread (capabilities are per thread;
// the shards inherit them). No run-as: nothing. Empty on success, else the
// reason.
//
// Of root's capabilities only CAP_NET_BIND_SERVICE is kept (permitted and
// effective, nothing inheritable or ambient), so that a reload can still
// bind a new listener on a port below 1024, as a root-started MX on port 25
// expects; the log line says `kept=net_bind_service` (or `kept=none` when
// the process did not have it).

std::string drop_privileges(const config::Config& cfg);

// sd_notify("READY=1") and friends, when NOTIFY_SOCKET is set; a no-op
// otherwise. Written here to avoid linking libsystemd for one datagram.
void sd_notify(const char* state);

}  // namespace ringmx::core
