#include "core/metrics.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <filesystem>
#include <string_view>

#include <fmt/format.h>

#include "config/ciphers.h"
#include "core/listeners.h"
#include "core/netstat.h"
#include "delivery/segment_file.h"
#include "protocols/http/prometheus.h"

namespace ringmx::core {

const char* to_string(ProxyRefusal r) {
  switch (r) {
    case ProxyRefusal::malformed:
      return "malformed";
    case ProxyRefusal::timeout:
      return "timeout";
    case ProxyRefusal::disconnect:
      return "disconnect";
    case ProxyRefusal::count_:
      break;
  }
  return "unknown";
}

const char* to_string(KtlsDecline r) {
  switch (r) {
    case KtlsDecline::buffered_input:
      return "buffered-input";
    case KtlsDecline::send_pending:
      return "send-pending";
    case KtlsDecline::cipher:
      return "cipher";
    case KtlsDecline::refused:
      return "refused";
    case KtlsDecline::count_:
      break;
  }
  return "unknown";
}

void ShardMetrics::record_fsync(std::uint64_t ns) {
  const double seconds = static_cast<double>(ns) / 1e9;
  std::size_t b = 0;
  while (b < kFsyncBuckets.size() && seconds > kFsyncBuckets[b])
    ++b;
  bump(fsync_latency[b]);
  bump(fsync_latency_ns_sum, ns);
}

namespace {
constexpr const char* kTlsVersionNames[ShardMetrics::kTlsVersions] = {"TLSv1.2", "TLSv1.3",
                                                                      "other"};
}  // namespace

void ShardMetrics::record_tls(std::string_view version, std::string_view cipher) {
  const std::size_t v = version == "TLSv1.2" ? 0 : version == "TLSv1.3" ? 1 : 2;
  const auto suites = config::cipher_suites();
  static_assert(kTlsSuites >= 2);
  std::size_t s = kTlsSuites - 1;
  // Only the IANA name: tls::Session::info() reports that spelling.
  for (std::size_t i = 0; i < suites.size() && i < kTlsSuites - 1; ++i)
    if (suites[i].iana == cipher) s = i;
  bump(tls_handshakes[v][s]);
}

namespace {

// The segment files of one shard's spool folder: how many and their total
// size. A directory listing on the management thread at scrape time (a few
// dozen entries at most): the writer's hot path keeps no count of its own.
struct SegmentUsage {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
};

SegmentUsage segment_usage(const std::filesystem::path& dir) {
  SegmentUsage u;
  std::error_code ec;
  // increment(ec), not a range-for: a failing listing must not throw on
  // the shard's thread; the scrape then shows what was counted so far.
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!delivery::parse_segment_file_name(it->path().filename().string())) continue;
    std::error_code size_ec;
    const std::uintmax_t size = it->file_size(size_ec);
    if (size_ec) continue;  // removed while listing
    ++u.count;
    u.bytes += size;
  }
  return u;
}

std::uint64_t sum(const std::vector<std::unique_ptr<ShardMetrics>>& shards,
                  std::atomic<std::uint64_t> ShardMetrics::*field) {
  std::uint64_t total = 0;
  for (const auto& s : shards)
    total += ((*s).*field).load(std::memory_order_relaxed);
  return total;
}

}  // namespace

