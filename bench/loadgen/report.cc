#include "bench/loadgen/report.h"

#include <fmt/format.h>

namespace ringmx::loadgen {
namespace {

constexpr std::array<double, 5> kPercentiles = {50, 90, 99, 99.9, 100};
constexpr std::array<const char*, 5> kPercentileNames = {"p50", "p90", "p99", "p99.9", "max"};

std::string ms(std::uint64_t ns) {
  return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6);
}

const char* protocol_name(const Options& o) {
  return o.protocol == Protocol::lmtp ? "lmtp" : "smtp";
}
const char* tls_name(const Options& o) {
  switch (o.tls) {
    case TlsMode::none:
      return "none";
    case TlsMode::starttls:
      return "starttls";
    case TlsMode::implicit:
      return "implicit";
  }
  return "?";
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", ch);
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

}  // namespace

void Totals::add(const WorkerStats& w) {
  messages_ok += w.messages_ok.get();
  messages_failed += w.messages_failed.get();
  messages_unstarted += w.messages_unstarted.get();
  sessions += w.sessions.get();
  tls_record_layer += w.tls_record_layer.get();
  bytes_sent += w.bytes_sent.get();
  bytes_received += w.bytes_received.get();
  connect_failures += w.connect_failures.get();
  errors += w.errors.get();
  held += w.held.get();
  for (const auto& [key, n] : w.errors_by_key)
    errors_by_key[key] += n;
  for (std::size_t p = 0; p < kPhases; ++p)
    latency[p].merge(w.latency[p]);
}

std::string format_table(const Totals& t, const Options& o) {
  double secs = t.elapsed_seconds > 0 ? t.elapsed_seconds : 1e-9;
  std::string s;
  s += fmt::format("ringmx-bench  target {}  {}  tls {}  pipelining {}{}  threads {}\n",
                   o.target_text, protocol_name(o), tls_name(o), o.pipelining ? "on" : "off",
                   o.bdat ? "  bdat" : "", t.threads);
  s += fmt::format("  {:<22}{:>14.3f}\n", "elapsed s", t.elapsed_seconds);
  s += fmt::format("  {:<22}{:>14}\n", "messages ok", t.messages_ok);
  s += fmt::format("  {:<22}{:>14}\n", "messages failed", t.messages_failed);
  if (o.rate) s += fmt::format("  {:<22}{:>14}\n", "due, never started", t.messages_unstarted);
  s += fmt::format("  {:<22}{:>14}\n", "sessions", t.sessions);
  if (o.tls != TlsMode::none)
    s += fmt::format("  {:<22}{:>14}\n", "tls record layer", t.tls_record_layer);
  if (o.hold_idle) s += fmt::format("  {:<22}{:>14}\n", "held idle at end", t.held);
  s += fmt::format("  {:<22}{:>14}\n", "bytes sent", t.bytes_sent);
  s += fmt::format("  {:<22}{:>14}\n", "bytes received", t.bytes_received);
  s += fmt::format("  {:<22}{:>14.1f}\n", "messages/s", static_cast<double>(t.messages_ok) / secs);
  s += fmt::format("  {:<22}{:>14.2f}\n", "MB/s sent (10^6)",
                   static_cast<double>(t.bytes_sent) / secs / 1e6);
  s += fmt::format("  {:<22}{:>14}\n", "connect failures", t.connect_failures);
  s += fmt::format("  {:<22}{:>14}\n", "errors", t.errors);
  for (const auto& [key, n] : t.errors_by_key)
    s += fmt::format("    {:<36}{:>10}\n", key, n);
  if (t.listen_delta) {
    s += fmt::format("  {:<22}{:>14}\n", "ListenOverflows delta", t.listen_delta->overflows);
    s += fmt::format("  {:<22}{:>14}\n", "ListenDrops delta", t.listen_delta->drops);
  } else {
    s += fmt::format("  {:<22}{:>14}\n", "ListenOverflows delta", "n/a");
  }
  s += fmt::format("  {:<22}{:>14.3f}\n", "client CPU user s", t.cpu_user_seconds);
  s += fmt::format("  {:<22}{:>14.3f}\n", "client CPU system s", t.cpu_system_seconds);
  s += fmt::format("\n  {:<12}{:>10}", "latency ms", "count");
  for (auto name : kPercentileNames)
    s += fmt::format("{:>11}", name);
  s += '\n';
  for (std::size_t p = 0; p < kPhases; ++p) {
    const auto& h = t.latency[p];
    s += fmt::format("  {:<12}{:>10}", kPhaseNames[p], h.count());
    for (auto q : kPercentiles)
      s += fmt::format("{:>11}", h.count() ? ms(h.percentile(q)) : "-");
    s += '\n';
  }
  return s;
}

std::string format_json(const Totals& t, const Options& o) {
  double secs = t.elapsed_seconds > 0 ? t.elapsed_seconds : 1e-9;
  std::string s = "{\n";
  s += fmt::format("  \"target\": {},\n", json_string(o.target_text));
  s += fmt::format("  \"protocol\": \"{}\",\n  \"tls\": \"{}\",\n", protocol_name(o), tls_name(o));
  s += fmt::format("  \"pipelining\": {},\n  \"bdat\": {},\n", o.pipelining, o.bdat);
  s += fmt::format("  \"threads\": {},\n  \"connections\": {},\n", t.threads,
                   o.hold_idle ? *o.hold_idle : o.connections);
  // The run as asked, so that a JSON file says how to reproduce it.
  auto or_null = [](auto value) { return value ? fmt::format("{}", *value) : std::string("null"); };
  s += fmt::format("  \"messages_requested\": {},\n", or_null(o.messages));
  s += fmt::format("  \"duration_seconds\": {},\n",
                   o.duration
                       ? fmt::format("{:.3f}", std::chrono::duration<double>(*o.duration).count())
                       : "null");
  s += fmt::format("  \"rate_per_second\": {},\n", or_null(o.rate));
  s += fmt::format("  \"hold_idle_requested\": {},\n", or_null(o.hold_idle));
  s += "  \"sizes\": [";
  for (std::size_t i = 0; i < o.sizes.size(); ++i)
    s += fmt::format("{}{{\"bytes\": {}, \"weight\": {}}}", i ? ", " : "", o.sizes[i].bytes,
                     o.sizes[i].weight);
  s += "],\n";
  s += fmt::format("  \"recipients\": {},\n  \"per_connection\": {},\n", o.recipients,
                   o.per_connection);
  s += fmt::format("  \"elapsed_seconds\": {:.6f},\n", t.elapsed_seconds);
  s += fmt::format("  \"messages_ok\": {},\n  \"messages_failed\": {},\n", t.messages_ok,
                   t.messages_failed);
  s += fmt::format("  \"messages_unstarted\": {},\n", t.messages_unstarted);
  s += fmt::format("  \"sessions\": {},\n  \"held_idle\": {},\n", t.sessions, t.held);
  s += fmt::format("  \"tls_record_layer_sessions\": {},\n", t.tls_record_layer);
  s += fmt::format("  \"bytes_sent\": {},\n  \"bytes_received\": {},\n", t.bytes_sent,
                   t.bytes_received);
  s += fmt::format("  \"messages_per_second\": {:.3f},\n",
                   static_cast<double>(t.messages_ok) / secs);
  s += fmt::format("  \"megabytes_per_second\": {:.3f},\n",
                   static_cast<double>(t.bytes_sent) / secs / 1e6);
  s +=
      fmt::format("  \"connect_failures\": {},\n  \"errors\": {},\n", t.connect_failures, t.errors);
  s += "  \"errors_by_key\": {";
  bool first = true;
  for (const auto& [key, n] : t.errors_by_key) {
    s += fmt::format("{}{}: {}", first ? "" : ", ", json_string(key), n);
    first = false;
  }
  s += "},\n";
  if (t.listen_delta)
    s += fmt::format("  \"listen_overflows_delta\": {},\n  \"listen_drops_delta\": {},\n",
                     t.listen_delta->overflows, t.listen_delta->drops);
  else
    s += "  \"listen_overflows_delta\": null,\n  \"listen_drops_delta\": null,\n";
  s += fmt::format("  \"cpu_user_seconds\": {:.3f},\n  \"cpu_system_seconds\": {:.3f},\n",
                   t.cpu_user_seconds, t.cpu_system_seconds);
  s += "  \"latency_ns\": {\n";
  for (std::size_t p = 0; p < kPhases; ++p) {
    const auto& h = t.latency[p];
    s += fmt::format("    \"{}\": {{\"count\": {}", kPhaseNames[p], h.count());
    for (std::size_t i = 0; i < kPercentiles.size(); ++i)
      s += fmt::format(", \"{}\": {}", kPercentileNames[i], h.percentile(kPercentiles[i]));
    s += p + 1 < kPhases ? "},\n" : "}\n";
  }
  s += "  }\n}\n";
  return s;
}

std::string format_progress(double elapsed, double messages_per_second, std::uint64_t errors,
                            const Histogram& transaction, const Histogram& earlier,
                            std::optional<std::uint64_t> held) {
  if (held) return fmt::format("{:7.1f}s  held {}  errors {}", elapsed, *held, errors);
  return fmt::format("{:7.1f}s  {:9.0f} msg/s  errors {}  p50 {}ms  p99 {}ms", elapsed,
                     messages_per_second, errors,
                     ms(Histogram::percentile_since(transaction, earlier, 50)),
                     ms(Histogram::percentile_since(transaction, earlier, 99)));
}

}  // namespace ringmx::loadgen
