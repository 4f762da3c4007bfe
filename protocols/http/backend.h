// What the management engine asks of the running server. The runtime
// (core/) implements it; the engine never touches shards, files or sockets.
#pragma once

#include <optional>
#include <string>

namespace ringmx::http {

struct ReloadResult {
  bool ok = false;
  // Human-readable errors (one per line, file:line:col and key as the
  // config loader reports them); empty when ok.
  std::string errors;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The whole Prometheus text exposition (format 0.0.4), summed over shards
  // at call time. Build it with http::Exposition (prometheus.h).
  virtual std::string metrics_text() = 0;

  // Empty when every listener accepts and the spool is writable; otherwise
  // why not, in a few words ("draining", "spool not writable: ..."). GET
  // /readyz answers 200 "ready", or 503 "not ready: <reason>".
  virtual std::string not_ready() = 0;

  // The --print-config output with secrets redacted, for GET /config.
  virtual std::string config_text() = 0;

  // Starts a reload, the same as SIGHUP. Return the result when it is known
  // at once; return std::nullopt when it finishes later (posted to another
  // thread): the engine then answers nothing more on this connection until
  // the runtime calls Session::reload_finished() with the result (see
  // Output::awaiting_reload).
  virtual std::optional<ReloadResult> reload() = 0;
};

}  // namespace ringmx::http
