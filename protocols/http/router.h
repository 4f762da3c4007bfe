// The management endpoints: one table, one access rule, no I/O. The
// Session feeds it parsed requests; it asks the Backend for content.
//
//   GET  /healthz   200 "ok"                 process alive
//   GET  /readyz    200 "ready" / 503 why    Backend::not_ready()
//   GET  /metrics   200 exposition 0.0.4     Backend::metrics_text()
//   GET  /config    200 redacted config      privileged
//   POST /reload    200 / 500 with errors    privileged, may finish later
//
// GET routes also answer HEAD. Privileged routes need "Authorization:
// Bearer <token>" when a token is configured (401 otherwise), and only
// answer loopback peers when none is (403 otherwise).
#pragma once

#include <optional>
#include <string_view>

#include "protocols/http/backend.h"
#include "protocols/http/request.h"
#include "protocols/http/response.h"

namespace ringmx::http {

struct Access {
  std::string_view auth_token;  // empty: no token configured
  bool peer_is_loopback = false;
};

struct Routed {
  // The answer, or nullopt when a reload is in flight (reload_pending).
  std::optional<Response> response;
  bool reload_pending = false;
};

Routed route(const Request& request, Backend& backend, const Access& access);

// The answer to POST /reload once its result is known.
Response reload_response(const ReloadResult& result);

// Compares in time that depends only on expected.size(), never on where
// the first difference is, so the token cannot be guessed byte by byte.
bool token_matches(std::string_view presented, std::string_view expected);

}  // namespace ringmx::http
