// Internal to the loader: the readers of each part of the schema. Each
// reads one kind of table into its typed struct, checking every value, and
// is the one place its keys, bounds and defaults-handling are written.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/section.h"

namespace ringmx::config {

using CertificateNames = std::set<std::string>;  // defined, even if they failed to load

// What a tls table wrote itself (not inherited), for the checks that care.
struct TlsWritten {
  const toml::node* enable_false = nullptr;  // `enable = false`, where
  bool implicit = false;                     // `implicit` written
  bool versions_or_ciphers = false;          // `protocols` or `ciphers` written
  bool certificates = false;                 // `certificate` or `sni` written
  const toml::node* require = nullptr;       // `require`, where
};

// server.tls or server.listener.<id>.tls: overrides fields of `tls` with
// what the table writes. References are checked against `certificates`.
TlsWritten read_tls(Section& section, TlsSettings& tls, const CertificateNames& certificates);

using Certificates = std::map<std::string, Certificate>;

// Reports a cipher list that leaves an allowed TLS version with no suite,
// or leaves TLS 1.2 with no suite for the key type of a certificate in use.
void check_tls_policy(Section& section, const TlsSettings& tls, const Certificates& loaded);

// server.socket or server.listener.<id>.socket: overrides fields of `socket`.
void read_socket(Section& section, SocketSettings& socket);

// The certificate.<name> tables; names of every table (valid or not) go to
// `names`. Relative file:// paths resolve against `base_dir` (absolute).
std::map<std::string, Certificate> read_certificates(Section& certificate_table,
                                                     const std::filesystem::path& base_dir,
                                                     CertificateNames& names);

// What a listener starts from before its own keys apply.
struct ListenerDefaults {
  TlsSettings tls;
  TlsWritten tls_written;
  SocketSettings socket;
  std::string hostname, greeting;
  uint32_t max_connections = 0;
  std::vector<Cidr> proxy_trusted_networks;
  std::optional<std::string> auth_token;
};

// server.listener.<id> tables, fully resolved, plus the checks across them
// (duplicate addresses).
std::vector<Listener> read_listeners(Section& listener_table, const ListenerDefaults& defaults,
                                     const CertificateNames& certificates,
                                     const Certificates& loaded);

// Shared value checks (return "" when fine, else what is wrong).
std::string check_greeting(std::string_view text);
std::string check_host_name(std::string_view text);
std::string check_secret(std::string_view text);
// `key` holds a bearer token: read it, and warn when it is short enough to guess.
bool read_token(Section& section, std::string_view key, std::optional<std::string>& out);
std::optional<std::vector<Cidr>> read_networks(Section& section, std::string_view key);

}  // namespace ringmx::config
