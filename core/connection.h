// One client connection as a shard holds it. Kept small: with 20,000 idle
// connections every byte here counts (target: under 4 KiB per idle
// connection including the engine's session). An idle connection owns no
// receive buffer and, once its last reply left, no send buffer either.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/proxy_stage.h"
#include "core/timer_wheel.h"
#include "core/tls_stage.h"
#include "protocols/http/session.h"
#include "protocols/smtp/session.h"

namespace ringmx::core {

struct ListenerView;

// Why a connection ended, for the disconnect log line.
enum class CloseReason : std::uint8_t {
  none,
  quit,           // the session closed after QUIT
  protocol,       // the session closed for another reason (limits, errors)
  disconnect,     // the client closed first
  io_error,       // recv/send failed
  timeout,        // idle timeout
  duration,       // session duration exceeded
  shutdown,       // drain
  unsupported,    // the engine asked for something this runtime cannot do (TLS)
  proxy_header,   // a trusted peer's PROXY header was malformed or did not arrive in time
  tls_handshake,  // the TLS handshake failed (logged as event=tls.handshake_failed)
  tls_timeout,    // the TLS handshake did not finish within tls.timeout
  count_,
};
const char* to_string(CloseReason r);

struct Connection {
  TimerNode timer;  // owner = slot; the earlier of the idle and duration deadlines
  // Exactly one of these while open: the SMTP/LMTP engine, the
  // management (http) engine, or the PROXY header stage that comes before
  // either for a trusted peer.
  std::unique_ptr<smtp::Session> session;
  std::unique_ptr<http::Session> http;
  std::unique_ptr<ProxyStage> proxy;
  // TLS on a listener with tls.enable (core/tls_stage.h); null otherwise.
  std::unique_ptr<TlsStage> tls;
  ListenerView* view = nullptr;
  // Reply bytes: `sending` is in flight (from offset `sent`), `queued` was
  // produced while it was; both freed when the last byte left.
  std::string sending;
  std::string queued;
  std::string client;  // "address:port", for the log
  std::uint64_t idle_deadline_ms = 0;
  std::uint64_t end_deadline_ms = 0;
  std::uint64_t opened_ms = 0;
  int fd = -1;
  std::uint32_t generation = 0;
  std::uint32_t sent = 0;
  std::uint8_t inflight = 0;  // requests whose final completion has not arrived
  bool recv_armed = false;
  std::uint16_t recv_group = 0;  // the buffer group the armed recv reads into
  bool send_armed = false;
  bool close_after_send = false;  // the session asked to close once replies are out
  // `sending` holds bytes the client does not wait for (the TLS 1.3 session
  // ticket after a STARTTLS handshake, where the client speaks next): they
  // leave with the next reply instead of in a send of their own.
  bool hold_send = false;
  bool closing = false;      // cancel issued; close when inflight reaches 0
  bool http_resume = false;  // the http engine wants resume() once its output left
  // Too many reply bytes wait for the client (ShardLimits::kMaxSendBacklog):
  // no recv until they drained, so TCP pushes back on a client that
  // pipelines without reading.
  bool recv_paused = false;
  // Our FIN is out (shutdown SHUT_WR); what still arrives is read and
  // dropped until the client's EOF or the linger deadline, then close. A
  // close() with unread input would send RST, which can destroy the last
  // reply before the client read it.
  bool lingering = false;
  // Over max-connections: only the 421, not counted as a connection.
  bool rejected = false;
  CloseReason reason = CloseReason::none;

  // The session may read and write (not closing, not lingering).
  bool live() const { return fd >= 0 && !closing && !lingering; }
  // Reply bytes not yet handed to the kernel.
  std::size_t unsent() const { return sending.size() - sent + queued.size(); }
};

}  // namespace ringmx::core
