// A shard: one thread pinned to one CPU, owning its io_uring ring, its
// provided-buffer ring, its timer wheel, its connections, its spool writer
// and its own socket for every bind address of every listener. Nothing in
// here is touched by another thread except through post().
#pragma once

#include <liburing.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/buffer_ring.h"
#include "core/connection.h"
#include "core/listeners.h"
#include "core/mailbox.h"
#include "core/management.h"
#include "core/messages.h"
#include "core/timer_wheel.h"
#include "delivery/spool_writer.h"
#include "protocols/smtp/session.h"

namespace ringmx::core {

// Sizes of the shard's machinery, declared once.
struct ShardLimits {
  // SQ entries; the CQ gets four times as many (see ring_setup.h).
  static constexpr unsigned kRingEntries = 4096;
  // Receive buffers: 1024 x 16 KiB = 16 MiB of address space per shard,
  // touched only as traffic uses it. 16 KiB holds a whole pipelined
  // command group or a good share of a body per completion.
  static constexpr std::uint32_t kBuffers = 1024;
  static constexpr std::uint32_t kBufferSize = 16 * 1024;
  static constexpr std::uint16_t kBufferGroup = 0;
  // TLS ciphertext has its own ring of bigger buffers: in userspace TLS a
  // receive buffer is given back as soon as it was decrypted (or copied
  // into wolfSSL), so few are out at once, and 64 KiB per completion takes
  // a quarter of the recv calls, ACKs and wake-ups of 16 KiB ones
  // (bulk STARTTLS measured 0.69 -> 0.58 ms of server CPU per MiB). Kernel
  // TLS reads plaintext the engine points into, so it stays on the main
  // ring; so do connections behind a PROXY header.
  // RINGMX_TLS_RECV_BUFFERS=N (a power of two) in the environment
  // overrides the count, read once (tests make the ring run dry).
  static constexpr std::uint32_t kTlsBuffers = 64;
  static std::uint32_t tls_buffers();
  static constexpr std::uint32_t kTlsBufferSize = 64 * 1024;
  static constexpr std::uint16_t kTlsBufferGroup = 1;
  // Timer wheel: 250 ms resolution, 4096 slots = one turn every 17 minutes
  // (longer deadlines take more turns).
  static constexpr std::uint32_t kTickMs = 250;
  static constexpr std::uint32_t kWheelSlots = 4096;
  // Streams: after a turn in which some recv returned at least
  // kStreamRecvBytes (a client is sending faster than one buffer per
  // wake-up), the next wait lingers up to kStreamLingerUs for up to
  // kStreamLingerBatch completions (ring_wait.h; Linux 6.12 or later), so a
  // stream costs one wake-up, one recv pass and one window ACK per linger
  // rather than per arriving segment. A reply on that shard can wait that
  // long; commands alone never trigger it. Bulk STARTTLS measured 0.61 ->
  // 0.50 ms of server CPU per MiB (300 µs; 150 µs: 0.57, 1 ms: 0.50).
  // RINGMX_STREAM_LINGER_US=N (0 to 100000, 0 = never linger) overrides it,
  // read once, for comparisons.
  static constexpr std::uint32_t kStreamRecvBytes = 16 * 1024;
  static constexpr std::uint32_t kStreamLingerUs = 300;
  static std::uint32_t stream_linger_us();
  static constexpr unsigned kStreamLingerBatch = 16;
  // After EMFILE/ENFILE on accept, wait this long before accepting again.
  static constexpr std::uint32_t kAcceptBackoffMs = 100;
  // Reply bytes one connection may have waiting before its recv stops
  // (issue 5): bounds a client that pipelines without reading to this plus
  // the replies to one read (kBufferSize of input).
  static constexpr std::size_t kMaxSendBacklog = 64 * 1024;
  // Graceful close: how long the last replies may take to leave, and then
  // how long to read and drop input after our FIN before closing anyway.
  // socket.linger, when set, replaces it ("0s": reset at once).
  static constexpr std::uint32_t kLingerMs = 2000;
};

// A listener as one shard sees it: the shared runtime plus a shard-local
// count of what points at it (its open sockets and connections, rejected
// ones included), so a reload can retire it without touching another
// thread's memory.
struct ListenerView {
  std::shared_ptr<const ListenerRuntime> runtime;
  std::uint32_t users = 0;
  bool retired = false;
};

struct ShardOptions {
  unsigned index = 0;
  int cpu = 0;
  std::shared_ptr<const ListenerSet> listeners;
  Mailbox<ServerEvent>* events = nullptr;
  ServerControl* control = nullptr;  // metrics, readiness, reload requests (management.h)
};

class Shard {
 public:
  explicit Shard(ShardOptions options);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void start();
  void join();
  void post(ShardMessage m) { mailbox_.post(std::move(m)); }

