// The top of the schema: parsing, the server.* keys, session.*, delivery.*,
// spool.*, and the order in which the parts are read (certificates first,
// so every reference to one can be checked where it is written).
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/default_toml.h"
#include "config/loader.h"
#include "config/values.h"

namespace ringmx::config {
namespace {

using namespace std::chrono_literals;

std::string machine_host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !is_host_name(buf)) return "localhost";
  return buf;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void read_server(Section& server, Config& c, ListenerDefaults& d,
                 const CertificateNames& certificates) {
  c.hostname = machine_host_name();
  server.string("hostname", c.hostname, check_host_name);
  server.string("greeting", c.greeting, check_greeting);
  server.integer("shards", c.shards, 0, 1024);
  server.choice("connection-steering", c.steering,
                {{"cpu", Steering::cpu}, {"hash", Steering::hash}});
  server.integer("max-connections", c.max_connections, 1, 1'000'000);
  server.duration("shutdown-timeout", c.shutdown_timeout, 0s, 1h);
  server.boolean("allow-root", c.allow_root);

  Section log = server.table("log");
  log.choice("level", c.log_level,
             {{"error", LogLevel::error},
              {"warn", LogLevel::warn},
              {"info", LogLevel::info},
              {"debug", LogLevel::debug}});
  log.finish();

  Section run_as = server.table("run-as");
  auto account = [](std::string_view name) {
    bool ok = !name.empty() && name.size() <= 32 &&
              std::none_of(name.begin(), name.end(), [](unsigned char ch) {
                return ch <= ' ' || ch == ':' || ch == '/' || ch >= 0x7f;
              });
    return ok ? std::string()
              : fmt::format("\"{}\" is not an account name; write a name such as \"ringmx\"", name);
  };
  run_as.string("user", c.run_as_user, account);
  run_as.string("group", c.run_as_group, account);
  run_as.finish();

  Section proxy = server.table("proxy");
  proxy.duration("timeout", c.proxy_timeout, 100ms, 5min);
  if (auto nets = read_networks(proxy, "trusted-networks")) c.proxy_trusted_networks = *nets;
  proxy.finish();

  Section management = server.table("management");
  read_token(management, "auth-token", c.management_auth_token);
  management.finish();

  Section tls = server.table("tls");
  d.tls_written = read_tls(tls, d.tls, certificates);
  check_tls_policy(tls, d.tls, c.certificates);
  Section socket = server.table("socket");
  read_socket(socket, d.socket);

  d.hostname = c.hostname;
  d.greeting = c.greeting;
  d.max_connections = c.max_connections;
  d.proxy_trusted_networks = c.proxy_trusted_networks;
  d.auth_token = c.management_auth_token;
}

void read_session(Section& s, SessionSettings& session) {
  s.duration("timeout", session.timeout, 100ms, 24h);
  s.duration("duration", session.duration, 100ms, 7 * 24h);
  s.integer("transfer-limit", session.transfer_limit, 1, int64_t{1} << 50);

  Section ehlo = s.table("ehlo");
  ehlo.boolean("require", session.ehlo_require);
  ehlo.finish();

  Section rcpt = s.table("rcpt");
  rcpt.integer("max-recipients", session.max_recipients, 1, 100'000);
  if (auto domains = rcpt.strings("domains", false, [](std::string_view d) {
        if (is_host_name(d)) return std::string();
        return fmt::format("\"{}\" is not a domain; write a domain such as \"example.org\"", d);
      })) {
    std::vector<std::string> out;
    for (auto& [text, node] : *domains) {
      std::string domain = lower(text);
      if (domain.ends_with('.')) domain.pop_back();
      if (std::find(out.begin(), out.end(), domain) != out.end()) {
        rcpt.warning_at(*node, "domains", fmt::format("\"{}\" is listed twice", text));
        continue;
      }
      out.push_back(std::move(domain));
    }
    session.rcpt_domains = std::move(out);
  }
  rcpt.finish();

  Section data = s.table("data");
  Section limits = data.table("limits");
  limits.integer("size", session.max_message_size, 1, int64_t{1} << 40);
  limits.integer("messages", session.max_messages, 1, 1'000'000);
  limits.integer("received-headers", session.max_received_headers, 1, 1000);
  limits.finish();
  data.choice("bare-newline", session.bare_newline,
              {{"normalize", BareNewline::normalize}, {"reject", BareNewline::reject}});
  data.finish();
  if (session.max_message_size > session.transfer_limit)
    s.diagnostics().warning(
        limits.present() ? limits.where() : s.where(), "session.data.limits.size",
        fmt::format("{} bytes is more than session.transfer-limit ({}), so no message can reach "
                    "it; raise transfer-limit or lower size",
                    session.max_message_size, session.transfer_limit));
  s.finish();
}

void read_storage(Section& root, Config& c, const std::filesystem::path& base) {
  Section delivery = root.table("delivery");
  delivery.choice("mode", c.delivery_mode,
                  {{"spool", DeliveryMode::spool}, {"discard", DeliveryMode::discard}});
  delivery.finish();
  if (c.delivery_mode == DeliveryMode::discard)
    root.diagnostics().warning(delivery.where(), "delivery.mode",
                               "discard: messages are accepted with 250 and thrown away (for "
                               "load tests only)");

  Section spool = root.table("spool");
  std::string path = "var/spool";
  spool.string("path", path, [](std::string_view p) {
    return p.empty() ? std::string("the path is empty; write path = \"/var/spool/ringmx\"")
                     : std::string();
  });
  std::filesystem::path p(path);
  c.spool_path = (p.is_relative() ? base / p : p).lexically_normal().string();
  if (c.spool_path.size() > 1 && c.spool_path.ends_with('/')) c.spool_path.pop_back();
  spool.integer("segment-size", c.segment_size, int64_t{1} << 20, int64_t{16} << 30);
  spool.finish();
}

Config read_config(Section& root, const std::filesystem::path& base) {
  Config c;
  CertificateNames names;
  Section certificate = root.table("certificate");
  c.certificates = read_certificates(certificate, base, names);

  Section server = root.table("server");
  ListenerDefaults defaults;
  read_server(server, c, defaults, names);
  Section listener = server.table("listener");
  c.listeners = read_listeners(listener, defaults, names, c.certificates);
  listener.finish();
  if (c.listeners.empty())
    root.diagnostics().error(listener.where(), "server.listener",
                             "no listener is defined, so ringmx would accept nothing; add "
                             "[server.listener.smtp] with bind = \"0.0.0.0:25\"");
  server.finish();

  Section session = root.table("session");
  read_session(session, c.session);
  read_storage(root, c, base);
  root.finish();
  return c;
}

}  // namespace

std::string check_greeting(std::string_view text) {
  // The greeting follows "220 hostname " on one line of at most 512 bytes.
  if (text.empty() || text.size() > 200) return "write 1 to 200 characters, e.g. \"ringmx ESMTP\"";
  for (unsigned char ch : text)
    if (ch < 0x20 || ch >= 0x7f)
      return "only printable ASCII fits an SMTP line (no line breaks or control characters); "
             "write e.g. \"ringmx ESMTP\"";
  return {};
}

std::string check_host_name(std::string_view text) {
  if (is_host_name(text)) return {};
  return fmt::format(
      "\"{}\" is not a host name; write the name clients see, e.g. "
      "\"mx1.example.org\"",
      text);
}

std::string check_secret(std::string_view text) {
  if (text == kRedacted) return "this value was redacted by --print-config; write the real token";
  if (text.empty()) return "the token is empty; remove the key, or write a random token";
  for (unsigned char ch : text)
    if (ch <= ' ' || ch >= 0x7f)
      return "a token is printable ASCII without spaces; generate one with: openssl rand -hex 32";
  return {};
}

bool read_token(Section& s, std::string_view key, std::optional<std::string>& out) {
  if (!s.string(key, out, check_secret)) return false;
  // 16 random bytes as hex is 32 characters; under 16 is guessable.
  if (out->size() < 16)
    s.warning_at(*s.find(key), key,
                 fmt::format("a {}-character token is easy to guess; use at least 16, e.g. from: "
                             "openssl rand -hex 16",
                             out->size()));
  return true;
}

std::optional<std::vector<Cidr>> read_networks(Section& s, std::string_view key) {
  auto items = s.strings(key, false, [](std::string_view text) {
    auto parsed = parse_cidr(text);
    auto* e = std::get_if<std::string>(&parsed);
    return e ? *e : std::string();
  });
  if (!items) return std::nullopt;
  std::vector<Cidr> out;
  for (auto& [text, node] : *items)
    out.push_back(std::get<Cidr>(parse_cidr(text)));
  return out;
}

LoadResult load_string(std::string_view toml_text, std::string_view display_name,
                       const std::filesystem::path& base_dir) {
  Diagnostics diagnostics{std::string(display_name)};
  LoadResult result;
  toml::table root;
  try {
    root = toml::parse(toml_text, display_name);
  } catch (const toml::parse_error& e) {
    diagnostics.error(
        e.source(), "",
        fmt::format("TOML syntax: {}; fix the syntax at this position", e.description()));
    result.errors = diagnostics.take_errors();
    return result;
  }
  std::filesystem::path base = std::filesystem::absolute(base_dir).lexically_normal();
  Section top(diagnostics, &root, "", root.source());
  Config config = read_config(top, base);
  config.source_path = std::string(display_name);
  result.errors = diagnostics.take_errors();
  result.warnings = diagnostics.take_warnings();
  // Read order follows the schema; the operator reads the file top down.
  auto by_position = [](const Diagnostic& a, const Diagnostic& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  };
  std::stable_sort(result.errors.begin(), result.errors.end(), by_position);
  std::stable_sort(result.warnings.begin(), result.warnings.end(), by_position);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    Diagnostic d;
    d.file = path.string();
    d.message = fmt::format("cannot read the configuration: {}; check the path given to --config",
                            std::strerror(errno));
    r.errors.push_back(std::move(d));
    return r;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::path base = path.parent_path();
  if (base.empty()) base = ".";
  return load_string(text.str(), path.string(), base);
}

std::string_view embedded_default() {
  return kDefaultToml;
}

LoadResult load_embedded_default() {
  return load_string(embedded_default(), "<embedded default>", std::filesystem::current_path());
}

}  // namespace ringmx::config
