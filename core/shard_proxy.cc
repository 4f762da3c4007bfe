// The PROXY header stage on the shard: which peers must send one, feeding
// reads to the parser (proxy_stage.cc), and starting the session with the
// header's addresses once it is complete.
#include <fmt/format.h>

#include "core/log/log.h"
#include "core/shard.h"

namespace ringmx::core {
namespace {

// Bound on the per-shard memory of peers already logged.
constexpr std::size_t kProxyLoggedPeers = 1024;

}  // namespace

bool Shard::proxy_required(const ListenerView& v, const sockaddr_storage& peer) const {
  for (const config::Cidr& net : v.runtime->listener->proxy_trusted_networks)
    if (net.contains(reinterpret_cast<const sockaddr*>(&peer))) return true;
  return false;
}

void Shard::on_proxy_bytes(Connection& c, std::span<const char> bytes) {
  ProxyStep step = feed(*c.proxy, bytes);
  switch (step.status) {
    case proxy::Status::need_more:
      return;
    case proxy::Status::invalid:
      refuse_proxy(c, ProxyRefusal::malformed, step.reason);
      return;
    case proxy::Status::complete:
      break;
  }
  bump(metrics_->proxy_accepted);
  // The stage lives until the end of this call: `step.rest` may point into it.
  std::unique_ptr<ProxyStage> stage = std::move(c.proxy);
  log::debug("proxy.accepted", "shard={} listener={} peer={} client={}", options_.index,
             c.view->runtime->listener->id, c.client, stage->info.client);
  c.client = stage->info.client;
  const config::SessionSettings& ss = c.view->runtime->config->session;
  c.idle_deadline_ms = now_ms_ + static_cast<std::uint64_t>(ss.timeout.count());
  wheel_->arm(&c.timer, std::min(c.idle_deadline_ms, c.end_deadline_ms));
  start_session(c, std::move(stage->info), stage->peer);
  if (step.rest.empty() || !c.live()) return;
  // Bytes the client sent behind the header in the same read: the
  // session's first input. Body chunks among them that point into `held`
  // are copied by append_chunk (it only keeps views into receive buffers).
  if (c.http) {
    on_http_bytes(c, step.rest);
  } else if (c.tls && c.tls->in_handshake()) {
    on_tls_bytes(c, step.rest);  // implicit TLS: the ClientHello came with the header
  } else if (!c.session->closed()) {
    out_.clear();
    c.session->receive(step.rest, out_);
    handle_output(c);
  }
}

// Close without a word: a peer that should have sent a header and did not
// is a misconfigured balancer or someone spoofing one; it gets no greeting.
void Shard::refuse_proxy(Connection& c, ProxyRefusal why, std::string_view reason) {
  bump(metrics_->proxy_rejected[static_cast<std::size_t>(why)]);
  std::string ip;
  if (c.proxy) ip = c.proxy->info.client_ip;
  if (proxy_logged_.size() >= kProxyLoggedPeers) proxy_logged_.clear();
  if (proxy_logged_.insert(ip).second)
    log::warn("proxy.rejected", "shard={} listener={} client={} reason={} detail={}",
              options_.index, c.view->runtime->listener->id, c.client, to_string(why),
              log::quote(reason));
  c.reason = CloseReason::proxy_header;
  begin_close(c, CloseReason::proxy_header);
}

}  // namespace ringmx::core
