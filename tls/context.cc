#include "tls/context.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "config/ciphers.h"
#include "tls/crypto_offload.h"
#include "tls/key_match.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

void init_wolfssl_once() {
  static std::once_flag once;
  std::call_once(once, [] { wolfSSL_Init(); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The last error wolfSSL queued; the *_buffer loaders return only FAILURE.
std::string last_wolfssl_error() {
  const unsigned long e = wolfSSL_ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct Policy {
  bool tls12 = false;
  bool tls13 = false;
  std::string cipher_list;
};

// tls.protocols and tls.ciphers to wolfSSL terms. Suites of a version that
// is not enabled are left out (server.tls.ciphers may list both while one
// listener narrows tls.protocols); an enabled version left without any
// suite is an error, because every client of that version would fail.
std::string make_policy(std::string_view listener, const config::TlsSettings& s, Policy& out) {
  for (auto v : s.protocols)
    (v == config::TlsVersion::tls12 ? out.tls12 : out.tls13) = true;
  if (!out.tls12 && !out.tls13) out.tls12 = out.tls13 = true;

  // One table of names for the whole program: config/ciphers.h, which the
  // loader already validated tls.ciphers against.
  std::vector<const config::CipherSuite*> chosen;
  if (s.ciphers.empty()) {
    for (const auto& c : config::cipher_suites())
      chosen.push_back(&c);
  } else {
    for (const auto& name : s.ciphers) {
      const config::CipherSuite* c = config::find_cipher_suite(name);
      if (c == nullptr) {
        return fmt::format("listener {}: tls.ciphers: unknown cipher suite {:?}", listener, name);
      }
      chosen.push_back(c);
    }
  }
  bool any12 = false, any13 = false;
  for (const config::CipherSuite* c : chosen) {
    const bool is13 = c->version == config::TlsVersion::tls13;
    if (is13 ? !out.tls13 : !out.tls12) continue;
    (is13 ? any13 : any12) = true;
    if (!out.cipher_list.empty()) out.cipher_list += ':';
    out.cipher_list += c->wolfssl;
  }
  if (out.tls12 && !any12) {
    return fmt::format(
        "listener {}: tls.ciphers lists no TLSv1.2 suite but tls.protocols enables TLSv1.2",
        listener);
  }
  if (out.tls13 && !any13) {
    return fmt::format(
        "listener {}: tls.ciphers lists no TLSv1.3 suite but tls.protocols enables TLSv1.3",
        listener);
  }
  return {};
}

// One WOLFSSL_CTX serving `cert` under `policy`. Errors name the
// certificate, since that is what the operator has to fix.
std::string make_ctx(const config::Certificate& cert, const Policy& policy,
                     bool ignore_client_order, WOLFSSL_CTX*& out) {
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
  if (ctx == nullptr) return "wolfSSL_CTX_new failed (out of memory)";
  auto fail = [&](std::string msg) {
    wolfSSL_CTX_free(ctx);
    return msg;
  };
  // Never below TLS 1.2, whatever the configuration says.
  if (wolfSSL_CTX_SetMinVersion(ctx, policy.tls12 ? WOLFSSL_TLSV1_2 : WOLFSSL_TLSV1_3) !=
          WOLFSSL_SUCCESS ||
      wolfSSL_CTX_set_max_proto_version(ctx, policy.tls13 ? TLS1_3_VERSION : TLS1_2_VERSION) !=
          WOLFSSL_SUCCESS) {
    return fail("cannot set the TLS version range");
  }
  if (wolfSSL_CTX_set_cipher_list(ctx, policy.cipher_list.c_str()) != WOLFSSL_SUCCESS) {
    return fail(fmt::format("wolfSSL refused the cipher list {:?}", policy.cipher_list));
  }
  // wolfSSL picks in its own (server) order unless told to walk the
  // client's list first.
  if (!ignore_client_order) wolfSSL_CTX_UseClientSuites(ctx);

  wolfSSL_ERR_clear_error();
  const auto* pem = reinterpret_cast<const unsigned char*>(cert.cert_pem.data());
  if (wolfSSL_CTX_use_certificate_chain_buffer(ctx, pem, static_cast<long>(cert.cert_pem.size())) !=
      WOLFSSL_SUCCESS) {
    return fail(fmt::format("certificate.{}: cannot load the certificate chain ({}): {}", cert.name,
                            cert.cert_ref.empty() ? "inline" : cert.cert_ref,
                            last_wolfssl_error()));
  }
  const auto* key = reinterpret_cast<const unsigned char*>(cert.key_pem.data());
  if (wolfSSL_CTX_use_PrivateKey_buffer(ctx, key, static_cast<long>(cert.key_pem.size()),
                                        WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
    return fail(fmt::format("certificate.{}: cannot load the private key ({}): {}", cert.name,
                            cert.key_ref.empty() ? "inline" : cert.key_ref, last_wolfssl_error()));
  }
  if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS ||
      !key_matches_certificate(cert.cert_pem, cert.key_pem)) {
    return fail(
        fmt::format("certificate.{}: the private key does not match the certificate", cert.name));
  }
  // Record AES-GCM to libcrypto (tls/crypto_offload.h); INVALID_DEVID
  // leaves it in wolfSSL.
  wolfSSL_CTX_SetDevId(ctx, crypto_offload_device());
  Session::prepare_context(ctx);
  out = ctx;
  return {};
}

}  // namespace

ContextResult ServerContext::build(std::string_view listener, const config::TlsSettings& settings,
                                   const std::map<std::string, config::Certificate>& certificates) {
  init_wolfssl_once();
  if (settings.certificate.empty()) {
    return {nullptr,
            fmt::format("listener {}: tls is enabled but tls.certificate is not set", listener)};
  }
  Policy policy;
  if (auto err = make_policy(listener, settings, policy); !err.empty()) return {nullptr, err};

  std::shared_ptr<ServerContext> sc(new ServerContext());
  sc->settings_ = settings;
  sc->cipher_list_ = policy.cipher_list;

  // The default first, then each SNI target once, however many subjects
  // point at it.
  auto served_index = [&](const std::string& name, std::string& err) -> size_t {
    for (size_t i = 0; i < sc->served_.size(); ++i) {
      if (sc->served_[i].name == name) return i;
    }
    auto it = certificates.find(name);
    if (it == certificates.end()) {
      err = fmt::format("listener {}: certificate {:?} is not defined", listener, name);
      return 0;
    }
    WOLFSSL_CTX* ctx = nullptr;
    err = make_ctx(it->second, policy, settings.ignore_client_order, ctx);
    if (!err.empty()) err = fmt::format("listener {}: {}", listener, err);
    if (ctx == nullptr) return 0;
    sc->served_.push_back({ctx, name});
    return sc->served_.size() - 1;
  };
  std::string err;
  served_index(settings.certificate, err);
  if (!err.empty()) return {nullptr, err};
  for (const auto& entry : settings.sni) {
    const size_t i = served_index(entry.certificate, err);
    if (!err.empty()) return {nullptr, err};
    sc->routes_.push_back({lower(entry.subject), i});
  }
  return {std::move(sc), {}};
}

ServerContext::~ServerContext() {
  for (auto& s : served_)
    wolfSSL_CTX_free(s.ctx);
}

const ServerContext::Served& ServerContext::select(std::string_view server_name) const {
  if (server_name.ends_with('.')) server_name.remove_suffix(1);
  if (server_name.empty() || routes_.empty()) return default_served();
  const std::string name = lower(server_name);
  for (const auto& r : routes_) {
    if (r.subject == name) return served_[r.served];
  }
  // "*.example.org" covers exactly one label: a.example.org, not
  // example.org nor a.b.example.org (RFC 6125 6.4.3).
  const size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) {
    const std::string_view parent = std::string_view(name).substr(dot);  // ".example.org"
    for (const auto& r : routes_) {
      if (r.subject.size() == parent.size() + 1 && r.subject.starts_with("*") &&
          std::string_view(r.subject).substr(1) == parent) {
        return served_[r.served];
      }
    }
  }
  return default_served();
}

ContextSet::Result ContextSet::build(const config::Config& config) {
  auto set = std::make_shared<ContextSet>();
  for (const auto& l : config.listeners) {
    if (!l.tls.enable) continue;
    auto r = ServerContext::build(l.id, l.tls, config.certificates);
    if (!r.ok()) return {nullptr, r.error};
    set->by_listener_.emplace(l.id, std::move(r.context));
  }
  return {std::move(set), {}};
}

std::shared_ptr<const ServerContext> ContextSet::find(std::string_view listener_id) const {
  auto it = by_listener_.find(listener_id);
  return it == by_listener_.end() ? nullptr : it->second;
}

}  // namespace ringmx::tls
