// server.listener.<id>: each listener starts from the server defaults and
// applies its own keys, so the Listener it yields is complete.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "config/loader.h"
#include "config/values.h"

namespace ringmx::config {
namespace {

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

bool is_wildcard(const BindAddress& b) {
  static constexpr uint8_t kZero[16] = {};
  if (b.family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&b.addr)->sin_addr.s_addr == 0;
  return std::memcmp(reinterpret_cast<const sockaddr_in6*>(&b.addr)->sin6_addr.s6_addr, kZero,
                     16) == 0;
}

// Two binds that cannot both succeed: the same address and port, or a
// wildcard and a specific address of the same family on the same port.
// (IPv4 and IPv6 wildcards coexist: the runtime binds [::] with IPV6_V6ONLY.)
bool conflict(const BindAddress& a, const BindAddress& b) {
  if (a.port == 0 || b.port == 0 || a.port != b.port || a.family != b.family) return false;
  return a.text == b.text || is_wildcard(a) || is_wildcard(b);
}

struct Bound {
  BindAddress address;
  std::string listener;
  unsigned line;
};

Listener read_listener(const std::string& id, Section& s, const ListenerDefaults& d,
                       const CertificateNames& certificates, const Certificates& loaded) {
  Listener l;
  l.id = id;
  l.origin = {s.diagnostics().file(), s.where().begin.line, s.where().begin.column};
  if (!valid_id(id))
    s.diagnostics().error(s.where(), s.path(),
                          "a listener id is 1 to 64 letters, digits, '-' or '_' (it names the "
                          "listener in logs and metrics); rename it, e.g. [server.listener.smtp]");

  if (auto binds = s.strings("bind", true, [](std::string_view text) {
        auto parsed = parse_bind_address(text);
        auto* e = std::get_if<std::string>(&parsed);
        return e ? *e : std::string();
      })) {
    for (auto& [text, node] : *binds)
      l.bind.push_back(std::get<BindAddress>(parse_bind_address(text)));
    if (binds->empty())
      s.error("bind", "the list is empty; write bind = \"0.0.0.0:25\" (or several addresses)");
  } else if (!s.find("bind")) {
    s.diagnostics().error(s.where(), s.key_path("bind"),
                          fmt::format("a listener needs an address; write bind = \"0.0.0.0:25\" "
                                      "under [{}]",
                                      s.path()));
  }
  s.choice("protocol", l.protocol,
           {{"smtp", Protocol::smtp}, {"lmtp", Protocol::lmtp}, {"http", Protocol::http}});

  l.tls = d.tls;
  Section tls_section = s.table("tls");
  TlsWritten written = read_tls(tls_section, l.tls, certificates);
  l.socket = d.socket;
  Section socket_section = s.table("socket");
  read_socket(socket_section, l.socket);

  l.hostname = d.hostname;
  s.string("hostname", l.hostname, check_host_name);
  l.greeting = d.greeting;
  s.string("greeting", l.greeting, check_greeting);
  l.max_connections = d.max_connections;
  s.integer("max-connections", l.max_connections, 1, 1'000'000);
  l.auth_token = d.auth_token;
  read_token(s, "auth-token", l.auth_token);
  l.proxy_trusted_networks = d.proxy_trusted_networks;
  Section proxy = s.table("proxy");
  if (auto nets = read_networks(proxy, "trusted-networks")) l.proxy_trusted_networks = *nets;
  proxy.finish();

  // Resolution: implicit TLS implies enable.
  if (l.tls.implicit) {
    if (written.enable_false && !written.implicit)
      tls_section.error_at(*written.enable_false, "enable",
                           "enable = false contradicts server.tls.implicit = true inherited here; "
                           "to turn TLS off on this listener also write tls.implicit = false");
    l.tls.enable = true;
  }
  std::string tls_key = tls_section.key_path("certificate");
  if (l.tls.enable && l.tls.certificate.empty())
    s.diagnostics().error(s.where(), tls_key,
                          fmt::format("TLS is on ({}) but no certificate is set; write "
                                      "tls.certificate = \"NAME\" here or certificate = \"NAME\" "
                                      "under [server.tls], naming a [certificate.NAME]",
                                      l.tls.implicit ? "implicit" : "STARTTLS"));
  if (l.tls.require && !l.tls.enable)
    s.diagnostics().error(written.require ? written.require->source() : s.where(),
                          tls_section.key_path("require"),
                          "require = true needs TLS on this listener; write tls.enable = true "
                          "(STARTTLS) or tls.require = false");
  // What the server defaults alone imply was checked once at [server.tls].
  if (written.versions_or_ciphers || written.certificates)
    check_tls_policy(tls_section, l.tls, loaded);
  s.finish();
  return l;
}

}  // namespace

std::vector<Listener> read_listeners(Section& table, const ListenerDefaults& defaults,
                                     const CertificateNames& certificates,
                                     const Certificates& loaded) {
  std::vector<Listener> out;
  std::vector<Bound> bound;  // every address so far, across listeners and within one
  for (auto& [id, s] : table.named_tables("one listener")) {
    Listener l = read_listener(id, s, defaults, certificates, loaded);
    const toml::node* bind_node = s.find("bind");
    for (const BindAddress& b : l.bind) {
      for (const Bound& other : bound) {
        if (!conflict(b, other.address)) continue;
        std::string what = b.text == other.address.text
                               ? fmt::format("{} is also bound by", b.text)
                               : fmt::format("{} overlaps {} of", b.text, other.address.text);
        s.diagnostics().error(bind_node ? bind_node->source() : s.where(), s.key_path("bind"),
                              fmt::format("{} listener \"{}\" (line {}); an address and port "
                                          "can serve one listener only, so remove one of them",
                                          what, other.listener, other.line));
        break;
      }
      bound.push_back({b, l.id, l.origin.line});
    }
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace ringmx::config
