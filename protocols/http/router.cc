#include "protocols/http/router.h"

#include <array>
#include <string>

#include "protocols/http/prometheus.h"

namespace ringmx::http {
namespace {

enum class Endpoint { healthz, readyz, metrics, config, reload };

struct Route {
  std::string_view path;
  std::string_view method;  // GET routes also take HEAD
  bool privileged;          // the auth rule of router.h applies
  Endpoint endpoint;
  std::string_view allow;  // the Allow header a 405 carries
};

constexpr std::array kRoutes = {
    Route{"/healthz", "GET", false, Endpoint::healthz, "Allow: GET, HEAD\r\n"},
    Route{"/readyz", "GET", false, Endpoint::readyz, "Allow: GET, HEAD\r\n"},
    Route{"/metrics", "GET", false, Endpoint::metrics, "Allow: GET, HEAD\r\n"},
    Route{"/config", "GET", true, Endpoint::config, "Allow: GET, HEAD\r\n"},
    Route{"/reload", "POST", true, Endpoint::reload, "Allow: POST\r\n"},
};

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// nullopt when access is granted, else the refusal.
std::optional<Response> check_access(const Request& request, const Access& access) {
  if (access.auth_token.empty()) {
    if (access.peer_is_loopback) return std::nullopt;
    return text(403, "forbidden: no auth-token configured, loopback peers only\n");
  }
  Response denied = text(401, "unauthorized: Authorization: Bearer <token> required\n");
  denied.extra_headers = "WWW-Authenticate: Bearer realm=\"ringmx\"\r\n";
  const Header* h = request.find("Authorization");
  if (h == nullptr) return denied;
  // credentials = auth-scheme 1*SP token68; the scheme is case-insensitive.
  std::string_view v = h->value;
  constexpr std::string_view kScheme = "Bearer";
  if (v.size() <= kScheme.size() || !iequals(v.substr(0, kScheme.size()), kScheme) ||
      v[kScheme.size()] != ' ') {
    return denied;
  }
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ')
    v.remove_prefix(1);
  if (!token_matches(v, access.auth_token)) return denied;
  return std::nullopt;
}

}  // namespace

bool token_matches(std::string_view presented, std::string_view expected) {
  // Walk `expected` whatever `presented` is; a length mismatch is folded
  // into the same accumulator instead of returning early.
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(expected[i]));
  }
  // volatile keeps the compiler from turning the loop into an early exit.
  volatile unsigned char result = diff;
  return result == 0 && !expected.empty();
}

Response reload_response(const ReloadResult& result) {
  if (result.ok) return text(200, "reloaded\n");
  std::string body = "reload failed, the running configuration is unchanged\n" + result.errors;
  if (!body.empty() && body.back() != '\n') body += '\n';
  return text(500, std::move(body));
}

Routed route(const Request& request, Backend& backend, const Access& access) {
  std::string_view path = request.path();
  const Route* route = nullptr;
  for (const Route& r : kRoutes) {
    if (r.path == path) route = &r;
  }
  if (route == nullptr) return {text(404, "not found\n")};
  bool method_ok =
      request.method == route->method || (route->method == "GET" && request.method == "HEAD");
  if (!method_ok) {
    Response r = text(405, "method not allowed\n");
    r.extra_headers = route->allow;
    return {std::move(r)};
  }
  if (route->privileged) {
    if (auto refused = check_access(request, access)) return {std::move(*refused)};
  }
  switch (route->endpoint) {
    case Endpoint::healthz:
      return {text(200, "ok\n")};
    case Endpoint::readyz: {
      const std::string why = backend.not_ready();
      return why.empty() ? Routed{text(200, "ready\n")}
                         : Routed{text(503, "not ready: " + why + "\n")};
    }
    case Endpoint::metrics: {
      Response r = text(200, backend.metrics_text());
      r.content_type = kPrometheusContentType;
      return {std::move(r)};
    }
    case Endpoint::config:
      return {text(200, backend.config_text())};
    case Endpoint::reload:
      if (std::optional<ReloadResult> done = backend.reload()) {
        return {reload_response(*done)};
      }
      return {std::nullopt, true};
  }
  return {text(404, "not found\n")};
}

}  // namespace ringmx::http
