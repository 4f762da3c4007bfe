// The listening side of a configuration, shared read-only by every shard:
// each served listener with its settings, and the sockets opened for it
// (one per shard per bind address with SO_REUSEPORT, else one).
//
// All sockets of a configuration are opened (bound and listening) by the
// server thread before any shard accepts; on the first failure every socket
// opened so far is closed again, so nothing is left listening.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.h"
#include "protocols/smtp/settings.h"
#include "tls/context.h"

namespace ringmx::core {

// Per listener id, kept across reloads, so max-connections counts every
// session of the listener whatever configuration it started under. The only
// memory shards share on the accept path (one atomic add per connection).
struct ListenerCounters {
  std::atomic<std::uint32_t> connections{0};
  std::atomic<std::uint64_t> rejected{0};
  // Connections given a session. On the same cache line as `connections`,
  // which every accept writes already, so it adds no sharing of its own.
  std::atomic<std::uint64_t> accepted{0};
};

struct ListenerRuntime {
  std::shared_ptr<const config::Config> config;  // keeps `listener` and session settings alive
  const config::Listener* listener = nullptr;    // inside *config
  std::shared_ptr<ListenerCounters> counters;
  smtp::Settings smtp;  // what every session of this listener is built with
  // The listener's certificates and policy when tls.enable; null otherwise.
  // Built per configuration, so a reload's new certificates apply to new
  // connections while each tls::Session keeps the context it began with.
  std::shared_ptr<const tls::ServerContext> tls;
  std::string too_many_reply;  // "421 4.7.0 <hostname> Too many connections, try again later\r\n"
};

struct ListenSocket {
  int fd = -1;
  unsigned shard = 0;                            // the shard that accepts on it
  std::size_t listener = 0;                      // index into ListenerSet::listeners
  const config::BindAddress* address = nullptr;  // inside the config
  bool reused = false;  // carried over from the previous generation by a reload
};

struct ListenerSet {
  std::shared_ptr<const config::Config> config;  // the configuration these came from
  std::vector<std::shared_ptr<const ListenerRuntime>> listeners;
  std::vector<ListenSocket> sockets;
};

// Listeners this runtime serves: smtp, lmtp (STARTTLS or implicit TLS) and
// the management (http) listener (in plain HTTP). Empty when served, else why not.
std::string not_served(const config::Listener& l);

// The engine's settings for a listener.
smtp::Settings smtp_settings(const config::Config& cfg, const config::Listener& l);

// Opens every socket of `cfg` for the shards whose CPUs `shard_cpus` lists
// (shard i is pinned to shard_cpus[i]; see open_listening_socket for why
// each copy is told its CPU). `previous`, on reload:
// a listener with the same id, bind list and socket settings keeps its
// sockets (marked `reused`), and its counters carry over. On failure,
// returns nullptr after closing what it opened and sets `error` to one line
// "listener=<id> addr=<address> error=<what>" (or the TLS context's error:
// a certificate that does not load fails the start or the reload).
std::shared_ptr<ListenerSet> open_listeners(std::shared_ptr<const config::Config> cfg,
                                            std::span<const int> shard_cpus,
                                            const ListenerSet* previous, std::string* error);

// Closes every socket of `set` not marked reused (a failed start).
void close_sockets(const ListenerSet& set);

}  // namespace ringmx::core
