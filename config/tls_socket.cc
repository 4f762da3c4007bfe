// The tls.* and socket.* keys, read the same way at server level (the
// defaults) and per listener (the overrides), so both accept exactly the
// same keys, types and ranges.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "config/ciphers.h"
#include "config/loader.h"
#include "config/suggest.h"
#include "config/values.h"

namespace ringmx::config {
namespace {

using namespace std::chrono_literals;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string check_certificate_name(std::string_view name, const CertificateNames& certificates) {
  if (certificates.contains(std::string(name))) return {};
  if (certificates.empty())
    return fmt::format(
        "no certificate named \"{}\" (none is defined); add [certificate.{}] with "
        "cert and private-key",
        name, name);
  std::string list;
  for (const std::string& n : certificates)
    list += (list.empty() ? "\"" : ", \"") + n + "\"";
  return fmt::format("no certificate named \"{}\"; write one of {} or add [certificate.{}]", name,
                     list, name);
}

std::vector<SniEntry> read_sni(Section& section, const toml::node& node,
                               const CertificateNames& certificates, bool& ok) {
  std::vector<SniEntry> out;
  ok = false;
  const toml::array* array = node.as_array();
  if (!array) {
    section.error_at(node, "sni",
                     fmt::format("expected an array of {{ subject, certificate }} tables, found "
                                 "{}; write sni = [ {{ subject = \"mail.example.org\", "
                                 "certificate = \"NAME\" }} ]",
                                 describe_type(node)));
    return out;
  }
  bool all_ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    std::string path = fmt::format("{}[{}]", section.key_path("sni"), i);
    const toml::table* t = element.as_table();
    if (!t) {
      section.diagnostics().error(
          element.source(), path,
          fmt::format("expected a {{ subject, certificate }} table, found {}",
                      describe_type(element)));
      all_ok = false;
      continue;
    }
    Section entry(section.diagnostics(), t, path, element.source());
    SniEntry e;
    bool has_subject = entry.string("subject", e.subject, [](std::string_view s) {
      if (is_host_name(s, true)) return std::string();
      return fmt::format(
          "\"{}\" is not a host name; write \"mail.example.org\" or "
          "\"*.example.org\"",
          s);
    });
    bool has_cert = entry.string("certificate", e.certificate, [&](std::string_view n) {
      return check_certificate_name(n, certificates);
    });
    if (!entry.find("subject") || !entry.find("certificate")) {
      section.diagnostics().error(element.source(), path,
                                  "each sni entry needs both keys; write { subject = "
                                  "\"mail.example.org\", certificate = \"NAME\" }");
    }
    entry.finish();
    if (!has_subject || !has_cert) {
      all_ok = false;
      continue;
    }
    e.subject = lower(e.subject);
    bool duplicate = std::any_of(out.begin(), out.end(),
                                 [&](const SniEntry& o) { return o.subject == e.subject; });
    if (duplicate) {
      section.diagnostics().error(
          element.source(), path,
          fmt::format("subject \"{}\" is listed twice; keep one entry", e.subject));
      all_ok = false;
      continue;
    }
    out.push_back(std::move(e));
  }
  ok = all_ok;
  return out;
}

}  // namespace

TlsWritten read_tls(Section& s, TlsSettings& tls, const CertificateNames& certificates) {
  TlsWritten written;
  bool enable = tls.enable;
  if (s.boolean("enable", enable)) {
    tls.enable = enable;
    if (!enable) written.enable_false = s.find("enable");
  }
  written.implicit = s.boolean("implicit", tls.implicit);
  if (s.boolean("require", tls.require)) written.require = s.find("require");
  s.duration("timeout", tls.timeout, 100ms, 5min);
  written.certificates = s.string("certificate", tls.certificate, [&](std::string_view name) {
    return check_certificate_name(name, certificates);
  });
  if (const toml::node* node = s.find("sni")) {
    written.certificates = true;
    bool ok = false;
    std::vector<SniEntry> sni = read_sni(s, *node, certificates, ok);
    if (ok) tls.sni = std::move(sni);
  }

  if (auto versions = s.strings("protocols", false, [](std::string_view v) {
        if (v == "TLSv1.2" || v == "TLSv1.3") return std::string();
        return fmt::format(
            "\"{}\" is not a TLS version ringmx offers; write \"TLSv1.2\" or "
            "\"TLSv1.3\"",
            v);
      })) {
    written.versions_or_ciphers = true;
    std::vector<TlsVersion> out;
    bool ok = true;
    for (auto& [text, node] : *versions) {
      TlsVersion v = text == "TLSv1.2" ? TlsVersion::tls12 : TlsVersion::tls13;
      if (std::find(out.begin(), out.end(), v) != out.end()) {
        s.error_at(*node, "protocols", fmt::format("\"{}\" is listed twice; keep one", text));
        ok = false;
      }
      out.push_back(v);
    }
    if (out.empty()) {
      s.error("protocols",
              "the list is empty, so no client could connect; write protocols = [\"TLSv1.2\", "
              "\"TLSv1.3\"] or turn TLS off with enable = false");
      ok = false;
    }
    if (ok) tls.protocols = std::move(out);
  }

  if (auto ciphers = s.strings("ciphers", false, [](std::string_view name) {
        if (find_cipher_suite(name)) return std::string();
        std::vector<std::string> names;
        for (const CipherSuite& c : cipher_suites()) {
          names.emplace_back(c.iana);
          if (!c.alias.empty()) names.emplace_back(c.alias);
        }
        if (auto near = closest(name, names))
          return fmt::format(
              "unknown cipher suite \"{}\"; did you mean \"{}\"? (the README lists "
              "every name)",
              name, *near);
        return fmt::format(
            "unknown cipher suite \"{}\"; write an IANA name such as "
            "\"TLS_AES_128_GCM_SHA256\" or \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\" "
            "(the README lists every name)",
            name);
      })) {
    written.versions_or_ciphers = true;
    std::vector<std::string> out;
    bool ok = true;
    for (auto& [text, node] : *ciphers) {
      const CipherSuite* suite = find_cipher_suite(text);
      bool duplicate = std::any_of(out.begin(), out.end(), [&](const std::string& o) {
        return find_cipher_suite(o) == suite;
      });
      if (duplicate) {
        s.error_at(*node, "ciphers", fmt::format("\"{}\" is listed twice; keep one", text));
        ok = false;
      }
      out.push_back(text);
    }
    if (ok) tls.ciphers = std::move(out);
  }
  s.boolean("ignore-client-order", tls.ignore_client_order);

  // `implicit` means TLS from the first byte, so it implies `enable`; an
  // explicit `enable = false` in the same table contradicts it.
  if (written.enable_false && written.implicit && tls.implicit)
    s.error_at(*written.enable_false, "enable",
               "enable = false contradicts implicit = true (implicit TLS implies enable); remove "
               "enable = false, or write implicit = false to turn TLS off");
  s.finish();
  return written;
}

