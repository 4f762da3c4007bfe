// One server-side TLS connection as a sans-I/O object, for the ring loop.
//
// The session never touches a socket. The shard moves bytes:
//
//   recv CQE  ──► feed(ciphertext)            (copied; the buffer goes back to the ring)
//                 handshake() until done      (or read() once established)
//   take_output(buf) ──► send SQE from buf    (buf is the caller's until the CQE)
//   read(plain)  ──► protocols/ session       write(plain) ──► take_output ──► send
//
// Typical handshake loop, on every recv completion and once right after accept:
//
//   session.feed(bytes);
//   auto st = session.handshake();
//   if (session.take_output(out)) submit_send(out);   // also after `failed`: it may hold an alert
//   if (st == Handshake::done) { maybe_offload_ktls(); start_protocol(); }
//   if (st == Handshake::failed) { session.log_failure(); close_after_send(); }
//
// The handshake deadline (tls.timeout) is the shard's timer; when it fires
// the shard calls fail("timeout"), then log_failure(), then closes.
//
// A Session is used by one shard only. It holds a reference on the context
// it was made from (shared read-only by every shard, see tls/context.h), so
// after a reload old connections finish on the old certificates while new
// ones get the new: the shard only swaps its ContextSet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tls/ktls.h"

struct WOLFSSL;
struct WOLFSSL_CTX;

namespace ringmx::tls {

class ServerContext;

enum class Handshake {
  in_progress,  // needs more input: feed() and call again
  done,         // established: read()/write() from now on
  failed,       // see failure(); flush take_output() (an alert) and close
};

struct IoResult {
  enum class Status {
    ok,         // `bytes` plaintext read or written
    want_more,  // read: no complete record buffered; feed() more ciphertext
    closed,     // the peer sent close_notify: end the session cleanly
    error,      // fatal; see failure()
  };
  Status status = Status::ok;
  size_t bytes = 0;
};

// What the handshake learned, for logs, the Received header and the spool
// envelope ("tls: TLSv1.3 TLS_AES_256_GCM_SHA384").
struct SessionInfo {
  std::string version;      // "TLSv1.2", "TLSv1.3"; empty before done
  std::string cipher;       // IANA name, e.g. "TLS_AES_128_GCM_SHA256"
  std::string sni;          // server name the client asked for; empty if none
  std::string offered;      // highest version the ClientHello offered, e.g. "TLSv1.3"
  std::string certificate;  // name of the certificate served (config key)
};

class Session {
 public:
  // A server session on `context` (the listener's). `peer` is "ip:port",
  // used only in the failure log line.
  Session(std::shared_ptr<const ServerContext> context, std::string peer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends ciphertext received from the socket.
  void feed(std::span<const std::byte> ciphertext);

  // Advances the handshake with what has been fed so far.
  Handshake handshake();

  // Moves the ciphertext produced so far into `out` (cleared first; its
  // capacity is reused). The caller owns `out` while a send is in flight.
  // False when there was nothing to send.
  bool take_output(std::vector<std::byte>& out);

  // Decrypts buffered records into `plain`. Call again until want_more: one
  // call returns at most one record's worth.
  IoResult read(std::span<std::byte> plain);

  // Encrypts all of `plain` into the output (records of up to 16 KiB).
  IoResult write(std::span<const std::byte> plain);

  // Queues a close_notify alert in the output.
  void shutdown();

  // Marks the session failed with a reason ("timeout", "io-error"), for the
  // cases the shard sees and wolfSSL cannot.
  void fail(std::string_view reason);

  // The one-line handshake failure log:
  //   event=tls.handshake_failed client=... sni=... offered=TLSv1.2 reason=...
  void log_failure() const;

  const SessionInfo& info() const { return info_; }
  const std::string& failure() const { return failure_; }

  // Ciphertext fed but not yet consumed by wolfSSL. Before RX moves to the
  // kernel this must be empty (those bytes were already read off the socket
  // and the kernel will never see them): drain it with read() first.
  size_t unconsumed_input() const { return in_.size() - in_pos_; }
  // Those bytes, for a record layer that takes over after the handshake
  // (tls/record_layer.h).
  std::span<const std::byte> unconsumed() const {
    return {in_.data() + in_pos_, in_.size() - in_pos_};
  }

  // Plaintext wolfSSL has decrypted but read() has not returned yet; also
  // to be drained before RX moves to the kernel.
  size_t pending_plaintext() const;

  // After done: the keys, IVs and sequence numbers for TLS_TX and TLS_RX,
  // read from wolfSSL. nullopt when the negotiated suite has no kernel cipher.
  std::optional<KtlsParams> ktls_params() const;

  WOLFSSL* native() const { return ssl_; }

  // Installs the I/O and SNI callbacks on a context; ServerContext::build
  // calls it for each WOLFSSL_CTX it makes.
  static void prepare_context(WOLFSSL_CTX* ctx);

 private:
  static int recv_cb(WOLFSSL*, char* buf, int size, void* self);
  static int send_cb(WOLFSSL*, char* buf, int size, void* self);
  static int sni_cb(WOLFSSL*, int* alert, void* self);
  void record_error(int ret, std::string_view during);
  void fill_info();

  std::shared_ptr<const ServerContext> context_;
  std::string peer_;
  WOLFSSL* ssl_ = nullptr;
  std::vector<std::byte> in_;
  size_t in_pos_ = 0;
  std::vector<std::byte> out_;
  SessionInfo info_;
  std::string failure_;
  std::vector<std::byte> hello_;  // the first bytes, until the ClientHello is summarized
  bool hello_done_ = false;
  bool done_ = false;
  bool offloaded_ = false;  // the context has the crypto offload's device id
};

}  // namespace ringmx::tls