 private:
  // A listening socket this shard accepts on.
  struct AcceptEntry {
    int fd = -1;
    ListenerView* view = nullptr;
    const config::BindAddress* address = nullptr;
    TimerNode backoff;  // EMFILE/ENFILE pause
    bool armed = false;
    bool stopping = false;  // removed by reload or drain: close after the last completion
  };
  enum TimerKind : std::uint8_t { kConnectionTimer = 1, kAcceptTimer = 2, kDrainTimer = 3 };

  class Ids final : public smtp::MessageIds {
   public:
    delivery::MessageSink* sink = nullptr;
    smtp::MessageTicket next() override;
  };
  class SystemClock final : public smtp::Clock {
   public:
    std::chrono::system_clock::time_point now() override {
      return std::chrono::system_clock::now();
    }
  };

  void main();
  std::string init();
  void loop();
  bool finished() const;
  void dispatch(const io_uring_cqe* cqe);
  io_uring_sqe* sqe();

  // Mailbox and lifecycle (shard.cc).
  void arm_mailbox();
  void on_mailbox();
  void apply_listeners(const std::shared_ptr<const ListenerSet>& set);
  void begin_drain();
  void on_tick();
  void arm_tick();
  void on_timer(TimerNode* node);
  ListenerView* view_for(const std::shared_ptr<const ListenerRuntime>& rt);
  void unuse(ListenerView* v);

  // Accepting (shard_accept.cc).
  void arm_accept(std::uint32_t index);
  void stop_accept(std::uint32_t index);
  void on_accept(std::uint32_t index, const io_uring_cqe* cqe);
  void on_accept_close(std::uint32_t index);
  void reject(int fd, ListenerView* v);
  void open_connection(int fd, ListenerView* v, const config::BindAddress* bound);
  Connection& new_connection(int fd, ListenerView* v);  // a slot holding the view
  // Creates the listener's engine (SMTP/LMTP or http) and lets it speak first.
  void start_session(Connection& c, smtp::ConnectionInfo info, const sockaddr_storage& peer);

  // The PROXY header stage (proxy_stage.cc is the parsing; this is the I/O).
  bool proxy_required(const ListenerView& v, const sockaddr_storage& peer) const;
  void on_proxy_bytes(Connection& c, std::span<const char> bytes);
  void refuse_proxy(Connection& c, ProxyRefusal why, std::string_view reason);

  // Management (http) connections (http_connection.cc).
  void on_http_bytes(Connection& c, std::span<const char> bytes);
  void handle_http(Connection& c, http::Output out);
  void on_reload_result(const ShardMessage& m);

  // TLS (shard_tls.cc, core/tls_stage.h).
  // For a TLS listener: keeps what STARTTLS will need, or (implicit TLS)
  // starts the handshake and returns true: the engine comes after it.
  bool tls_first(Connection& c, smtp::ConnectionInfo& info);
  void begin_handshake(Connection& c);
  void on_tls_bytes(Connection& c, std::span<const char> ciphertext);
  void step_handshake(Connection& c);
  void decrypt_to_engine(Connection& c);
  void queue_tls_output(Connection& c);
  // The ciphertext of `plain`, valid until the next call for `c`.
  std::string_view encrypt_reply(Connection& c, std::string_view plain);
  void on_tls_timeout(Connection& c);
  // Queues close_notify on an established TLS connection (no-op otherwise).
  void close_tls(Connection& c);
  // Established and the crypto mode decided: the engine starts or resets.
  void tls_ready(Connection& c, std::string_view crypto);
  // Plaintext pool at its cap: stop reading (cancel the recv) until
  // resume_tls_reads(), called by drive_sink; true when one resumed.
  void pause_tls_reads(Connection& c);
  bool resume_tls_reads();
  // kTLS hand-off after the handshake (when tls::ktls_available()).
  void begin_ktls_switch(Connection& c);
  void finish_ktls_switch(Connection& c);
  // Hooks of arm_recv and flush (shard_connection.cc) for TLS:
  // arm_tls_recv arms the kernel-mode recvmsg, finishes a kTLS switch, or
  // holds off a paused connection (true: handled); send_close_notify sends
  // kernel mode's close_notify before the close.
  bool arm_tls_recv(Connection& c);
  void send_close_notify(Connection& c);
  // Record mode (tls::RecordLayer after the handshake): the switch, and
  // ciphertext opened into PlainPool buffers for the engine.
  bool start_records(Connection& c);
  void open_records(Connection& c, std::span<const char> ciphertext);
  void release_plain_buffer(Connection& c);
  // A non-data record (close_notify, KeyUpdate, an alert) in record or kernel mode.
  void on_tls_control(Connection& c, const tls::KtlsRecord& r);
  // A kernel-mode recvmsg completion's buffer: plaintext or a control record.
  void on_ktls_bytes(Connection& c, std::span<const char> buffer);
  // Draining: once only management connections are left, they close too.
  void close_management();

