// The management listener's per-connection engine: bytes in, response bytes
// and actions out, no I/O. One Session per accepted connection, used only
// on the shard that accepted it.
//
//   http::Session s(backend, {.auth_token = cfg_token, .peer_is_loopback = lo});
//   http::Output out = s.feed(received_bytes);   // copies what it needs
//   send(out.send); if (out.close) close after the send completes;
//   if (out.awaiting_reload) remember s; later: out = s.reload_finished(r);
//   if (out.resume_after_send) once sent: out = s.resume();
//
// Requests may be pipelined: responses come back in request order. While a
// reload is in flight, or after one call has produced max_output_bytes,
// the session answers nothing and holds what arrives (bounded), then goes
// on with the requests behind it. Timeouts (idle, request) are the
// runtime's: the session has no clock.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "protocols/http/backend.h"
#include "protocols/http/limits.h"
#include "protocols/http/request.h"
#include "protocols/http/response.h"

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
// stays quiet until then; input may still be fed). `resume_after_send`
// means the output bound was reached with requests still queued: once
// `send` has gone out, call resume() for the next part.
struct Output {
  std::string send;
  bool close = false;
  bool awaiting_reload = false;
  bool resume_after_send = false;
  // When `close`: why, a static string for the disconnect log line
  // ("Connection: close", "header block over the limit"...).
  std::string_view reason;
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

  // Continues after an Output with resume_after_send, once its bytes are
  // sent. Does nothing otherwise.
  Output resume();

  bool awaiting_reload() const { return awaiting_reload_; }
  // Requests answered so far (for the disconnect log line).
  std::size_t requests() const { return requests_; }

 private:
  // Answers every complete request in input_, in order, until one needs
  // to wait for a reload, ends the connection, or the output bound is hit.
  void serve(Output& out);
  // While paused (reload in flight, output bound hit), input is held up to
  // the size of one whole request; beyond it, it is dropped and the
  // connection closes once what is held has been answered.
  void hold(std::span<const char> bytes);
  // The one reply path: serialises `response` for the request it answers
  // and records whether the connection ends with it.
  void reply(Output& out, const Response& response, bool keep_alive, int minor_version,
             bool head_only, std::string_view close_reason);

  Backend& backend_;
  std::string token_;  // owned copy: SessionConfig only borrows it
  SessionConfig config_;
  std::string input_;  // received bytes not yet answered
  // The request waiting for its reload result.
  bool awaiting_reload_ = false;
  bool reload_keep_alive_ = true;
  int reload_minor_version_ = 1;
  bool output_full_ = false;  // waiting for resume()
  // Bytes that arrived while paused, beyond the input bound, were
  // dropped: the connection ends after answering what is held.
  bool overflowed_ = false;
  bool closing_ = false;  // a response with Connection: close was written
  std::string_view close_reason_;
  // Re-parsing from the start on every read would make a client that
  // sends one byte at a time cost O(n^2): parse again only once input_
  // reaches wanted_bytes_ (a body in flight) or, for an unfinished header
  // block, once a new line end arrives or the header bound is reached.
  std::size_t wanted_bytes_ = 0;
  bool wants_line_end_ = false;
  std::size_t requests_ = 0;
};

// True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8.
bool is_loopback(const sockaddr_storage& address);

}  // namespace ringmx::http
