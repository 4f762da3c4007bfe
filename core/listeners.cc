#include "core/listeners.h"

#include <unistd.h>

#include <fmt/format.h>

#include "core/listen_socket.h"
#include "core/log/log.h"
#include "tls/ktls.h"
#include "tls/record_aead.h"

namespace ringmx::core {

std::string not_served(const config::Listener& l) {
  (void)l;
  return {};
}

smtp::Settings smtp_settings(const config::Config& cfg, const config::Listener& l) {
  smtp::Settings s;
  s.mode = l.protocol == config::Protocol::lmtp ? smtp::Mode::lmtp : smtp::Mode::smtp;
  s.hostname = l.hostname;
  s.greeting = l.greeting;
  s.listener = l.id;
  const config::SessionSettings& ss = cfg.session;
  s.max_recipients = ss.max_recipients;
  s.max_message_size = ss.max_message_size;
  s.max_messages = ss.max_messages;
  s.max_received_headers = ss.max_received_headers;
  s.transfer_limit = ss.transfer_limit;
  s.ehlo_require = ss.ehlo_require;
  s.rcpt_domains = ss.rcpt_domains;
  s.bare_newline = ss.bare_newline == config::BareNewline::reject ? smtp::BareNewline::reject
                                                                  : smtp::BareNewline::normalize;
  s.starttls_offered = l.tls.enable && !l.tls.implicit;
  s.tls_required = l.tls.require;
  return s;
}

namespace {

const ListenerRuntime* find(const ListenerSet* set, const std::string& id, std::size_t* index) {
  if (!set) return nullptr;
  for (std::size_t i = 0; i < set->listeners.size(); ++i)
    if (set->listeners[i]->listener->id == id) {
      *index = i;
      return set->listeners[i].get();
    }
  return nullptr;
}

}  // namespace

void close_sockets(const ListenerSet& set) {
  for (const ListenSocket& s : set.sockets)
    if (!s.reused && s.fd >= 0) ::close(s.fd);
}

std::shared_ptr<ListenerSet> open_listeners(std::shared_ptr<const config::Config> cfg,
                                            std::span<const int> shard_cpus,
                                            const ListenerSet* previous, std::string* error) {
  const auto shards = static_cast<unsigned>(shard_cpus.size());
  auto set = std::make_shared<ListenerSet>();
  set->config = cfg;
  // Every certificate loads (and matches its key) before anything binds.
  const tls::ContextSet::Result contexts = tls::ContextSet::build(*cfg);
  if (!contexts.ok()) {
    *error = fmt::format("tls error={}", log::quote(contexts.error));
    return nullptr;
  }
  for (const config::Listener& l : cfg->listeners) {
    if (std::string why = not_served(l); !why.empty()) {
      log::warn("listener.not_served", "listener={} protocol={} reason={}", l.id,
                config::to_string(l.protocol), log::quote(why));
      continue;
    }
    auto rt = std::make_shared<ListenerRuntime>();
    rt->config = cfg;
    rt->listener = &l;
    rt->smtp = smtp_settings(*cfg, l);
    // The management listener speaks plain HTTP (TLS there is not served).
    if (l.tls.enable && l.protocol != config::Protocol::http) {
      rt->tls = contexts.set->find(l.id);
      rt->smtp.starttls_offered = rt->tls && !l.tls.implicit;
      tls::ktls_available();     // probed and logged once per process
      tls::log_record_crypto();  // likewise
    }
    rt->too_many_reply =
        fmt::format("421 4.7.0 {} Too many connections, try again later\r\n", l.hostname);
    std::size_t old_index = 0;
    const ListenerRuntime* old = find(previous, l.id, &old_index);
    rt->counters = old ? old->counters : std::make_shared<ListenerCounters>();
    const std::size_t index = set->listeners.size();
    set->listeners.push_back(rt);

    const bool same_sockets =
        old && old->listener->bind == l.bind && old->listener->socket == l.socket;
    if (same_sockets) {
      // Same addresses and options: the shards keep accepting on the same
      // sockets, so a reload does not drop a single queued connection.
      for (const ListenSocket& s : previous->sockets) {
        if (s.listener != old_index) continue;
        ListenSocket copy = s;
        copy.listener = index;
        copy.reused = true;
        for (const config::BindAddress& a : l.bind)
          if (a == *s.address) copy.address = &a;
        set->sockets.push_back(copy);
      }
      continue;
    }
    for (std::size_t b = 0; b < l.bind.size(); ++b) {
      const config::BindAddress& a = l.bind[b];
      const unsigned copies = l.socket.reuse_port ? shards : 1;
      // Without SO_REUSEPORT an address has one socket; spread such
      // addresses over the shards instead of piling them on shard 0.
      const unsigned first = l.socket.reuse_port ? 0 : static_cast<unsigned>(b % shards);
      if (!l.socket.reuse_port)
        log::info("listener.single_socket", "listener={} addr={} shard={} reason=reuse-port-off",
                  l.id, a.text, first);
      for (unsigned c = 0; c < copies; ++c) {
        std::string why;
        int fd = open_listening_socket(a, l.socket, l.id, &why);
        if (fd < 0) {
          *error = fmt::format("listener={} addr={} error={}", l.id, a.text, log::quote(why));
          close_sockets(*set);
          return nullptr;
        }
        set->sockets.push_back(ListenSocket{fd, first + c, index, &a, false});
      }
    }
  }
  // New and kept sockets alike, so a reload can change the steering.
  for (const ListenSocket& s : set->sockets) {
    const config::Listener& l = *set->listeners[s.listener]->listener;
    if (!l.socket.reuse_port) continue;  // one socket serves every CPU
    const int cpu = cfg->steering == config::Steering::cpu ? shard_cpus[s.shard] : -1;
    set_incoming_cpu(s.fd, cpu, *s.address, l.id);
  }
  return set;
}

}  // namespace ringmx::core