  // Connections (shard_connection.cc).
  Connection* lookup(std::uint32_t slot, std::uint32_t generation);
  void arm_recv(Connection& c);
  void on_recv(Connection& c, const io_uring_cqe* cqe);
  void pause_recv(Connection& c);
  void on_send(Connection& c, int res);
  void on_cancel(Connection& c);
  void handle_output(Connection& c);
  void queue_reply(Connection& c, std::string_view bytes);
  void flush(Connection& c);
  void begin_close(Connection& c, CloseReason reason);
  // The engine forgets the session (Session::disconnected).
  void end_session(Connection& c);
  // Graceful close: FIN, then read and drop until EOF or linger_ms.
  void linger(Connection& c);
  std::uint32_t linger_ms(const Connection& c) const;
  void close_now(Connection& c);  // cancel everything, then finish_close
  void finish_close(Connection& c);
  void account_close(Connection& c);  // the conn.close line and counts
  void on_connection_timer(Connection& c);
  void rearm_starved();
  std::uint32_t slot_of(const Connection& c) const;

  // The message sink (shard_spool.cc).
  void append_chunk(const smtp::Action& chunk);
  void drive_sink();
  void on_spool(std::uint32_t token_slot, int res);
  void apply_completions();
  void release_ref(std::uint64_t ref);

  ShardOptions options_;
  std::thread thread_;
  Mailbox<ShardMessage> mailbox_;

  // Everything below belongs to the shard's thread.
  io_uring ring_{};
  bool ring_ok_ = false;
  // A recv of this turn returned kStreamRecvBytes or more: the next wait
  // lingers linger_us_ (0 when the kernel cannot or the knob says 0).
  bool streaming_ = false;
  std::uint32_t linger_us_ = 0;
  std::unique_ptr<BufferRing> buffers_;
  std::unique_ptr<BufferRing> tls_buffers_;  // ShardLimits::kTlsBuffers of ciphertext
  // The ring a connection's next recv should read into, and the ring of a
  // group id (a completion's buffer belongs to the group its recv named).
  BufferRing& recv_ring(const Connection& c);
  BufferRing& ring_of(std::uint16_t group);
  std::unique_ptr<TimerWheel> wheel_;
  std::unique_ptr<delivery::MessageSink> sink_;
  Ids ids_;
  SystemClock clock_;
  bool reflect_tos_ = false;
  std::uint64_t now_ms_ = 0;
  std::uint64_t mailbox_value_ = 0;
  __kernel_timespec tick_ts_{};
  bool tick_armed_ = false;
  bool draining_ = false;
  TimerNode drain_timer_;
  std::shared_ptr<const ListenerSet> listeners_;
  std::shared_ptr<const config::Config> config_;

  std::vector<std::unique_ptr<ListenerView>> views_;
  std::vector<AcceptEntry> accepts_;
  std::deque<Connection> connections_;  // a deque: growing keeps addresses stable
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> starved_;  // slots whose recv stopped on ENOBUFS
  std::uint32_t live_ = 0;              // connections not yet freed
  bool starved_logged_ = false;

  ShardMetrics* metrics_ = nullptr;  // options_.control->metrics[index]; written only here
  std::unique_ptr<Management> management_;
  // Open management connections: a drain keeps them (GET /readyz answers
  // 503 meanwhile) until they are all that is left.
  std::uint32_t management_live_ = 0;
  bool management_closed_ = false;
  bool sessions_done_ = false;  // draining: this shard's sessions are all gone
  // Peers whose bad PROXY header was logged already (bounded; cleared when full).
  std::unordered_set<std::string> proxy_logged_;
  // Per spool token slot: when its fsync was submitted (0 for writes).
  std::vector<std::uint64_t> fsync_started_ns_;

  smtp::Output out_;  // reused for every engine call: allocates nothing per read
  delivery::Completions completions_;
  std::vector<std::uint64_t> spool_tokens_;  // user_data slot -> the sink's token
  std::vector<std::uint32_t> free_tokens_;
  // What keeps body chunks that are not in a receive or TLS buffer alive
  // until the spool's write of them completed, whatever the session does
  // meanwhile: the engine's keep_alive of its Received header, or a copy of
  // bytes a split PROXY header left in its stage (shard_spool.cc).
  std::vector<std::shared_ptr<const void>> kept_;
  std::vector<std::uint32_t> free_kept_;
  // Decrypted TLS records; body chunks hold them like receive buffers.
  PlainPool plain_;
  std::vector<std::uint32_t> tls_paused_;  // slots stopped at the pool's cap
  bool tls_paused_logged_ = false;

  struct Stats {
    std::uint64_t accepted = 0, rejected = 0, closed = 0, committed = 0, commit_failed = 0;
  } stats_;
};

}  // namespace ringmx::core
