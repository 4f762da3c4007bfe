// The TLS layer of one connection, between the ring and the SMTP engine,
// and the per-shard pool of plaintext buffers its records decrypt into.
//
// The ring side stays as without TLS: ciphertext lands in a provided
// buffer, is fed to the tls::Session (which copies it) and the buffer goes
// back to the ring at once. Decrypted bytes land in a PlainPool buffer; the
// engine's body-chunk views point into it, so it is held like a receive
// buffer (one hold for the read, one per chunk until the spool wrote it).
// Replies are encrypted on the way out and leave in the connection's one
// send, as ciphertext.
//
// States: `offered` (a STARTTLS listener before STARTTLS: bytes go to the
// engine in the clear; only the ConnectionInfo is kept, for
// tls_established()), `handshaking` (implicit TLS from accept, or after the
// 220 to STARTTLS; tls.timeout bounds it), `established`.
//
// Back-pressure: the pool has a cap (PlainPool::limit()). At the cap a
// connection stops decrypting and its recv is cancelled (`paused`): its
// ciphertext waits in the tls::Session, TCP's window closes on the client,
// and it resumes when spool writes give buffers back.
//
// Record mode (`records`, the default where the kernel has no kTLS): after
// the handshake the keys kTLS would get drive tls::RecordLayer instead of
// wolfSSL's record layer. Ciphertext is decrypted straight from the receive
// buffer into the connection's current PlainPool buffer (`plain_index`),
// records split across receive buffers piece by piece; the wolfSSL session
// is freed. A connection holds its buffer while a record is half-way in,
// and gives it back whenever the records it has are complete. Replies are
// sealed straight into the send buffer. RINGMX_TLS_RECORDS=wolfssl keeps
// wolfSSL's record layer (for comparisons).
//
// Kernel mode (`kernel`): after the handshake the keys went to kTLS; recv
// is a multishot recvmsg whose buffers hold plaintext and the record type
// (tls::classify_record), replies leave as plain sends, close_notify as a
// sendmsg with a record-type cmsg (tls::close_notify_message).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "protocols/smtp/session.h"
#include "tls/record_layer.h"
#include "tls/session.h"

namespace ringmx::core {

struct TlsStage {
  enum class State : std::uint8_t { offered, handshaking, established };
  State state = State::offered;
  bool implicit = false;  // the engine is made (and greets) only after the handshake
  smtp::ConnectionInfo info;
  static constexpr std::uint32_t kNoBuffer = ~std::uint32_t{0};

  std::unique_ptr<tls::Session> session;      // from the start of the handshake
  std::vector<std::byte> cipher;              // take_output() scratch, reused
  std::unique_ptr<tls::RecordLayer> records;  // record mode (established only)
  std::uint32_t plain_index = kNoBuffer;      // record mode: the buffer records open into
  std::uint32_t plain_used = 0;               // bytes of it already given to the engine
  std::string backlog;  // record mode: ciphertext not yet opened (paused, or from the handshake)
  bool paused = false;  // the plaintext pool is full: recv stopped (see PlainPool)
  bool kernel = false;  // kTLS does the record crypto (established only)
  // Handshake done, kTLS to be tried: waiting for the userspace recv's last
  // completion, so no ciphertext read before the switch is left behind.
  bool switching = false;
  bool close_notify_pending = false;  // kernel mode: the alert goes after the last reply
  msghdr recvmsg_template{};          // kernel mode: the multishot recvmsg's lengths

  bool in_handshake() const { return state == State::handshaking; }
  bool established() const { return state == State::established; }
};

// Plaintext buffers of one shard, held the way BufferRing holds receive
// buffers. Buffers are allocated on first use and kept for reuse, up to
// limit(): allocated() is the high-water mark of buffers in use.
class PlainPool {
 public:
  // One record's plaintext at most, as tls::RecordLayer opens it (2^14
  // bytes of content, and in TLS 1.3 the inner type byte and padding).
  static constexpr std::uint32_t kBufferSize = tls::RecordLayer::kMaxPlaintext;
  // The cap, like the receive buffer ring's: 1024 x 16 KiB = 16 MiB per
  // shard. The environment variable RINGMX_TLS_PLAIN_BUFFERS (1..65536)
  // overrides it, read once per process (tests use a small value).
  static constexpr std::uint32_t kDefaultLimit = 1024;
  static std::uint32_t configured_limit();

  explicit PlainPool(std::uint32_t limit = configured_limit()) : limit_(limit) {}

  // A buffer with one hold (the read that fills it). Only when !full().
  std::uint32_t acquire();
  std::span<char> buffer(std::uint32_t index) { return {blocks_[index].get(), kBufferSize}; }
  // Which buffer `p` points into, or -1 when none.
  std::int64_t find(const char* p) const;
  void hold(std::uint32_t index) { ++holds_[index]; }
  void release(std::uint32_t index);
  std::size_t allocated() const { return blocks_.size(); }
  std::size_t in_use() const { return blocks_.size() - free_.size(); }
  std::uint32_t limit() const { return limit_; }
  bool full() const { return in_use() >= limit_; }
  // Paused connections resume below this (a quarter of the pool free), so
  // a connection does not pause again for every buffer that comes back.
  bool can_resume() const { return in_use() <= limit_ - (limit_ + 3) / 4; }

 private:
  std::uint32_t limit_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::uint32_t> holds_;
  std::vector<std::uint32_t> free_;
  std::map<const char*, std::uint32_t> by_address_;  // buffer start -> index
};

// wolfSSL's per-thread ECC fixed-point cache (FP_ECC in Debian's build):
// each shard thread frees its own before it exits.
void release_thread_tls_caches();

}  // namespace ringmx::core
