// Command-line options of ringmx-bench, parsed into one typed struct.
// Every option is declared once in options.cc (name, argument, default,
// bounds, help line); parse() is pure (no I/O) so it is unit-tested by table.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringmx::loadgen {

enum class Protocol { smtp, lmtp };
enum class TlsMode { none, starttls, implicit };

// One loopback address with its port (port 0 for a source address).
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// --size 1k:80,100k:20 : each message picks a size with these weights.
struct SizeWeight {
  std::size_t bytes = 0;
  unsigned weight = 1;
};

struct Options {
  Address target;
  std::string target_text;                // as given, for the report
  unsigned threads = 0;                   // 0: one per online CPU
  bool pin = false;                       // thread i runs only on the i-th allowed CPU
  unsigned connections = 10;              // concurrent sessions, all threads
  std::optional<std::uint64_t> messages;  // total messages (attempts)
  std::optional<std::chrono::nanoseconds> duration;
  std::vector<SizeWeight> sizes{{1024, 1}};
  unsigned recipients = 1;
  unsigned per_connection = 1;  // messages per session, 0: unlimited
  bool pipelining = true;
  Protocol protocol = Protocol::smtp;
  TlsMode tls = TlsMode::none;
  std::string sni;
  bool bdat = false;
  std::optional<double> rate;             // messages per second, open loop
  std::vector<Address> source_addresses;  // bind() before connect(), round robin
  std::optional<unsigned> hold_idle;      // connections to open and keep idle
  std::string json_path;
  std::string helo = "ringmx-bench.localhost";
  std::chrono::nanoseconds reply_timeout = std::chrono::seconds(30);
  bool help = false;
};

struct ParseError {
  std::string message;
};

// argv[0] is skipped. Returns the options or the first error, naming the option.
std::variant<Options, ParseError> parse_options(int argc, const char* const* argv);

// The --help text.
std::string usage();

// Pieces of the parser, exposed for tests.
std::optional<std::size_t> parse_bytes(std::string_view text);                  // 1024, 1k, 2M
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);  // 10s, 500ms, 2m
std::optional<std::vector<SizeWeight>> parse_sizes(std::string_view text);
std::optional<double> parse_rate(std::string_view text);  // 5000, 5000/s, 60000/m
// HOST:PORT or [V6]:PORT; only loopback (127.0.0.0/8, ::1) is accepted.
std::optional<Address> parse_target(std::string_view text);
// 127.0.0.1-127.0.0.50, a single address, or a comma list of either.
std::optional<std::vector<Address>> parse_source_addresses(std::string_view text);

}  // namespace ringmx::loadgen
