// Message content to body chunks, without copying.
//
// DATA: a memchr for each LF, then a few checks at the line start. Only
// <CRLF>.<CRLF> ends the message: a '.' line counts as the end only when the
// line before it ended in CRLF and the dot is followed by CRLF, so "\n.\n",
// "\r.\r", "\r\n.\n", "\n.\r\n" are all content (SMTP smuggling). A leading
// dot is dropped by ending one chunk before it and starting the next after
// it; a bare LF is replaced by a static CRLF the same way (or refuses the
// message, per Settings::bare_newline). A bare CR is content.
//
// BDAT: exactly the announced octets, binary-clean, stored as sent.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "protocols/smtp/line_scan.h"
#include "protocols/smtp/received.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/transaction.h"

namespace ringmx::smtp {
namespace {

constexpr char kCrLf[] = "\r\n";
constexpr char kCr[] = "\r";
constexpr char kReceived[] = "received:";

std::string_view protocol_name(Mode mode, Verb greeted, bool tls) {
  if (mode == Mode::lmtp) return tls ? "LMTPS" : "LMTP";
  if (greeted == Verb::helo) return "SMTP";
  return tls ? "ESMTPS" : "ESMTP";
}

}  // namespace

void Session::begin_content(Output& out) {
  Transaction& t = *tx_;
  MessageTicket ticket = ids_->next();
  t.message = ticket.id;
  t.env.queue_id = std::move(ticket.queue_id);
  auto now = clock_->now();
  t.env.received_at = rfc3339(now);
  ReceivedFields f;
  f.helo = helo_;
  f.client_ip = conn_.client_ip;
  f.hostname = settings_->hostname;
  f.protocol = protocol_name(settings_->mode, greeted_, conn_.tls_active);
  if (conn_.tls_active) f.tls = conn_.tls_description;
  f.queue_id = t.env.queue_id;
  if (t.env.rcpt_to.size() == 1) f.recipient = t.env.rcpt_to[0].address;
  f.when = now;
  auto header = std::make_shared<std::string>();
  append_received(*header, f);
  t.received = header;
  t.content_started = true;
  t.env.size = header->size();
  out.actions.push_back(make_action(Action::Kind::message_begin, t.message));
  Action chunk = make_action(Action::Kind::body_chunk, t.message, {header->data(), header->size()});
  chunk.keep_alive = std::move(header);
  out.actions.push_back(std::move(chunk));
}

void Session::emit(const char* begin, const char* end, Output& out) {
  Transaction& t = *tx_;
  if (begin >= end || t.failure != Failure::none) return;
  size_t n = static_cast<size_t>(end - begin);
  t.content_size += n;
  if (t.content_size > settings_->max_message_size) {
    fail(Failure::too_big, out);
    return;
  }
  t.env.size += n;
  out.actions.push_back(make_action(Action::Kind::body_chunk, t.message, {begin, n}));
}

void Session::fail(Failure why, Output& out) {
  Transaction& t = *tx_;
  if (t.failure != Failure::none) return;
  t.failure = why;
  out.actions.push_back(make_action(Action::Kind::message_abort, t.message));
}

// Counts Received fields in the header section; looks at no more than the
// first octets of each line, so a long header section costs one memchr per line.
void Session::count_received(const char* p, const char* end, Output& out) {
  Transaction& t = *tx_;
  constexpr uint8_t kLen = sizeof kReceived - 1;
  while (p < end && t.in_headers) {
    if (t.hdr_len > kLen) {
      p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (!p) return;
    }
    char c = *p++;
    if (c == '\n') {
      if (t.hdr_blank) t.in_headers = false;  // the empty line ends the header section
      t.hdr_len = 0, t.hdr_blank = true, t.hdr_match = true;
      continue;
    }
    t.hdr_blank = t.hdr_blank && t.hdr_len == 0 && c == '\r';
    if (t.hdr_len < kLen) {
      char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
      t.hdr_match = t.hdr_match && lower == kReceived[t.hdr_len];
      if (t.hdr_len + 1 == kLen && t.hdr_match &&
          ++t.received_headers > settings_->max_received_headers) {
        fail(Failure::loop, out);
      }
    }
    t.hdr_len++;
  }
}

size_t Session::on_data_bytes(std::span<const char> in, Output& out) {
  Transaction& t = *tx_;
  const char* const begin = in.data();
  const char* const end = begin + in.size();
  const char* chunk = begin;  // first octet not yet handed out
  const char* p = begin;
  const bool reject_bare_lf = settings_->bare_newline == BareNewline::reject;
  for (;;) {
    switch (t.line) {
      case LineState::middle: {
        // Past the headers, ordinary lines are skipped in bulk. prev_crlf
        // needs no update: the LF that ends the line before any '.' line is
        // always one find_special_lf() stops at, and the code below sets it.
        if (!t.in_headers) p = find_special_lf(begin, p, end);
        const char* lf =
            static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
        if (t.in_headers) count_received(p, lf ? lf + 1 : end, out);
        if (!lf) goto input_used;
        bool cr = lf > begin ? lf[-1] == '\r' : t.last_cr;
        if (!cr) {
          if (reject_bare_lf) {
            fail(Failure::bare_lf, out);
          } else {
            emit(chunk, lf, out);
            emit(kCrLf, kCrLf + 2, out);
            chunk = lf + 1;
          }
        }
        t.prev_crlf = cr;
        p = lf + 1;
        t.line = LineState::start;
        break;
      }
      case LineState::start:
        if (p == end) goto input_used;
        if (*p == '.') {
          emit(chunk, p, out);  // the dot is dropped (RFC 5321 4.5.2)
          chunk = ++p;
          t.line = LineState::after_dot;
        } else {
          t.line = LineState::middle;
        }
        break;
      case LineState::after_dot:
        if (p == end) goto input_used;
        if (*p == '\r') {
          ++p;
          t.line = LineState::after_dot_cr;
        } else {
          t.line = LineState::middle;
        }
        break;
      case LineState::after_dot_cr: {
        if (p == end) goto input_used;
        bool cr_in_input = p > begin;  // else it ended the previous input and was held back
        if (*p == '\n' && t.prev_crlf) {
          // <CRLF>.<CRLF>: the CR is not content, the message is complete.
          if (t.in_headers) count_received(p, p + 1, out);  // keeps the counter consistent
          ++p;
          end_of_content(out);
          return static_cast<size_t>(p - begin);
        }
        if (!cr_in_input) emit(kCr, kCr + 1, out);
        t.line = LineState::middle;
        break;
      }
    }
  }
input_used:
  // A CR right after a leading dot may be the start of the terminator: hold it back.
  const char* stop = (t.line == LineState::after_dot_cr && end > begin) ? end - 1 : end;
  emit(chunk, std::max(chunk, stop), out);
  t.last_cr = end > begin && end[-1] == '\r';
  return in.size();
}

size_t Session::on_bdat_bytes(std::span<const char> in, Output& out) {
  size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), bdat_remaining_));
  if (!bdat_drop_) {
    if (tx_->in_headers) count_received(in.data(), in.data() + n, out);
    emit(in.data(), in.data() + n, out);
  }
  bdat_remaining_ -= n;
  if (bdat_remaining_ == 0) {
    if (bdat_drop_) {
      bdat_drop_ = false;
      enter(State::command);
    } else {
      end_of_content(out);
    }
  }
  return n;
}

