// --print-config: the resolved configuration as TOML in the schema it was
// read from. Every listener is written out in full (each tls.* and
// socket.* key), so the output shows what each listener really does, and
// loading it gives the same Config.
#include <fmt/format.h>

#include <algorithm>

#include "config/config.h"
#include "config/section.h"

namespace ringmx::config {
namespace {

class Writer {
 public:
  void header(std::string_view table) { out_ += fmt::format("\n[{}]\n", table); }
  void comment(std::string_view text) { out_ += fmt::format("# {}\n", text); }
  void raw(std::string_view key, std::string_view value) {
    out_ += fmt::format("{} = {}\n", key, value);
  }
  void str(std::string_view key, std::string_view value) { raw(key, toml_quote(value)); }
  void boolean(std::string_view key, bool v) { raw(key, v ? "true" : "false"); }
  template <typename T>
  void number(std::string_view key, T v) {
    raw(key, fmt::format("{}", v));
  }
  void duration(std::string_view key, Duration d) { str(key, format_duration(d)); }
  template <typename Range, typename F>
  void list(std::string_view key, const Range& items, F&& each) {
    std::string value = "[";
    for (const auto& item : items)
      value += (value.size() > 1 ? ", " : "") + each(item);
    raw(key, value + "]");
  }
  // PEM as a multi-line literal string: readable, and PEM never holds '''.
  void pem(std::string_view key, std::string_view text) {
    bool literal_ok = text.find("'''") == std::string_view::npos &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) {
                        return c == '\n' || (c >= 0x20 && c != 0x7f);
                      });
    if (literal_ok)
      raw(key, fmt::format("'''\n{}'''", text));
    else
      str(key, text);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string quoted(const std::string& s) {
  return toml_quote(s);
}
std::string secret(const std::string& s, const PrintOptions& o) {
  return o.show_secrets ? s : std::string(kRedacted);
}

void write_listener(Writer& w, const Listener& l, const PrintOptions& o) {
  w.header(fmt::format("server.listener.{}", l.id));
  w.list("bind", l.bind, [](const BindAddress& b) { return quoted(b.text); });
  w.str("protocol", to_string(l.protocol));
  w.str("hostname", l.hostname);
  w.str("greeting", l.greeting);
  w.number("max-connections", l.max_connections);
  if (l.auth_token)
    w.str("auth-token", secret(*l.auth_token, o));
  else
    w.comment("auth-token: unset (no authentication)");
  w.list("proxy.trusted-networks", l.proxy_trusted_networks,
         [](const Cidr& c) { return quoted(c.text); });

  const TlsSettings& t = l.tls;
  w.boolean("tls.enable", t.enable);
  w.boolean("tls.implicit", t.implicit);
  w.boolean("tls.require", t.require);
  w.duration("tls.timeout", t.timeout);
  if (t.certificate.empty())
    w.comment("tls.certificate: none");
  else
    w.str("tls.certificate", t.certificate);
  w.list("tls.sni", t.sni, [](const SniEntry& e) {
    return fmt::format("{{ subject = {}, certificate = {} }}", quoted(e.subject),
                       quoted(e.certificate));
  });
  w.list("tls.protocols", t.protocols,
         [](TlsVersion v) { return quoted(std::string(to_string(v))); });
  w.list("tls.ciphers", t.ciphers, quoted);
  w.boolean("tls.ignore-client-order", t.ignore_client_order);

  const SocketSettings& s = l.socket;
  w.boolean("socket.reuse-addr", s.reuse_addr);
  w.boolean("socket.reuse-port", s.reuse_port);
  w.boolean("socket.nodelay", s.nodelay);
  w.number("socket.backlog", s.backlog);
  auto optional_int = [&](std::string_view key, const std::optional<int>& v) {
    if (v)
      w.number(key, *v);
    else
      w.comment(fmt::format("{}: unset (kernel default)", key));
  };
  optional_int("socket.ttl", s.ttl);
  optional_int("socket.tos", s.tos);
  optional_int("socket.send-buffer-size", s.send_buffer_size);
  optional_int("socket.recv-buffer-size", s.recv_buffer_size);
  if (s.linger)
    w.duration("socket.linger", *s.linger);
  else
    w.comment("socket.linger: unset (kernel default)");
}

}  // namespace

std::string print(const Config& c, const PrintOptions& o) {
  Writer w;
  w.comment(fmt::format("ringmx configuration, resolved from {}", c.source_path));
  w.comment("Every listener shows every tls.* and socket.* key as it applies to it.");

  w.header("server");
  w.str("hostname", c.hostname);
  w.str("greeting", c.greeting);
  w.number("shards", c.shards);
  w.str("connection-steering", to_string(c.steering));
  w.number("max-connections", c.max_connections);
  w.duration("shutdown-timeout", c.shutdown_timeout);
  w.boolean("allow-root", c.allow_root);
  w.str("log.level", to_string(c.log_level));
  if (c.run_as_user) w.str("run-as.user", *c.run_as_user);
  if (c.run_as_group) w.str("run-as.group", *c.run_as_group);
  w.duration("proxy.timeout", c.proxy_timeout);
  w.list("proxy.trusted-networks", c.proxy_trusted_networks,
         [](const Cidr& n) { return quoted(n.text); });
  if (c.management_auth_token) w.str("management.auth-token", secret(*c.management_auth_token, o));

  for (const Listener& l : c.listeners)
    write_listener(w, l, o);

  const SessionSettings& s = c.session;
  w.header("session");
  w.duration("timeout", s.timeout);
  w.duration("duration", s.duration);
  w.number("transfer-limit", s.transfer_limit);
  w.boolean("ehlo.require", s.ehlo_require);
  w.number("rcpt.max-recipients", s.max_recipients);
  w.list("rcpt.domains", s.rcpt_domains, quoted);
  w.number("data.limits.size", s.max_message_size);
  w.number("data.limits.messages", s.max_messages);
  w.number("data.limits.received-headers", s.max_received_headers);
  w.str("data.bare-newline", to_string(s.bare_newline));

  w.header("delivery");
  w.str("mode", to_string(c.delivery_mode));
  w.header("spool");
  w.str("path", c.spool_path);
  w.number("segment-size", c.segment_size);

  for (const auto& [name, cert] : c.certificates) {
    w.header(fmt::format("certificate.{}", toml_quote(name)));
    if (cert.cert_ref.empty())
      w.pem("cert", cert.cert_pem);
    else
      w.str("cert", cert.cert_ref);
    if (!cert.key_ref.empty())
      w.str("private-key", cert.key_ref);
    else if (o.show_secrets)
      w.pem("private-key", cert.key_pem);
    else
      w.str("private-key", kRedacted);
  }
  return w.take();
}

}  // namespace ringmx::config
