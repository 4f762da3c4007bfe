// The client side of one SMTP or LMTP session, sans I/O: server bytes in,
// command bytes and events out. It knows no sockets, clocks or TLS; the ring
// loop (worker.cc) feeds it, sends what it writes, and times its events.
//
// Every reply is checked against what the step expects (220 greeting, 250
// EHLO/LHLO, 220 STARTTLS, 250 MAIL, 250/251 RCPT, 354 DATA, 250 end of data
// or BDAT LAST, one per recipient in LMTP, 221 QUIT). The first wrong reply
// fails the session: it is reported as an error keyed "step code" (e.g.
// "rcpt 550") and the connection is to be closed without QUIT, since after a
// pipelined group the server may be reading a body we will not send.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/options.h"

namespace ringmx::loadgen {

// What every session of a run does; built once from the options.
struct SessionPlan {
  Protocol protocol = Protocol::smtp;
  bool starttls = false;
  bool pipelining = true;
  bool bdat = false;
  unsigned per_connection = 1;  // 0: unlimited
  std::string hello_command;    // "EHLO name\r\n" or "LHLO name\r\n"
  std::string mail_command;     // "MAIL FROM:<...>\r\n"
  std::vector<std::string> rcpt_commands;
};

SessionPlan make_plan(const Options& options);

struct SessionEvent {
  enum class Kind {
    greeting,      // 220 received
    ready,         // EHLO/LHLO accepted (after TLS, if any): idle, can take a message
    start_tls,     // 220 to STARTTLS: run the handshake, then call on_tls_ready()
    message_done,  // the message's final reply(ies) arrived, or it failed
    error,         // a wrong reply or a broken session; `error` says which
    finished,      // close the connection (after 221, or after an error)
  };
  Kind kind;
  bool ok = true;     // message_done: every final reply was 2xx
  std::string error;  // error: "rcpt 550", "greeting closed", "ehlo no PIPELINING", ...
};

class ClientSession {
 public:
  enum class Step : std::uint8_t { greeting, hello, starttls, mail, rcpt, data, end_of_data, quit };
  enum class State : std::uint8_t {
    greeting,       // waiting for 220
    hello,          // EHLO/LHLO sent
    starttls,       // STARTTLS sent
    tls_handshake,  // the driver runs the handshake; no plaintext expected
    idle,           // between messages
    transaction,    // MAIL..DATA/BDAT replies outstanding
    quit,           // QUIT sent
    done,           // 221 received
    failed,
  };

  explicit ClientSession(const SessionPlan* plan) : plan_(plan) {}

  // A new connection. `tls_on` for implicit TLS, where the driver has
  // already done the handshake before the greeting.
  void reset(bool tls_on = false);

  // Plaintext bytes from the server, in any split.
  void on_bytes(std::string_view in);
  void on_tls_ready();
  void on_peer_closed();
  // The driver gave up on the session (timeout, socket or TLS error):
  // `reason` is appended to the step being waited for, e.g. "mail timeout".
  void abort(std::string_view reason);

  // Starts one message (only when idle()). `message` must outlive the send.
  void begin_message(std::string_view message);
  // Sends QUIT (only when idle()).
  void quit();

  bool idle() const { return state_ == State::idle; }
  State state() const { return state_; }
  bool waiting_for_server() const;
  // The step whose reply is awaited ("mail", "tls", "idle"), for error keys.
  const char* awaiting() const;
  unsigned messages_in_session() const { return messages_; }

  // Bytes to send; the driver moves them out (clear() or swap()).
  std::string& output() { return out_; }
  // Events since the last call; the driver handles and clears them.
  std::vector<SessionEvent>& events() { return events_; }

 private:
  void on_reply(int code);
  void on_step_ok(Step step);
  void after_hello();
  void send_transaction_command();
  void expect_final_replies();
  void message_finished(bool ok);
  void quit_if_last();
  void expect(Step step) { expected_.push_back(step); }
  void enter(State s) { state_ = s; }
  void fail(std::string error);
  void emit(SessionEvent::Kind kind) { events_.push_back(SessionEvent{kind, true, {}}); }
  static const char* step_name(Step s);
  static bool code_is_expected(Step step, int code);
  void note_capability(std::string_view text);

  const SessionPlan* plan_;
  State state_ = State::greeting;
  bool tls_on_ = false;
  // Capabilities from the last EHLO/LHLO reply.
  bool cap_pipelining_ = false;
  bool cap_chunking_ = false;
  bool cap_starttls_ = false;

  std::vector<Step> expected_;  // replies owed by the server, in order
  std::size_t expected_head_ = 0;
  int reply_code_ = 0;  // of the multi-line reply being read
  unsigned reply_lines_ = 0;
  std::string partial_;  // an incomplete reply line kept between reads

  std::string_view message_;   // the message in progress
  unsigned next_command_ = 0;  // unpipelined: 0 MAIL, 1..R RCPT, R+1 DATA/BDAT
  unsigned messages_ = 0;
  bool quit_sent_ = false;  // QUIT went out behind the last body

  std::string out_;
  std::vector<SessionEvent> events_;
};

}  // namespace ringmx::loadgen