void check_tls_policy(Section& s, const TlsSettings& tls, const Certificates& loaded) {
  if (tls.ciphers.empty()) return;  // library defaults cover every version and key
  for (TlsVersion v : tls.protocols) {
    bool covered = std::any_of(tls.ciphers.begin(), tls.ciphers.end(), [&](const std::string& c) {
      return find_cipher_suite(c)->version == v;
    });
    if (covered) continue;
    std::string_view example = v == TlsVersion::tls13 ? "TLS13_AES_128_GCM_SHA256"
                                                      : "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    s.error("ciphers", fmt::format("no cipher suite in the list works with {}, which protocols "
                                   "allows; add one such as \"{}\", or remove \"{}\" from "
                                   "protocols",
                                   to_string(v), example, to_string(v)));
  }

  bool tls12 = std::find(tls.protocols.begin(), tls.protocols.end(), TlsVersion::tls12) !=
               tls.protocols.end();
  if (!tls12) return;
  // Every certificate a handshake may pick (the default one and each SNI one).
  std::vector<std::string> names;
  if (!tls.certificate.empty()) names.push_back(tls.certificate);
  for (const SniEntry& e : tls.sni)
    names.push_back(e.certificate);
  for (const std::string& name : names) {
    auto it = loaded.find(name);
    if (it == loaded.end() || it->second.key_type == KeyType::other) continue;
    KeyType key = it->second.key_type;
    bool usable = std::any_of(tls.ciphers.begin(), tls.ciphers.end(), [&](const std::string& c) {
      const CipherSuite* suite = find_cipher_suite(c);
      return suite->version == TlsVersion::tls12 && cipher_key_type(*suite) == key;
    });
    if (usable) continue;
    bool ec = key == KeyType::ec;
    s.error("ciphers",
            fmt::format("no TLS 1.2 suite in the list can be used with certificate \"{}\" (an {} "
                        "key), so TLS 1.2 clients would fail; add one such as \"{}\", or remove "
                        "\"TLSv1.2\" from protocols",
                        name, ec ? "EC" : "RSA",
                        ec ? "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
                           : "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    return;
  }
}

void read_socket(Section& s, SocketSettings& socket) {
  s.boolean("reuse-addr", socket.reuse_addr);
  s.boolean("reuse-port", socket.reuse_port);
  s.boolean("nodelay", socket.nodelay);
  // The kernel caps the backlog at net.core.somaxconn; 65535 is its maximum.
  s.integer("backlog", socket.backlog, 1, 65535);
  s.integer("ttl", socket.ttl, 1, 255);
  s.integer("tos", socket.tos, 0, 255);
  // SO_SNDBUF/SO_RCVBUF take an int that the kernel doubles: stay well inside.
  s.integer("send-buffer-size", socket.send_buffer_size, 1024, 1 << 30);
  s.integer("recv-buffer-size", socket.recv_buffer_size, 1024, 1 << 30);
  std::optional<Duration> linger;
  if (s.duration("linger", linger, 0s, 1h)) {
    // SO_LINGER counts whole seconds.
    if (linger->count() % 1000 != 0)
      s.error("linger", fmt::format("SO_LINGER counts whole seconds; write \"{}s\"",
                                    (linger->count() + 999) / 1000));
    else
      socket.linger = linger;
  }
  s.finish();
}

}  // namespace ringmx::config
