// The session's life: greeting, the receive loop, the one reply path,
// commit results in order, timeouts and shutdown.
#include "protocols/smtp/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "protocols/smtp/transaction.h"

namespace ringmx::smtp {

Session::Session(const Settings& settings, MessageIds& ids, Clock& clock, ConnectionInfo conn)
    : settings_(&settings), ids_(&ids), clock_(&clock), conn_(std::move(conn)) {}

Session::~Session() = default;

void Session::start(Output& out) {
  if (state_ != State::before_greeting) return;
  enter(State::command);
  fmt::memory_buffer text;  // on the stack: the idle session allocates nothing
  // The configured greeting is the whole text after the host name
  // (server.greeting, default "ringmx ESMTP"), as Postfix's smtpd_banner.
  fmt::format_to(std::back_inserter(text), "{} {}", settings_->hostname, settings_->greeting);
  // RFC 2034: no enhanced code before the client could ask for them.
  reply(out, {220, {}, {text.data(), text.size()}});
  close_if_draining(out);
}

size_t Session::receive(std::span<const char> in, Output& out) {
  if (state_ != State::command && state_ != State::data && state_ != State::bdat) {
    return in.size();  // closed, before the greeting, or handshaking: nothing to parse
  }
  uint64_t room = settings_->transfer_limit > bytes_in_ ? settings_->transfer_limit - bytes_in_ : 0;
  size_t allowed = static_cast<size_t>(std::min<uint64_t>(in.size(), room));
  size_t pos = 0;
  while (pos < allowed) {
    std::span<const char> rest = in.subspan(pos, allowed - pos);
    switch (state_) {
      case State::command:
        pos += on_command_bytes(rest, out);
        break;
      case State::data:
        pos += on_data_bytes(rest, out);
        break;
      case State::bdat:
        pos += on_bdat_bytes(rest, out);
        break;
      case State::tls_handshake:
        // CVE-2011-0411: what follows STARTTLS was sent in clear; not ours to read.
        bytes_in_ += pos;
        return pos;
      default:
        pos = allowed;
        break;
    }
  }
  bytes_in_ += allowed;
  if (allowed < in.size() && state_ != State::closed) {
    hard_close(out, {421, "4.7.0", settings_->hostname, " Error: transfer limit exceeded"});
  }
  close_if_draining(out);
  return in.size();
}

size_t Session::on_command_bytes(std::span<const char> in, Output& out) {
  const char* lf = static_cast<const char*>(std::memchr(in.data(), '\n', in.size()));
  if (skipping_long_line_) {
    if (!lf) return in.size();
    skipping_long_line_ = false;
    return static_cast<size_t>(lf - in.data()) + 1;
  }
  // A line of max_line octets including its LF is accepted; one octet more
  // before the LF is refused at once, without waiting for the LF.
  size_t before_lf = lf ? static_cast<size_t>(lf - in.data()) : in.size();
  if (line_.size() + before_lf >= settings_->max_line) {
    std::string().swap(line_);
    reply(out, {500, "5.5.2", "Error: line too long"});
    if (!lf) {
      skipping_long_line_ = true;
      return in.size();
    }
    return before_lf + 1;
  }
  if (!lf) {
    line_.append(in.data(), in.size());
    return in.size();
  }
  std::string_view line(in.data(), before_lf);
  if (!line_.empty()) {
    line_.append(line);
    line = line_;
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  execute(line, out);
  std::string().swap(line_);  // the idle session keeps no buffer
  return before_lf + 1;
}

void Session::reply(Output& out, const Reply& r) {
  if (state_ == State::closed) return;
  // Behind a message awaiting its commit, replies wait so they leave in order.
  append_reply(pending_.empty() ? out.replies : pending_.back()->held, r);
  if (!r.more) last_code_ = r.code;
  if (r.code == 421) {
    end_transaction(out);
    after_replies(out, Action::Kind::close);
    enter(State::closed);
  }
}

void Session::after_replies(Output& out, Action::Kind kind) {
  if (pending_.empty()) {
    out.actions.push_back(make_action(kind));
    return;
  }
  pending_.back()->has_after = true;
  pending_.back()->after = kind;
}

void Session::hard_close(Output& out, const Reply& r) {
  if (state_ == State::closed) return;
  // Once the STARTTLS 220 has left, the bytes on the wire belong to the
  // handshake: no clear-text reply then. (While the 220 is still held behind a
  // pending commit, the client is not handshaking yet.)
  bool handshaking = state_ == State::tls_handshake && pending_.empty();
  // Replies held behind pending commits are never sent: the client retries
  // those messages (a duplicate is possible, a loss is not).
  for (auto& p : pending_)
    p->silent = true;
  end_transaction(out);
  if (!handshaking) append_reply(out.replies, r);
  out.actions.push_back(make_action(Action::Kind::close));
  enter(State::closed);
}

void Session::close_if_draining(Output& out) {
  if (draining_ && state_ == State::command && !tx_) {
    reply(out, {421, "4.3.2", settings_->hostname, " Service shutting down"});
  }
}

void Session::tls_established(const ConnectionInfo& conn, Output& out) {
  if (state_ != State::tls_handshake) return;
  conn_ = conn;
  conn_.tls_active = true;
  // RFC 3207 4.2: forget everything learnt before TLS; the client EHLOs again.
  std::string().swap(helo_);
  greeted_ = Verb::count_;
  end_transaction(out);
  enter(State::command);
  close_if_draining(out);
}

void Session::commit_result(CommitResult result, Output& out) {
  commit_result(std::span<const CommitResult>(&result, 1), out);
}

void Session::commit_result(std::span<const CommitResult> per_recipient, Output& out) {
  if (pending_.empty()) return;
  std::unique_ptr<Transaction> tx = std::move(pending_.front());
  pending_.erase(pending_.begin());
  if (pending_.empty()) decltype(pending_)().swap(pending_);  // idle again: hold no memory
  if (!tx->silent) {
    answer_commit(*tx, per_recipient, out);
    out.replies += tx->held;
    if (tx->has_after) out.actions.push_back(make_action(tx->after));
  }
  close_if_draining(out);
}

void Session::answer_commit(Transaction& tx, std::span<const CommitResult> results, Output& out) {
  // LMTP puts "<recipient> " before the text; SMTP has no prefix.
  auto one = [&](CommitResult r, std::string_view prefix) {
    Reply reply{451, "4.3.0", "Local error in processing"};
    if (r == CommitResult::committed)
      reply = {250, "2.0.0", "Ok: queued as ", tx.env.queue_id};
    else if (r == CommitResult::no_space)
      reply = {452, "4.3.1", "Insufficient system storage"};
    std::string text;
    if (!prefix.empty()) {
      text.append(prefix).append(reply.text);
      reply.text = text;
    }
    append_reply(out.replies, reply);
  };
  if (settings_->mode == Mode::smtp) {
    one(results.empty() ? CommitResult::failed : results[0], {});
    return;
  }
  // RFC 2033 4.2: one reply per accepted recipient, in RCPT order.
  for (size_t i = 0; i < tx.env.rcpt_to.size(); ++i) {
    CommitResult r = results.size() == 1  ? results[0]
                     : i < results.size() ? results[i]
                                          : CommitResult::failed;
    std::string prefix = fmt::format("<{}> ", tx.env.rcpt_to[i].address);
    one(r, prefix);
  }
}

void Session::idle_timeout(Output& out) {
  hard_close(out, {421, "4.4.2", settings_->hostname, " Error: timeout exceeded"});
}

void Session::duration_exceeded(Output& out) {
  hard_close(out, {421, "4.7.0", settings_->hostname, " Error: session time limit exceeded"});
}

void Session::shutdown(Output& out) {
  draining_ = true;
  if (state_ == State::before_greeting) {
    out.actions.push_back(make_action(Action::Kind::close));
    enter(State::closed);
    return;
  }
  close_if_draining(out);
}

void Session::disconnected(Output& out) {
  for (auto& p : pending_)
    p->silent = true;
  end_transaction(out);
  enter(State::closed);
}

bool Session::in_transaction() const {
  return tx_ != nullptr || !pending_.empty();
}

bool Session::closed() const {
  return state_ == State::closed;
}

namespace {
constexpr std::string_view kVerbNames[] = {"helo", "ehlo", "lhlo", "starttls", "mail",
                                           "rcpt", "data", "bdat", "rset",     "noop",
                                           "vrfy", "help", "quit", "unknown"};
static_assert(std::size(kVerbNames) == static_cast<size_t>(Verb::count_));
}  // namespace

void CommandCounts::append_summary(std::string& out) const {
  auto it = std::back_inserter(out);
  uint32_t all_ok = 0, all = 0;
  for (size_t i = 0; i < std::size(kVerbNames); ++i) {
    all_ok += ok[i];
    all += total[i];
    if (total[i] == 0) continue;
    if (!out.empty()) out += ' ';
    if (ok[i] == total[i]) {
      fmt::format_to(it, "{}={}", kVerbNames[i], total[i]);
    } else {
      fmt::format_to(it, "{}={}/{}", kVerbNames[i], ok[i], total[i]);
    }
  }
  if (!out.empty()) out += ' ';
  if (all_ok == all) {
    fmt::format_to(it, "commands={}", all);
  } else {
    fmt::format_to(it, "commands={}/{}", all_ok, all);
  }
}

std::string CommandCounts::summary() const {
  std::string s;
  append_summary(s);
  return s;
}

}  // namespace ringmx::smtp
