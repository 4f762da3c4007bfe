// Management (http) connections on the shard's ring: the same recv/send/
// close machinery as SMTP connections (shard_connection.cc), with
// http::Session as the engine and http::Backend served by Management.
#include "core/log/log.h"
#include "core/shard.h"
#include "core/user_data.h"

namespace ringmx::core {

void Shard::on_http_bytes(Connection& c, std::span<const char> bytes) {
  management_->set_caller(slot_of(c), c.generation & kGenerationMask);
  const std::size_t before = c.http->requests();
  http::Output out = c.http->feed(bytes);  // copies what it keeps: the buffer returns at once
  bump(metrics_->http_requests, c.http->requests() - before);
  handle_http(c, std::move(out));
}

void Shard::handle_http(Connection& c, http::Output out) {
  if (!out.send.empty()) queue_reply(c, out.send);
  if (out.close) {
    c.close_after_send = true;
    log::debug("http.close", "shard={} client={} reason={}", options_.index, c.client,
               log::quote(out.reason));
  }
  c.http_resume = out.resume_after_send;
  flush(c);
}

// The server thread ran the reload a POST /reload asked for.
void Shard::on_reload_result(const ShardMessage& m) {
  Connection* c = lookup(m.slot, m.generation);
  if (!c || !c->live() || !c->http || !c->http->awaiting_reload()) return;  // the client left
  management_->set_caller(m.slot, m.generation);
  const std::size_t before = c->http->requests();
  http::Output out = c->http->reload_finished(http::ReloadResult{m.ok, m.errors});
  bump(metrics_->http_requests, c->http->requests() - before);
  handle_http(*c, std::move(out));
}

// Called on every loop turn while draining (the drain timer keeps the
// tick running, so at least every kTickMs): counts this shard out once its
// own sessions are gone, and closes the management connections once every
// shard has.
void Shard::close_management() {
  if (!sessions_done_ && live_ == management_live_) {
    sessions_done_ = true;
    options_.control->shards_with_sessions.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!sessions_done_ ||
      options_.control->shards_with_sessions.load(std::memory_order_relaxed) != 0)
    return;
  management_closed_ = true;
  for (Connection& c : connections_) {
    if (!c.live() || !c.http) continue;
    c.reason = CloseReason::shutdown;
    c.close_after_send = true;  // a response on its way goes out first
    flush(c);
  }
}

}  // namespace ringmx::core
