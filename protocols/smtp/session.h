// The SMTP/LMTP engine: a sans-I/O session. Bytes in, replies and actions
// out; it never calls the kernel, so the runtime drives it from io_uring
// completions and the tests drive it from strings.
//
// Driving it (the runtime's side of the contract):
// clang-format off
//   Session s(settings, ids, clock, conn);
//   s.start(out);                       // 220 greeting (after the handshake for implicit TLS)
//   on each read:
//     n = s.receive(bytes, out);        // any split of the stream
//     send out.replies in ONE write     // RFC 2920 grouping
//     act on out.actions in order       // message_begin, body_chunk, message_end,
//                                       // message_abort, start_tls, close
//     n < bytes.size(): discard the rest (only after STARTTLS, CVE-2011-0411)
//     out.clear();
//   the spool answers a message_end:    s.commit_result(result, out), then send/act as above
//   the peer went away:                 s.disconnected(out) aborts a message in progress
// clang-format on
// Every message_end gets one commit_result(), in order (also after a close,
// unless the session is destroyed first): then the session lets go of it.
//
// Lifetimes: a body_chunk view points either into the bytes given to that
// receive() call (keep that buffer until the spool wrote the chunk), or into
// static storage (the "\r\n" that replaces a bare LF), or into our Received
// header, whose chunk carries `keep_alive`: hold that reference until the
// write carrying the chunk completed (it stays valid even after an abort).
// The envelope of a message_end stays valid until commit_result() for that
// message.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/smtp/reply.h"
#include "protocols/smtp/settings.h"

namespace ringmx::smtp {

enum class Failure : uint8_t;  // protocols/smtp/transaction.h

// Who is on the other end. After PROXY, the original client.
struct ConnectionInfo {
  std::string client;     // "203.0.113.7:41234" or "[2001:db8::1]:41234"
  std::string client_ip;  // "203.0.113.7" / "2001:db8::1", for Received
  std::string local;      // "192.0.2.1:25"
  bool tls_active = false;
  std::string tls_description;  // "TLSv1.3 TLS_AES_128_GCM_SHA256" when tls_active
};

struct Recipient {
  std::string address;  // without angle brackets
  std::string params;   // RCPT parameters as received; empty (none are supported yet)
};

// Field names match delivery::Envelope so the runtime maps them one to one.
struct Envelope {
  std::string queue_id;
  std::string received_at;  // RFC 3339 UTC, "2026-11-26T00:25:40Z"
  std::string listener;
  std::string client;
  std::string helo;
  std::string tls;          // "none" or ConnectionInfo::tls_description
  std::string mail_from;    // without angle brackets; "" for the null sender
  std::string mail_params;  // as received, e.g. "SIZE=1024 BODY=8BITMIME"
  std::vector<Recipient> rcpt_to;
  uint64_t size = 0;  // octets in this message's body_chunk actions (Received header included)
};

struct Action {
  enum class Kind : uint8_t {
    start_tls,      // 220 sent: begin the handshake; then call tls_established()
    message_begin,  // a new message `message` starts; its chunks follow
    body_chunk,     // append `data` to message `message`
    message_end,    // content complete: make it durable, then commit_result()
    message_abort,  // forget message `message` (size, loop, bare LF, RSET-like end)
    close,          // after sending the replies of this call, close the connection
  };
  Kind kind;
  uint64_t message = 0;                // the id MessageIds::next() gave; 0 for start_tls/close
  std::span<const char> data;          // body_chunk only
  const Envelope* envelope = nullptr;  // message_end only
  // body_chunk of session-made bytes (the Received header): owns `data`.
  std::shared_ptr<const void> keep_alive;
};

struct Output {
  std::string replies;  // every reply of one call, in order: send in one write
  std::vector<Action> actions;
  // Codes of this call's 4xx/5xx replies that refused an envelope step
  // (MAIL, RCPT, DATA, BDAT) or a message at its end, for the runtime's
  // refused-by-class metrics. The delivery layer's own 451/452 (through
  // commit_result) are not listed: the runtime counts those at the commit.
  std::vector<uint16_t> refusals;
  // Keeps capacity, so a reused Output allocates nothing per read.
  void clear() {
    replies.clear();
    actions.clear();
    refusals.clear();
  }
};

enum class CommitResult : uint8_t {
  committed,  // 250 2.0.0 Ok: queued as <id>
  no_space,   // 452 4.3.1 Insufficient system storage
  failed,     // 451 4.3.0 Local error in processing
};

struct MessageTicket {
  uint64_t id = 0;       // tags the message's actions (e.g. the spool's MessageId)
  std::string queue_id;  // named in Received and in "queued as"
};

// Injected so the engine stays deterministic: the runtime gives one per
// shard (backed by the spool), tests give a counter.
class MessageIds {
 public:
  virtual ~MessageIds() = default;
  // Called once per message, when its content starts (354, or first BDAT).
  virtual MessageTicket next() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() = 0;
};

// Per-verb counts for the disconnect log line, Postfix style:
// "ehlo=1 mail=1 rcpt=2/3 data=1 quit=1 commands=6/7" (ok/total when they differ).
enum class Verb : uint8_t {
  helo,
  ehlo,
  lhlo,
  starttls,
  mail,
  rcpt,
  data,
  bdat,
  rset,
  noop,
  vrfy,
  help,
  quit,
  unknown,
  count_
};
struct CommandCounts {
  uint32_t total[static_cast<size_t>(Verb::count_)] = {};
  uint32_t ok[static_cast<size_t>(Verb::count_)] = {};
  void append_summary(std::string& out) const;
  std::string summary() const;
};

class Session {
 public:
  // `settings`, `ids` and `clock` must outlive the session.
  Session(const Settings& settings, MessageIds& ids, Clock& clock, ConnectionInfo conn);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The 220 greeting. For implicit TLS, call it after the handshake.
  void start(Output& out);

