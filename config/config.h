// The typed, fully resolved ringmx configuration and its loader.
//
// Everything here is resolved once at load: every listener carries its own
// complete TlsSettings and SocketSettings (server.tls / server.socket
// defaults with the listener's overrides applied), certificates carry their
// PEM text, relative paths are made absolute. No later code asks "which
// default applies" or reads the TOML again.
//
// The schema (every key, its default, type and range) lives in
// config/schema.cc; this header is the stable API other layers code against.
// Changes to it are additive only.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmx::config {

// Written "500ms", "30s", "1m", "2h", "1d".
using Duration = std::chrono::milliseconds;

enum class Protocol { smtp, lmtp, http };
enum class TlsVersion { tls12, tls13 };
// What DATA does with a bare LF or bare CR: `normalize` (default) or `reject`.
enum class BareNewline { normalize, reject };
enum class DeliveryMode { spool, discard };
// Which shard a new connection on an SO_REUSEPORT address goes to: the one
// pinned to the CPU that took the SYN (locality), or the kernel's hash.
enum class Steering { cpu, hash };
enum class LogLevel { error, warn, info, debug };
// The public key algorithm of a certificate: TLS 1.2 suites name it
// (ECDHE_ECDSA_* needs ec, ECDHE_RSA_* / DHE_RSA_* need rsa).
enum class KeyType { other, rsa, ec };

// Where a section was written; for messages only. Two origins always compare
// equal, so a configuration printed and reloaded from another file is still
// the same configuration.
struct Origin {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  bool operator==(const Origin&) const { return true; }
};

// One "address:port" to listen on, parsed and ready for bind(2).
struct BindAddress {
  std::string text;  // canonical: "127.0.0.1:25", "[::1]:25", "[::]:25"
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  int family = AF_UNSPEC;  // AF_INET or AF_INET6
  uint16_t port = 0;       // host byte order
  bool operator==(const BindAddress& o) const { return text == o.text; }
};

// A network such as "10.0.0.0/8" or "2001:db8::/32" (a bare address means a
// single host: /32 or /128).
struct Cidr {
  std::string text;  // canonical: "10.0.0.0/8"
  int family = AF_UNSPEC;
  uint8_t address[16] = {};  // network order, first 4 bytes for AF_INET
  uint8_t prefix = 0;
  // An IPv4 peer seen as an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as an
  // AF_INET6 socket on [::] reports it) matches IPv4 networks.
  bool contains(const sockaddr* peer) const;
  bool operator==(const Cidr& o) const { return text == o.text; }
};

struct SniEntry {
  std::string subject;      // "mail.example.org" or "*.example.org"
  std::string certificate;  // a key of Config::certificates (checked to exist)
  bool operator==(const SniEntry&) const = default;
};

struct TlsSettings {
  bool enable = false;    // TLS offered (STARTTLS, or from the first byte when implicit)
  bool implicit = false;  // TLS from the first byte; implies enable (resolved: enable is true)
  bool require = false;   // MAIL before STARTTLS gets 530 5.7.0
  Duration timeout = std::chrono::minutes(1);  // handshake must finish within this
  std::string certificate;                     // a key of Config::certificates; "" = none
  std::vector<SniEntry> sni;
  std::vector<TlsVersion> protocols{TlsVersion::tls12, TlsVersion::tls13};
  // Cipher suites as written (IANA-style, e.g. "TLS13_CHACHA20_POLY1305_SHA256",
  // "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"), each known to
  // config/ciphers.h, which maps it to the wolfSSL name. Empty = library defaults.
  std::vector<std::string> ciphers;
  bool ignore_client_order = true;  // server's cipher order wins
  bool operator==(const TlsSettings&) const = default;
};

// Unset optionals mean "leave the kernel default" (no setsockopt).
struct SocketSettings {
  bool reuse_addr = true;               // SO_REUSEADDR
  bool reuse_port = true;               // SO_REUSEPORT
  bool nodelay = true;                  // TCP_NODELAY
  int backlog = 1024;                   // listen(2)
  std::optional<int> ttl;               // IP_TTL / IPV6_UNICAST_HOPS, 1..255
  std::optional<int> tos;               // IP_TOS / IPV6_TCLASS, 0..255
  std::optional<int> send_buffer_size;  // SO_SNDBUF, bytes
  std::optional<int> recv_buffer_size;  // SO_RCVBUF, bytes
  std::optional<Duration> linger;       // SO_LINGER on, this long (whole seconds; 0s = RST)
  bool operator==(const SocketSettings&) const = default;
};

// Session limits (server-wide: `session.*`).
struct SessionSettings {
  Duration timeout = std::chrono::minutes(5);    // idle: no byte from the client
  Duration duration = std::chrono::minutes(10);  // whole session
  uint64_t transfer_limit = 262144000;           // bytes received per session
  bool ehlo_require = true;                      // MAIL before EHLO/HELO refused
  uint32_t max_recipients = 100;                 // per transaction
  std::vector<std::string> rcpt_domains;         // lower case; empty = every domain
  uint64_t max_message_size = 104857600;         // bytes (also the SIZE= advertised)
  uint32_t max_messages = 100;                   // per session
  uint32_t max_received_headers = 50;            // loop detection
  BareNewline bare_newline = BareNewline::normalize;
  bool operator==(const SessionSettings&) const = default;
};

