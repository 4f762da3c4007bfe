// Listening sockets and the socket options of the configuration.
//
// Options are applied from the typed SocketSettings, one setsockopt per
// field. The ones a listener cannot work without (SO_REUSEADDR,
// SO_REUSEPORT when shards share the address, IPV6_V6ONLY, bind, listen)
// fail the socket; the tuning ones (buffer sizes, TTL, TOS) log a warning
// naming the option and go on with the kernel default.
//
// What accepted sockets inherit (checked on Linux 6.x by reading the
// options back on an accepted socket; tests/core verifies it on every run):
// the child is a clone of the listener's struct sock, so TCP_NODELAY,
// SO_LINGER, SO_SNDBUF, SO_RCVBUF, IP_TTL / IPV6_UNICAST_HOPS and IP_TOS /
// IPV6_TCLASS all carry over. The exception is TOS with the sysctl
// net.ipv4.tcp_reflect_tos = 1, where the child takes the client's TOS;
// only then is TOS set again per accepted socket.
#pragma once

#include <string>

#include "config/config.h"

namespace ringmx::core {

// Creates, configures, binds and listens. Returns the fd, or -1 with
// `error` set to "<what failed>: <strerror>".
int open_listening_socket(const config::BindAddress& address,
                          const config::SocketSettings& settings, const std::string& listener_id,
                          std::string* error);

// Connection steering (server.connection-steering = "cpu"): a shard's copy
// of an SO_REUSEPORT address gets SO_INCOMING_CPU = the CPU the shard is
// pinned to. Since Linux 6.2 the reuseport group then gives a new
// connection to the socket whose CPU processed the SYN (on loopback the
// client's CPU; behind a NIC the CPU its RSS queue interrupts), and falls
// back to the flow hash when no shard sits on that CPU. The connection's
// packets and its shard then share a CPU, so wake-ups stay local instead
// of costing an inter-processor interrupt per reply. `cpu` = -1 clears it
// ("hash"). Can be changed on a listening socket at any time (reload). A
// kernel that refuses it only loses the locality: logged like a refused
// tuning option, returns false.
bool set_incoming_cpu(int fd, int cpu, const config::BindAddress& address,
                      const std::string& listener_id);

// Whether an accepted socket needs TOS set again (see above). Read once.
bool kernel_reflects_tos();

// Per accepted socket: only what it does not inherit from the listener.
void apply_accepted_options(int fd, int family, const config::SocketSettings& settings,
                            bool reflect_tos);

}  // namespace ringmx::core