void Session::end_of_content(Output& out) {
  Transaction& t = *tx_;
  bool bdat = state_ != State::data;
  enter(State::command);
  if (t.failure != Failure::none) {
    switch (t.failure) {
      case Failure::too_big:
        reply(out, {552, "5.3.4", "Error: message size exceeds fixed limit"});
        break;
      case Failure::loop:
        reply(out, {554, "5.4.6", "Error: too many Received headers, mail loop"});
        break;
      case Failure::bare_lf:
        reply(out,
              {550, "5.6.0",
               "Error: bare <LF> in message content, lines must end in <CR><LF> (RFC 5321 2.3.8)"});
        break;
      case Failure::none:
        break;
    }
    if (last_code_ >= 400) out.refusals.push_back(last_code_);
    end_transaction(out);
    return;
  }
  if (bdat && !bdat_last_) {
    char n[24];
    auto e = fmt::format_to_n(n, sizeof n, "{}", t.bdat_chunk).out;
    reply(out, {250, "2.0.0", {n, static_cast<size_t>(e - n)}, " octets received"});
    return;
  }
  out.actions.push_back(make_action(Action::Kind::message_end, t.message, {}, &t.env));
  pending_.push_back(std::move(tx_));
}

void Session::end_transaction(Output& out) {
  if (!tx_) return;
  if (tx_->content_started && tx_->failure == Failure::none) {
    out.actions.push_back(make_action(Action::Kind::message_abort, tx_->message));
  }
  tx_.reset();
}

}  // namespace ringmx::smtp