  // Consumes `bytes` (any split of the stream). Returns how many were
  // consumed: all, except after STARTTLS, where it returns the count up to
  // the end of the STARTTLS line and the caller must discard the rest.
  // After a close action, or while the TLS handshake runs, input is ignored.
  size_t receive(std::span<const char> bytes, Output& out);
  size_t receive(std::string_view bytes, Output& out) {
    return receive(std::span<const char>(bytes.data(), bytes.size()), out);
  }

  // The handshake that STARTTLS asked for succeeded: back to the state after
  // the greeting (the client must EHLO again; STARTTLS no longer offered).
  void tls_established(const ConnectionInfo& conn, Output& out);

  // The delivery layer's answer for the oldest message awaiting one. The
  // per-recipient form is for LMTP (one result per accepted recipient, in
  // RCPT order); in LMTP the single form applies to every recipient.
  void commit_result(CommitResult result, Output& out);
  void commit_result(std::span<const CommitResult> per_recipient, Output& out);

  void idle_timeout(Output& out);       // 421 4.4.2 + close
  void duration_exceeded(Output& out);  // 421 4.7.0 + close
  // Idle: 421 4.3.2 + close now. In a transaction: finish it, then 421 + close.
  void shutdown(Output& out);
  // The connection is gone (reset, read error, or after our close): a
  // message whose content was being received is aborted; no reply.
  void disconnected(Output& out);

  bool in_transaction() const;  // MAIL given, or a message awaiting its commit
  bool closed() const;          // a close action was emitted
  size_t pending_commits() const { return pending_.size(); }
  const CommandCounts& counts() const { return counts_; }
  uint64_t bytes_received() const { return bytes_in_; }

 private:
  struct Transaction;  // protocols/smtp/transaction.h
  friend struct CommandTable;
  enum class State : uint8_t { before_greeting, command, data, bdat, tls_handshake, closed };
  // One reply line. `detail` is appended to `text` (a name, a number).
  using Reply = smtp::Reply;

  // session.cc: the reply path and the session's life.
  void reply(Output& out, const Reply& r);             // the one reply path
  void after_replies(Output& out, Action::Kind kind);  // close/start_tls, kept in reply order
  void hard_close(Output& out, const Reply& r);
  void enter(State s) { state_ = s; }
  void close_if_draining(Output& out);
  size_t on_command_bytes(std::span<const char> in, Output& out);
  void answer_commit(Transaction& tx, std::span<const CommitResult> results, Output& out);

  // commands.cc
  void execute(std::string_view line, Output& out);

  // body.cc: message content (DATA and BDAT) to body chunks.
  void begin_content(Output& out);
  size_t on_data_bytes(std::span<const char> in, Output& out);
  size_t on_bdat_bytes(std::span<const char> in, Output& out);
  void emit(const char* begin, const char* end, Output& out);
  void fail(Failure why, Output& out);  // refuse the message: abort it, drop the rest
  void count_received(const char* begin, const char* end, Output& out);
  void end_of_content(Output& out);   // DATA's <CRLF>.<CRLF> or a BDAT chunk's last octet
  void end_transaction(Output& out);  // the one place a transaction ends; aborts begun content

  const Settings* settings_;
  MessageIds* ids_;
  Clock* clock_;
  ConnectionInfo conn_;
  std::string helo_;                 // argument of the last EHLO/HELO/LHLO
  std::string line_;                 // a partial command line; released when complete
  std::unique_ptr<Transaction> tx_;  // from MAIL to the end of its message
  std::vector<std::unique_ptr<Transaction>> pending_;  // messages awaiting commit_result
  uint64_t bytes_in_ = 0;
  uint64_t bdat_remaining_ = 0;  // BDAT octets still to read (stored or dropped)
  CommandCounts counts_;
  uint32_t messages_ = 0;  // MAIL commands accepted
  State state_ = State::before_greeting;
  Verb greeted_ = Verb::count_;  // HELO, EHLO or LHLO once given
  bool skipping_long_line_ = false;
  bool draining_ = false;
  bool bdat_drop_ = false;  // the current BDAT chunk was refused: read and drop it
  bool bdat_last_ = false;  // the current BDAT chunk ends the message
  uint16_t last_code_ = 0;  // code of the last reply, for the ok/total counts
};

}  // namespace ringmx::smtp
