// Per-shard counters and their exposition for GET /metrics.
//
// Each shard owns one ShardMetrics and is its only writer; any thread may
// read it. Counters are relaxed atomics written with a plain load+store
// (one writer: no lock prefix, no read-modify-write on the hot path), so a
// scrape reads every shard directly at request time instead of posting a
// message to each shard and waiting for the busiest one to answer: the
// page is as fresh as a gather would be, costs the shards nothing, and a
// wedged shard cannot hang the scrape. A scrape may see one shard a few
// increments ahead of another; Prometheus counters tolerate that.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/connection.h"

namespace ringmx::core {

struct ListenerSet;

// One writer per counter: a relaxed load and store, never a locked add.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// fsync latency buckets, in seconds (upper bounds; one more bucket above).
inline constexpr std::array<double, 10> kFsyncBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                         0.02,   0.05,  0.1,   0.25,  1.0};

// Why a TLS session stayed in userspace although the kernel has kTLS
// (label `reason` of ringmx_tls_ktls_declined_total).
enum class KtlsDecline : std::uint8_t {
  buffered_input,  // ciphertext behind the client's Finished was already read off the socket
  send_pending,    // handshake ciphertext still waiting to be sent
  cipher,          // the negotiated suite has no kernel cipher
  refused,         // setsockopt(TCP_ULP, "tls") failed on this socket
  count_,
};
const char* to_string(KtlsDecline r);

// Why a PROXY header was refused (label `reason` of the rejected family).
enum class ProxyRefusal : std::uint8_t { malformed, timeout, disconnect, count_ };
const char* to_string(ProxyRefusal r);

inline constexpr std::size_t kCloseReasons = static_cast<std::size_t>(CloseReason::count_);

struct alignas(64) ShardMetrics {
  // Sessions by outcome: the close reason the disconnect log line shows.
  std::array<std::atomic<std::uint64_t>, kCloseReasons> sessions_closed{};
  std::array<std::atomic<std::uint64_t>, kCloseReasons> management_closed{};
  std::atomic<std::uint64_t> messages_accepted{0};
  // Refusals by reply code, index code - 400 (400..599): the engine's
  // refusals of MAIL/RCPT/DATA/BDAT and at end of message (Output::refusals)
  // and the runtime's 451/452 when the spool could not make a message
  // durable. Indexing by code bounds the label set without a list to keep.
  static constexpr std::size_t kRefusalCodes = 200;
  std::array<std::atomic<std::uint64_t>, kRefusalCodes> messages_refused{};
  void record_refusal(std::uint16_t code) {
    if (code >= 400 && code < 400 + kRefusalCodes) bump(messages_refused[code - 400]);
  }
  std::atomic<std::uint64_t> message_bytes{0};  // body octets of complete messages
  std::atomic<std::uint64_t> proxy_accepted{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(ProxyRefusal::count_)>
      proxy_rejected{};
  std::atomic<std::uint64_t> spool_commits{0};
  std::atomic<std::uint64_t> spool_write_bytes{0};
  std::atomic<std::uint64_t> fsync_rounds{0};
  std::array<std::atomic<std::uint64_t>, kFsyncBuckets.size() + 1> fsync_latency{};
  std::atomic<std::uint64_t> fsync_latency_ns_sum{0};
  std::atomic<std::uint64_t> ring_submissions{0};
  std::atomic<std::uint64_t> ring_completions{0};
  std::atomic<std::uint64_t> ring_lingers{0};  // waits that lingered for a stream
  std::atomic<std::uint64_t> http_requests{0};
  // TLS handshakes completed, by protocol version (TLSv1.2, TLSv1.3,
  // other) and cipher suite: an index into config::cipher_suites(), or
  // kTlsSuites - 1 for a suite outside that table. The table bounds the
  // label set (3 versions x the suites tls.ciphers can name, plus other).
  static constexpr std::size_t kTlsVersions = 3;
  static constexpr std::size_t kTlsSuites = 32;
  std::array<std::array<std::atomic<std::uint64_t>, kTlsSuites>, kTlsVersions> tls_handshakes{};
  std::atomic<std::uint64_t> tls_failures{0};
  std::atomic<std::uint64_t> tls_timeouts{0};
  std::atomic<std::uint64_t> tls_ktls_offloads{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(KtlsDecline::count_)>
      tls_ktls_declined{};
  // Gauge: the shard's decrypted-data buffers allocated, i.e. the high-water
  // mark of those in use (core/tls_stage.h PlainPool; never above its limit).
  std::atomic<std::uint64_t> tls_plain_buffers{0};
  std::atomic<std::uint64_t> tls_reads_paused{0};  // times a connection stopped at that limit
  void record_tls(std::string_view version, std::string_view cipher);

  void record_fsync(std::uint64_t ns);
};

// The whole exposition: every shard's counters summed, the listeners'
// shared counters, each listening socket's accept queue (TCP_INFO) and
// the kernel's listen drops. `shards[i]` is shard i's metrics.
std::string render_metrics(const std::vector<std::unique_ptr<ShardMetrics>>& shards,
                           const ListenerSet& listeners);

}  // namespace ringmx::core
