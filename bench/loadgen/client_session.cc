#include "bench/loadgen/client_session.h"

#include <fmt/format.h>

#include "bench/loadgen/reply_parser.h"

namespace ringmx::loadgen {

SessionPlan make_plan(const Options& options) {
  SessionPlan plan;
  plan.protocol = options.protocol;
  plan.starttls = options.tls == TlsMode::starttls;
  plan.pipelining = options.pipelining;
  plan.bdat = options.bdat;
  plan.per_connection = options.per_connection;
  plan.hello_command =
      fmt::format("{} {}\r\n", options.protocol == Protocol::lmtp ? "LHLO" : "EHLO", options.helo);
  plan.mail_command = "MAIL FROM:<bench@ringmx-bench.invalid>\r\n";
  for (unsigned i = 1; i <= options.recipients; ++i)
    plan.rcpt_commands.push_back(fmt::format("RCPT TO:<rcpt{}@ringmx-bench.invalid>\r\n", i));
  return plan;
}

const char* ClientSession::step_name(Step s) {
  switch (s) {
    case Step::greeting:
      return "greeting";
    case Step::hello:
      return "hello";
    case Step::starttls:
      return "starttls";
    case Step::mail:
      return "mail";
    case Step::rcpt:
      return "rcpt";
    case Step::data:
      return "data";
    case Step::end_of_data:
      return "end-of-data";
    case Step::quit:
      return "quit";
  }
  return "?";
}

bool ClientSession::code_is_expected(Step step, int code) {
  switch (step) {
    case Step::greeting:
    case Step::starttls:
      return code == 220;
    case Step::rcpt:
      return code == 250 || code == 251;  // 251: will forward (RFC 5321 3.4)
    case Step::data:
      return code == 354;
    case Step::quit:
      return code == 221;
    default:
      return code == 250;
  }
}

void ClientSession::reset(bool tls_on) {
  state_ = State::greeting;
  tls_on_ = tls_on;
  cap_pipelining_ = cap_chunking_ = cap_starttls_ = false;
  expected_.clear();
  expected_head_ = 0;
  reply_code_ = 0;
  reply_lines_ = 0;
  partial_.clear();
  message_ = {};
  next_command_ = 0;
  messages_ = 0;
  quit_sent_ = false;
  out_.clear();
  events_.clear();
  expect(Step::greeting);
}

bool ClientSession::waiting_for_server() const {
  return expected_head_ < expected_.size() || state_ == State::tls_handshake;
}

void ClientSession::fail(std::string error) {
  if (state_ == State::failed || state_ == State::done) return;
  bool in_message = state_ == State::transaction;
  events_.push_back(SessionEvent{SessionEvent::Kind::error, false, std::move(error)});
  if (in_message) events_.push_back(SessionEvent{SessionEvent::Kind::message_done, false, {}});
  enter(State::failed);
  expected_.clear();
  expected_head_ = 0;
  emit(SessionEvent::Kind::finished);
}

void ClientSession::on_bytes(std::string_view in) {
  // The common case parses straight from the read; only a line split across
  // reads is copied, and only until its end arrives.
  std::string_view rest = in;
  if (!partial_.empty()) {
    partial_.append(in);
    rest = partial_;
  }
  std::size_t used = 0;
  while (used < rest.size() && state_ != State::failed) {
    if (state_ == State::tls_handshake) {
      fail("starttls plaintext after 220");
      break;
    }
    auto line = parse_reply_line(rest.substr(used));
    if (line.status == ReplyLine::Status::need_more) break;
    if (line.status == ReplyLine::Status::malformed) {
      fail(fmt::format("{} malformed reply", expected_head_ < expected_.size()
                                                 ? step_name(expected_[expected_head_])
                                                 : "idle"));
      break;
    }
    used += line.consumed;
    if (reply_lines_ > 0 && line.code != reply_code_) {
      fail(fmt::format("multiline code changed {} to {}", reply_code_, line.code));
      break;
    }
    reply_code_ = line.code;
    ++reply_lines_;
    if (state_ == State::hello && reply_lines_ > 1) note_capability(line.text);
    if (line.last) {
      reply_lines_ = 0;
      on_reply(line.code);
    }
  }
  if (state_ == State::failed) {
    partial_.clear();
    return;
  }
  std::string leftover(rest.substr(used));
  partial_ = std::move(leftover);
}

void ClientSession::note_capability(std::string_view text) {
  auto keyword = text.substr(0, text.find(' '));
  auto is = [&](std::string_view name) {
    if (keyword.size() != name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
      if ((keyword[i] & ~0x20) != name[i]) return false;  // ASCII upper-case compare
    return true;
  };
  if (is("PIPELINING")) cap_pipelining_ = true;
  if (is("CHUNKING")) cap_chunking_ = true;
  if (is("STARTTLS")) cap_starttls_ = true;
}

void ClientSession::on_reply(int code) {
  if (expected_head_ >= expected_.size()) {
    fail(fmt::format("unexpected {}", code));
    return;
  }
  Step step = expected_[expected_head_++];
  if (expected_head_ == expected_.size()) {
    expected_.clear();
    expected_head_ = 0;
  }
  if (!code_is_expected(step, code)) {
    fail(fmt::format("{} {}", step_name(step), code));
    return;
  }
  on_step_ok(step);
}

void ClientSession::on_step_ok(Step step) {
  switch (step) {
    case Step::greeting:
      emit(SessionEvent::Kind::greeting);
      out_ += plan_->hello_command;
      enter(State::hello);
      expect(Step::hello);
      break;
    case Step::hello:
      after_hello();
      break;
    case Step::starttls:
      enter(State::tls_handshake);
      emit(SessionEvent::Kind::start_tls);
      break;
    case Step::mail:
    case Step::rcpt:
      if (!plan_->pipelining) send_transaction_command();
      break;
    case Step::data:
      // RFC 2920: the body never goes before 354. Our bodies have no line
      // starting with '.', so no dot-stuffing is needed.
      out_ += message_;
      out_ += ".\r\n";
      expect_final_replies();
      quit_if_last();
      break;
    case Step::end_of_data:
      // The last final reply of the message: nothing more is owed, or only
      // the 221 to a QUIT sent behind the body.
      if (!waiting_for_server() || expected_[expected_head_] == Step::quit) message_finished(true);
      break;
    case Step::quit:
      enter(State::done);
      emit(SessionEvent::Kind::finished);
      break;
  }
}

void ClientSession::after_hello() {
  if (plan_->starttls && !tls_on_) {
    if (!cap_starttls_) return fail("hello no STARTTLS");
    out_ += "STARTTLS\r\n";
    enter(State::starttls);
    expect(Step::starttls);
    return;
  }
  if (plan_->pipelining && !cap_pipelining_) return fail("hello no PIPELINING");
  if (plan_->bdat && !cap_chunking_) return fail("hello no CHUNKING");
  enter(State::idle);
  emit(SessionEvent::Kind::ready);
}

void ClientSession::on_tls_ready() {
  if (state_ != State::tls_handshake) return;
  tls_on_ = true;
  // RFC 3207 4.2: forget what the server said before TLS and ask again.
  cap_pipelining_ = cap_chunking_ = cap_starttls_ = false;
  out_ += plan_->hello_command;
  enter(State::hello);
  expect(Step::hello);
}

const char* ClientSession::awaiting() const {
  if (expected_head_ < expected_.size()) return step_name(expected_[expected_head_]);
  return state_ == State::tls_handshake ? "tls" : "idle";
}

void ClientSession::on_peer_closed() {
  if (state_ == State::done || state_ == State::failed) return;
  fail(fmt::format("{} closed", awaiting()));
}

void ClientSession::abort(std::string_view reason) {
  fail(fmt::format("{} {}", awaiting(), reason));
}

void ClientSession::begin_message(std::string_view message) {
  if (state_ != State::idle) return;
  message_ = message;
  enter(State::transaction);
  next_command_ = 0;
  if (plan_->pipelining) {
    // One group: MAIL, every RCPT, then DATA, or BDAT LAST with the body,
    // since BDAT may be pipelined with its data (RFC 3030 4.2).
    auto total = plan_->rcpt_commands.size() + 2;
    while (next_command_ < total)
      send_transaction_command();
  } else {
    send_transaction_command();
  }
}

// Command `next_command_` of the transaction: 0 MAIL, 1..R RCPT, R+1 the body.
void ClientSession::send_transaction_command() {
  auto rcpts = plan_->rcpt_commands.size();
  unsigned i = next_command_++;
  if (i == 0) {
    out_ += plan_->mail_command;
    expect(Step::mail);
  } else if (i <= rcpts) {
    out_ += plan_->rcpt_commands[i - 1];
    expect(Step::rcpt);
  } else if (!plan_->bdat) {
    out_ += "DATA\r\n";
    expect(Step::data);
  } else {
    out_ += fmt::format("BDAT {} LAST\r\n", message_.size());
    out_ += message_;
    expect_final_replies();
    quit_if_last();
  }
}

// LMTP answers the end of data once per accepted recipient (RFC 2033 4.2),
// SMTP once.
void ClientSession::expect_final_replies() {
  std::size_t n = plan_->protocol == Protocol::lmtp ? plan_->rcpt_commands.size() : 1;
  for (std::size_t i = 0; i < n; ++i)
    expect(Step::end_of_data);
}

// With pipelining, the QUIT of a session's last message rides in the same
// send as its body (RFC 2920 3.1 lets QUIT end a group): one round trip
// fewer per session, as a pipelining MTA does.
void ClientSession::quit_if_last() {
  if (!plan_->pipelining || plan_->per_connection == 0 || messages_ + 1 < plan_->per_connection)
    return;
  out_ += "QUIT\r\n";
  expect(Step::quit);
  quit_sent_ = true;
}

void ClientSession::message_finished(bool ok) {
  ++messages_;
  message_ = {};
  events_.push_back(SessionEvent{SessionEvent::Kind::message_done, ok, {}});
  if (quit_sent_) {
    enter(State::quit);
    return;
  }
  enter(State::idle);
  if (plan_->per_connection != 0 && messages_ >= plan_->per_connection) quit();
}

void ClientSession::quit() {
  if (state_ != State::idle) return;
  out_ += "QUIT\r\n";
  enter(State::quit);
  expect(Step::quit);
}

}  // namespace ringmx::loadgen