std::string render_metrics(const std::vector<std::unique_ptr<ShardMetrics>>& shards,
                           const ListenerSet& set) {
  using http::MetricType;
  http::Exposition e;

  e.family("ringmx_connections_accepted_total",
           "Connections accepted and given a session, by listener.", MetricType::counter);
  for (const auto& rt : set.listeners)
    e.sample({{"listener", rt->listener->id}},
             rt->counters->accepted.load(std::memory_order_relaxed));
  e.family("ringmx_connections_refused_total",
           "Connections refused with 421 over the listener's max-connections.",
           MetricType::counter);
  for (const auto& rt : set.listeners)
    e.sample({{"listener", rt->listener->id}},
             rt->counters->rejected.load(std::memory_order_relaxed));
  e.family("ringmx_connections_open", "Connections open now, by listener.", MetricType::gauge);
  for (const auto& rt : set.listeners)
    e.sample({{"listener", rt->listener->id}},
             rt->counters->connections.load(std::memory_order_relaxed));

  e.family("ringmx_sessions_total",
           "SMTP/LMTP sessions ended, by outcome (the reason= of the conn.close log line).",
           MetricType::counter);
  for (std::size_t r = 1; r < kCloseReasons; ++r) {
    std::uint64_t n = 0;
    for (const auto& s : shards)
      n += s->sessions_closed[r].load(std::memory_order_relaxed);
    e.sample({{"outcome", to_string(static_cast<CloseReason>(r))}}, n);
  }
  e.family("ringmx_management_connections_total",
           "Management (http) connections ended, by outcome.", MetricType::counter);
  for (std::size_t r = 1; r < kCloseReasons; ++r) {
    std::uint64_t n = 0;
    for (const auto& s : shards)
      n += s->management_closed[r].load(std::memory_order_relaxed);
    e.sample({{"outcome", to_string(static_cast<CloseReason>(r))}}, n);
  }
  e.family("ringmx_http_requests_total", "Management requests answered.", MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::http_requests));

  e.family("ringmx_messages_accepted_total", "Messages made durable and answered 250.",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::messages_accepted));
  e.family("ringmx_messages_refused_total",
           "Refusals of MAIL, RCPT, DATA, BDAT and of messages at their end (the "
           "engine's and the spool's), by reply class and code.",
           MetricType::counter);
  // Only codes seen: absent means zero.
  for (std::size_t i = 0; i < ShardMetrics::kRefusalCodes; ++i) {
    std::uint64_t n = 0;
    for (const auto& s : shards)
      n += s->messages_refused[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    e.sample({{"class", i < 100 ? "4xx" : "5xx"}, {"code", std::to_string(400 + i)}}, n);
  }
  e.family("ringmx_message_bytes_received_total",
           "Octets of complete message contents (our Received header included).",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::message_bytes));

  e.family("ringmx_tls_handshakes_total",
           "TLS handshakes completed, by protocol version and cipher suite (IANA name).",
           MetricType::counter);
  {
    // Only pairs seen: most of versions x suites never occur (a TLS 1.3
    // suite is never negotiated in TLS 1.2), and absent means zero.
    const auto suites = config::cipher_suites();
    for (std::size_t v = 0; v < ShardMetrics::kTlsVersions; ++v) {
      for (std::size_t c = 0; c < ShardMetrics::kTlsSuites; ++c) {
        std::uint64_t n = 0;
        for (const auto& s : shards)
          n += s->tls_handshakes[v][c].load(std::memory_order_relaxed);
        if (n == 0) continue;
        const std::string_view cipher =
            c < suites.size() && c < ShardMetrics::kTlsSuites - 1 ? suites[c].iana : "other";
        e.sample({{"version", kTlsVersionNames[v]}, {"cipher", cipher}}, n);
      }
    }
  }
  e.family("ringmx_tls_handshake_failures_total", "TLS handshakes that failed.",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::tls_failures));
  e.family("ringmx_tls_handshake_timeouts_total", "TLS handshakes that timed out.",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::tls_timeouts));
  e.family("ringmx_tls_ktls_offloads_total", "TLS sessions handed to kernel TLS.",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::tls_ktls_offloads));
  e.family("ringmx_tls_ktls_declined_total",
           "TLS sessions kept in userspace although the kernel has kTLS, by reason.",
           MetricType::counter);
  for (std::size_t r = 0; r < static_cast<std::size_t>(KtlsDecline::count_); ++r) {
    std::uint64_t n = 0;
    for (const auto& s : shards)
      n += s->tls_ktls_declined[r].load(std::memory_order_relaxed);
    e.sample({{"reason", to_string(static_cast<KtlsDecline>(r))}}, n);
  }
  e.family("ringmx_tls_plain_buffers",
           "16 KiB buffers of decrypted TLS data allocated by the shard (the most ever in use).",
           MetricType::gauge);
  for (std::size_t i = 0; i < shards.size(); ++i)
    e.sample({{"shard", std::to_string(i)}},
             shards[i]->tls_plain_buffers.load(std::memory_order_relaxed));
  e.family("ringmx_tls_reads_paused_total",
           "Times a TLS connection stopped reading because its shard's decrypted-data buffers "
           "were all in use.",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::tls_reads_paused));

  e.family("ringmx_proxy_headers_accepted_total", "PROXY headers accepted from trusted peers.",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::proxy_accepted));
  e.family("ringmx_proxy_headers_rejected_total",
           "Connections from trusted peers closed without a valid PROXY header, by reason.",
           MetricType::counter);
  for (std::size_t r = 0; r < static_cast<std::size_t>(ProxyRefusal::count_); ++r) {
    std::uint64_t n = 0;
    for (const auto& s : shards)
      n += s->proxy_rejected[r].load(std::memory_order_relaxed);
    e.sample({{"reason", to_string(static_cast<ProxyRefusal>(r))}}, n);
  }

  e.family("ringmx_spool_commits_total", "Messages committed to the spool.", MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::spool_commits));
  e.family("ringmx_spool_write_bytes_total", "Bytes written to spool segments.",
           MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::spool_write_bytes));
  e.family("ringmx_spool_fsync_rounds_total",
           "fdatasync rounds (each makes a batch of messages durable).", MetricType::counter);
  e.sample({}, sum(shards, &ShardMetrics::fsync_rounds));
  e.family("ringmx_spool_fsync_seconds", "fdatasync latency, submission to completion.",
           MetricType::histogram);
  {
    std::array<std::uint64_t, kFsyncBuckets.size() + 1> counts{};
    for (const auto& s : shards)
      for (std::size_t b = 0; b < counts.size(); ++b)
        counts[b] += s->fsync_latency[b].load(std::memory_order_relaxed);
    const double seconds =
        static_cast<double>(sum(shards, &ShardMetrics::fsync_latency_ns_sum)) / 1e9;
    e.histogram({}, kFsyncBuckets, counts, seconds);
  }

  if (set.config && set.config->delivery_mode == config::DeliveryMode::spool) {
    std::vector<SegmentUsage> usage;
    for (std::size_t i = 0; i < shards.size(); ++i)
      usage.push_back(
          segment_usage(delivery::shard_dir(set.config->spool_path, static_cast<unsigned>(i))));
    e.family("ringmx_spool_segments", "Segment files in the shard's spool folder.",
             MetricType::gauge);
    for (std::size_t i = 0; i < usage.size(); ++i)
      e.sample({{"shard", std::to_string(i)}}, usage[i].count);
    e.family("ringmx_spool_segment_bytes", "Total size of the shard's segment files.",
             MetricType::gauge);
    for (std::size_t i = 0; i < usage.size(); ++i)
      e.sample({{"shard", std::to_string(i)}}, usage[i].bytes);
  }

  e.family("ringmx_ring_submissions_total", "SQEs submitted to the shard's io_uring.",
           MetricType::counter);
  for (std::size_t i = 0; i < shards.size(); ++i)
    e.sample({{"shard", std::to_string(i)}},
             shards[i]->ring_submissions.load(std::memory_order_relaxed));
  e.family("ringmx_ring_completions_total", "CQEs reaped from the shard's io_uring.",
           MetricType::counter);
  for (std::size_t i = 0; i < shards.size(); ++i)
    e.sample({{"shard", std::to_string(i)}},
             shards[i]->ring_completions.load(std::memory_order_relaxed));
  e.family("ringmx_ring_lingers_total",
           "Waits that lingered for more of a stream (a recv of 16 KiB or more came before).",
           MetricType::counter);
  for (std::size_t i = 0; i < shards.size(); ++i)
    e.sample({{"shard", std::to_string(i)}},
             shards[i]->ring_lingers.load(std::memory_order_relaxed));

  // For tuning backlog: on a listening socket TCP_INFO reports the accept
  // queue's current length in tcpi_unacked and its limit in tcpi_sacked.
  std::vector<std::pair<const ListenSocket*, tcp_info>> queues;
  for (const ListenSocket& s : set.sockets) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (getsockopt(s.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) queues.emplace_back(&s, ti);
  }
  for (bool backlog : {false, true}) {
    if (backlog)
      e.family("ringmx_listen_backlog", "A listening socket's accept-queue limit (its backlog).",
               MetricType::gauge);
    else
      e.family("ringmx_listen_queue_length",
               "Connections waiting in a listening socket's accept queue.", MetricType::gauge);
    for (const auto& [s, ti] : queues) {
      const std::string shard = std::to_string(s->shard);
      e.sample({{"listener", set.listeners[s->listener]->listener->id},
                {"address", s->address->text},
                {"shard", shard}},
               backlog ? ti.tcpi_sacked : ti.tcpi_unacked);
    }
  }
  if (const auto drops = read_listen_counters()) {
    e.family("ringmx_kernel_listen_overflows_total",
             "The kernel's TcpExt ListenOverflows (whole host): accept queue full.",
             MetricType::counter);
    e.sample({}, drops->overflows);
    e.family("ringmx_kernel_listen_drops_total",
             "The kernel's TcpExt ListenDrops (whole host): SYNs dropped at a listener.",
             MetricType::counter);
    e.sample({}, drops->drops);
  }
  return e.take();
}

}  // namespace ringmx::core
