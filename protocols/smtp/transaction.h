// The mail transaction: created at MAIL, ended in one place
// (Session::end_transaction) on RSET, EHLO, QUIT, a refused message, or
// after its commit result was answered. Internal to the engine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "protocols/smtp/session.h"

namespace ringmx::smtp {

enum class Failure : uint8_t {
  none,
  too_big,  // content over max_message_size: 552 5.3.4
  loop,     // more than max_received_headers Received fields: 554 5.4.6
  bare_lf,  // bare LF in DATA with bare_newline = reject: 550 5.6.0
};

inline Action make_action(Action::Kind kind, uint64_t message = 0, std::span<const char> data = {},
                          const Envelope* envelope = nullptr) {
  Action a{};
  a.kind = kind, a.message = message, a.data = data, a.envelope = envelope;
  return a;
}

// Where the DATA scanner stands in the current content line.
enum class LineState : uint8_t {
  start,         // at the first octet of a line
  middle,        // inside a line: look for its LF
  after_dot,     // a leading '.' was dropped (unstuffed)
  after_dot_cr,  // ".\r" seen: "\n" next ends the message if the line before ended in CRLF
};

struct Session::Transaction {
  Envelope env;
  // Our Received header, the message's first chunk; shared with the runtime,
  // which may still be writing it after the transaction is gone.
  std::shared_ptr<const std::string> received;
  std::string held;           // replies produced while this message awaits its commit
  uint64_t message = 0;       // MessageTicket::id once content started
  uint64_t content_size = 0;  // client octets after unstuffing, for max_message_size
  uint64_t bdat_chunk = 0;    // octets of the current BDAT chunk, for its 250 reply
  uint32_t received_headers = 0;
  Failure failure = Failure::none;
  LineState line = LineState::start;
  bool content_started = false;
  bool used_bdat = false;
  bool smtputf8 = false;
  bool binarymime = false;
  bool silent = false;     // the session was closed hard: its result is not answered
  bool has_after = false;  // `after` runs once `held` is sent
  Action::Kind after = Action::Kind::close;
  // DATA scanner.
  bool prev_crlf = true;  // the previous content line ended in CRLF (a '.' line may end it)
  bool last_cr = false;   // the last octet of the previous input was CR
  // Received-field counter: only the first octets of each header line matter.
  bool in_headers = true;
  bool hdr_blank = true;  // the header line so far is empty or "\r"
  bool hdr_match = true;  // the header line so far matches "received:"
  uint8_t hdr_len = 0;    // octets of the header line seen, capped
};

}  // namespace ringmx::smtp