struct Listener {
  std::string id;  // the <id> of server.listener.<id>
  std::vector<BindAddress> bind;
  Protocol protocol = Protocol::smtp;
  TlsSettings tls;        // resolved: server.tls with this listener's overrides
  SocketSettings socket;  // resolved: server.socket with this listener's overrides
  std::string hostname;   // resolved: listener's, else server.hostname
  std::string greeting;   // resolved: listener's, else server.greeting
  uint32_t max_connections = 8192;
  // Peers allowed to send a PROXY header; resolved: the listener's list
  // replaces server.proxy.trusted-networks. Empty = PROXY never accepted.
  std::vector<Cidr> proxy_trusted_networks;
  // Bearer token for the management (http) API; resolved: listener's, else
  // server.management.auth-token. Unset = no authentication.
  std::optional<std::string> auth_token;
  Origin origin;
  bool operator==(const Listener&) const = default;
};

struct Certificate {
  std::string name;
  std::string cert_pem;  // the certificate chain, PEM (already read from the file)
  std::string key_pem;   // the private key, PEM (already read from the file)
  // "file:///absolute/path" when written as a file:// reference (relative
  // references are resolved against the configuration file's folder);
  // empty when written inline.
  std::string cert_ref;
  std::string key_ref;
  Origin origin;
  // Read from the leaf certificate at load (not written in the TOML).
  KeyType key_type = KeyType::other;
  std::chrono::system_clock::time_point not_after{};
  bool key_inline() const { return key_ref.empty(); }
  bool operator==(const Certificate&) const = default;
};

struct Config {
  std::string source_path;  // the file loaded, or "<embedded default>"; not compared
  std::string hostname;     // server.hostname; default: gethostname()
  std::string greeting = "ringmx ESMTP";
  unsigned shards = 0;                // 0 = one per online CPU (decided by the runtime at start)
  Steering steering = Steering::cpu;  // server.connection-steering
  uint32_t max_connections = 8192;    // server default for listeners
  Duration shutdown_timeout = std::chrono::seconds(30);
  Duration proxy_timeout = std::chrono::seconds(5);  // whole PROXY header must arrive within
  std::vector<Cidr> proxy_trusted_networks;          // server default for listeners
  LogLevel log_level = LogLevel::info;
  std::optional<std::string> run_as_user, run_as_group;
  bool allow_root = false;
  std::optional<std::string> management_auth_token;  // server default for listeners
  SessionSettings session;
  DeliveryMode delivery_mode = DeliveryMode::spool;
  std::string spool_path;               // absolute; default "var/spool" under the base folder
  uint64_t segment_size = 64ull << 20;  // spool.segment-size, bytes
  std::vector<Listener> listeners;      // in file order
  std::map<std::string, Certificate> certificates;
  // Compares the configuration's values; source_path and origins are ignored.
  bool operator==(const Config& o) const;
};

struct Diagnostic {
  std::string file;
  unsigned line = 0, column = 0;  // 1-based; 0 when unknown
  std::string key;                // dotted path, e.g. "server.listener.smtp.socket.backlog"
  std::string message;            // what is wrong, and what to write instead
  bool warning = false;
  // "FILE:LINE:COL: error: KEY: message" ("warning:" for warnings).
  std::string to_string() const;
};

// At most this many errors are collected; loading stops looking after that.
inline constexpr size_t kMaxErrors = 20;

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<Diagnostic> errors, warnings;
  bool ok() const { return config.has_value(); }
};

// Loads a file. Relative paths in it (file:// references, spool.path)
// resolve against the file's folder.
LoadResult load_file(const std::filesystem::path& path);

// Loads TOML text. `display_name` is used in diagnostics; relative paths
// resolve against `base_dir` (made absolute against the current directory).
LoadResult load_string(std::string_view toml_text, std::string_view display_name,
                       const std::filesystem::path& base_dir);

// The embedded default configuration (config/default.toml), and loading it
// with relative paths against the current directory.
std::string_view embedded_default();
LoadResult load_embedded_default();

// The placeholder print() writes in place of a secret.
inline constexpr std::string_view kRedacted = "<redacted>";

struct PrintOptions {
  // false (the --print-config default): inline private keys and auth tokens
  // are written as "<redacted>", which load_* refuses, so a redacted
  // printout never starts a server with a bogus secret.
  bool show_secrets = false;
};

// The resolved configuration as TOML in the same schema: every listener with
// every tls.* and socket.* key written out. Unset optional socket values are
// omitted (absent = kernel default, so it reloads as unset). Loading the
// output again gives an equal Config (with show_secrets, or when every
// secret is a file:// reference).
std::string print(const Config& config, const PrintOptions& options = {});

// Names for printing and messages.
std::string_view to_string(Protocol);
std::string_view to_string(TlsVersion);  // "TLSv1.2", "TLSv1.3"
std::string_view to_string(BareNewline);
std::string_view to_string(DeliveryMode);
std::string_view to_string(Steering);
std::string_view to_string(LogLevel);
std::string format_duration(Duration);  // the largest exact unit: "90s", "1m", "500ms"

}  // namespace ringmx::config
