// The management listener's per-connection engine: bytes in, response bytes
// and actions out, no I/O. One Session per accepted connection, used only
// on the shard that accepted it.
//
//   http::Session s(backend, {.auth_token = cfg_token, .peer_is_loopback = lo});
//   http::Output out = s.feed(received_bytes);   // copies what it needs
//   send(out.send); if (out.close) close after the send completes;
//   if (out.awaiting_reload) remember s; later: out = s.reload_finished(r);
//
// Requests may be pipelined: responses come back in request order. While a
// reload is in flight the session answers nothing and buffers what arrives
// (bounded), then resumes with the requests behind it.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "protocols/http/backend.h"
#include "protocols/http/limits.h"
#include "protocols/http/request.h"

namespace ringmx::http {

struct SessionConfig {
  // server.listener.<id>.auth-token or server.management.auth-token. When
  // set, POST /reload and GET /config need "Authorization: Bearer <token>"
  // (401 otherwise), from any peer. When empty, they answer only to
  // loopback peers (403 otherwise).
  std::string_view auth_token;
  // The peer is 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 (is_loopback()).
  bool peer_is_loopback = false;
  Limits limits;
};

// What the runtime does after each call, in this order: send `send`, then
// close if `close`. `awaiting_reload` means Backend::reload() returned
// nullopt: call reload_finished() once the result is known (the session
// stays quiet until then; input may still be fed).
struct Output {
  std::string send;
  bool close = false;
  bool awaiting_reload = false;
};

class Session {
 public:
  Session(Backend& backend, SessionConfig config);

  // Bytes received from the peer. All of them are taken (copied into the
  // session: management traffic is small, and the receive buffer can go
  // back to the ring at once).
  Output feed(std::span<const char> bytes);

  // The result of a reload that Backend::reload() left pending. Answers the
  // waiting POST /reload, then serves any pipelined requests behind it.
  Output reload_finished(const ReloadResult& result);

  bool awaiting_reload() const { return awaiting_reload_; }
  // Requests answered so far (for the disconnect log line).
  std::size_t requests() const { return requests_; }

 private:
  void serve(Output& out);
  void respond(Output& out, const Request* request, int status);
  Backend& backend_;
  std::string token_;
  SessionConfig config_;
  std::string input_;  // received bytes not yet answered
  bool awaiting_reload_ = false;
  bool reload_keep_alive_ = true;  // of the request waiting for its reload
  bool reload_head_ = false;
  bool closing_ = false;  // a response with Connection: close has been written
  std::size_t requests_ = 0;
};

// True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8.
bool is_loopback(const sockaddr_storage& address);

}  // namespace ringmx::http
