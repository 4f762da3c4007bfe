// The wolfSSL server contexts of one configuration: built once at start (and
// at each reload, for new connections), then shared read-only by every shard.
//
// A listener with TLS gets one ServerContext, holding one WOLFSSL_CTX per
// certificate it can serve (tls.certificate, then each tls.sni target), all
// with the listener's policy: tls.protocols as minimum and maximum version
// (never below TLS 1.2), tls.ciphers in the order written, and
// tls.ignore-client-order. Building also checks that each private key
// matches its certificate.
//
// Sharing: wolfSSL_new() only takes a reference on a WOLFSSL_CTX (under
// wolfSSL's own per-context mutex), so shards may create sessions from the
// same context concurrently. Nothing here is modified after build().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

struct WOLFSSL_CTX;

namespace ringmx::tls {

class ServerContext;

struct ContextResult {
  std::shared_ptr<const ServerContext> context;  // set on success
  std::string error;                             // one line, names the key at fault
  bool ok() const { return context != nullptr; }
};

class ServerContext {
 public:
  // One certificate as served: its wolfSSL context and config name.
  struct Served {
    WOLFSSL_CTX* ctx = nullptr;
    std::string name;  // key of config::Config::certificates
  };

  // `settings` must have enable set and a certificate; `certificates` is
  // Config::certificates. `listener` names the listener in errors.
  static ContextResult build(std::string_view listener, const config::TlsSettings& settings,
                             const std::map<std::string, config::Certificate>& certificates);

  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // The certificate for a requested server name: an exact tls.sni subject,
  // else a "*.domain" subject matching exactly one leading label, else
  // tls.certificate. Case-insensitive; a trailing dot is ignored.
  const Served& select(std::string_view server_name) const;
  const Served& default_served() const { return served_.front(); }

  // The policy as wolfSSL's cipher list ("TLS13-AES128-GCM-SHA256:..."),
  // re-applied to a session after an SNI switch so that its suites follow
  // the new certificate's key type (RSA or ECDSA) on TLS 1.2.
  const std::string& cipher_list() const { return cipher_list_; }
  const config::TlsSettings& settings() const { return settings_; }

 private:
  ServerContext() = default;
  struct Route {
    std::string subject;  // lower case; "*.example.org" keeps its "*."
    size_t served = 0;    // index into served_
  };
  config::TlsSettings settings_;
  std::string cipher_list_;
  std::vector<Served> served_;  // [0] is tls.certificate
  std::vector<Route> routes_;   // in tls.sni order
};

// Every TLS-enabled listener's context, by listener id.
class ContextSet {
 public:
  struct Result {
    std::shared_ptr<const ContextSet> set;
    std::string error;
    bool ok() const { return set != nullptr; }
  };
  static Result build(const config::Config& config);

  // nullptr for a listener without TLS. Each Session keeps its own
  // reference, so the set may be dropped on reload while sessions go on.
  std::shared_ptr<const ServerContext> find(std::string_view listener_id) const;

 private:
  std::map<std::string, std::shared_ptr<const ServerContext>, std::less<>> by_listener_;
};

}  // namespace ringmx::tls
