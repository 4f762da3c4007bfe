// The command table: one row per verb with a pure check (may refuse with a
// reply, changes nothing) and an apply step (the effects and the success
// reply). execute() is the only caller.
#include <fmt/format.h>

#include <charconv>
#include <iterator>
#include <optional>

#include "protocols/smtp/address.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/transaction.h"

namespace ringmx::smtp {

struct CommandTable {
  using Reply = Session::Reply;

  // What a check learnt from the arguments, for its apply step.
  struct Args {
    std::string_view raw;  // everything after the verb and its space
    ParsedPath path;
    std::string_view params;  // MAIL parameters as received, trimmed
    uint64_t number = 0;      // BDAT chunk size
    bool number_valid = false;
    bool last = false;  // BDAT ... LAST
    bool smtputf8 = false;
    bool binarymime = false;
  };
  using Check = std::optional<Reply> (*)(const Session&, Args&);
  using Apply = void (*)(Session&, const Args&, Output&);

  enum Flags : uint8_t {
    kBeforeTls = 1,   // allowed before STARTTLS when tls_required
    kSmtpOnly = 2,    // EHLO/HELO: 500 on an LMTP listener
    kLmtpOnly = 4,    // LHLO: 500 on an SMTP listener
    kReadsChunk = 8,  // BDAT: a refused chunk is still read and dropped (RFC 3030 2)
  };

  struct Row {
    std::string_view name;
    Verb verb;
    uint8_t flags;
    Check check;
    Apply apply;
  };

  static const Row* find(std::string_view verb);

  // --- shared checks -------------------------------------------------------

  static std::optional<Reply> no_args(const Args& a, std::string_view syntax) {
    if (!a.raw.empty()) return Reply{501, "5.5.4", syntax};
    return std::nullopt;
  }

  // One token of printable ASCII or UTF-8: it ends up in our Received header.
  static bool valid_helo(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s) {
      if (c <= ' ' || c == 0x7f) return false;
    }
    return valid_utf8(s);
  }

  // --- EHLO / HELO / LHLO ----------------------------------------------------

  static std::optional<Reply> check_ehlo(const Session&, Args& a) {
    if (!valid_helo(a.raw)) return Reply{501, "5.5.2", "Syntax: EHLO hostname"};
    return std::nullopt;
  }
  static std::optional<Reply> check_helo(const Session&, Args& a) {
    if (!valid_helo(a.raw)) return Reply{501, "5.5.2", "Syntax: HELO hostname"};
    return std::nullopt;
  }
  static std::optional<Reply> check_lhlo(const Session&, Args& a) {
    if (!valid_helo(a.raw)) return Reply{501, "5.5.2", "Syntax: LHLO hostname"};
    return std::nullopt;
  }

  static void greet(Session& s, const Args& a, Output& out, Verb verb) {
    s.end_transaction(out);  // RFC 5321 4.1.4: EHLO/HELO reset the transaction
    s.helo_.assign(a.raw);
    s.greeted_ = verb;
  }

  static void apply_helo(Session& s, const Args& a, Output& out) {
    greet(s, a, out, Verb::helo);
    s.reply(out, {250, {}, s.settings_->hostname});
  }

  static void apply_ehlo(Session& s, const Args& a, Output& out) {
    greet(s, a, out, s.settings_->mode == Mode::lmtp ? Verb::lhlo : Verb::ehlo);
    char size[24];
    auto end = fmt::format_to_n(size, sizeof size, "SIZE {}", s.settings_->max_message_size).out;
    bool tls = s.settings_->starttls_offered && !s.conn_.tls_active;
    std::string_view lines[] = {
        s.settings_->hostname,
        "PIPELINING",
        {size, static_cast<size_t>(end - size)},
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "SMTPUTF8",
        "STARTTLS",
    };
    size_t n = std::size(lines) - (tls ? 0 : 1);
    for (size_t i = 0; i < n; ++i)
      s.reply(out, {250, {}, lines[i], {}, i + 1 < n});
  }

  // --- MAIL -------------------------------------------------------------------

  static std::optional<Reply> check_greeted(const Session& s) {
    if (s.settings_->ehlo_require && s.greeted_ == Verb::count_) {
      return Reply{503, "5.5.1",
                   s.settings_->mode == Mode::lmtp ? "Error: send LHLO first"
                                                   : "Error: send HELO/EHLO first"};
    }
    return std::nullopt;
  }

  // "FROM:" / "TO:" then optional spaces (as Postfix tolerates), then the path.
  static bool strip_prefix(std::string_view& raw, std::string_view prefix) {
    if (raw.size() < prefix.size() || !iequals(raw.substr(0, prefix.size()), prefix)) return false;
    raw.remove_prefix(prefix.size());
    while (!raw.empty() && raw.front() == ' ')
      raw.remove_prefix(1);
    return true;
  }

  static std::optional<Reply> path_error(PathError e, bool sender) {
    switch (e) {
      case PathError::none:
        return std::nullopt;
      case PathError::needs_utf8:
        return Reply{553, "5.6.7", "Error: non-ASCII address needs SMTPUTF8"};
      case PathError::too_long:
        return Reply{501, sender ? "5.1.7" : "5.1.3", "Error: address too long"};
      case PathError::syntax:
        break;
    }
    return sender ? Reply{501, "5.1.7", "Error: bad sender address syntax, expected <local@domain>"}
                  : Reply{501, "5.1.3",
                          "Error: bad recipient address syntax, expected <local@domain>"};
  }

  static std::optional<Reply> check_mail(const Session& s, Args& a) {
    if (auto r = check_greeted(s)) return r;
    if (s.tx_) return Reply{503, "5.5.1", "Error: nested MAIL command"};
    if (s.messages_ >= s.settings_->max_messages) {
      return Reply{452, "4.7.0", "Error: too many messages in this session, reconnect"};
    }
    std::string_view raw = a.raw;
    if (!strip_prefix(raw, "FROM:")) {
      return Reply{
          501, "5.5.2",
          "Syntax: MAIL FROM:<address> [SIZE=n] [BODY=7BIT|8BITMIME|BINARYMIME] [SMTPUTF8]"};
    }
    // UTF-8 is judged once SMTPUTF8 is known to be among the parameters.
    a.path = parse_path(raw, true, false, true);
    if (a.path.error != PathError::none) return path_error(a.path.error, true);
    if (!a.path.rest.empty() && a.path.rest.front() != ' ') {
      return Reply{501, "5.5.2", "Syntax: MAIL FROM:<address> [parameters]"};
    }
    a.params = a.path.rest;
    while (!a.params.empty() && a.params.front() == ' ')
      a.params.remove_prefix(1);
    while (!a.params.empty() && a.params.back() == ' ')
      a.params.remove_suffix(1);
    bool seen_size = false, seen_body = false;
    ParamReader params{a.params};
    std::string_view key, value;
    while (params.next(key, value)) {
      if (iequals(key, "SIZE")) {
        uint64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        bool digits = !value.empty() && end == value.data() + value.size();
        if (digits && ec == std::errc::result_out_of_range) {
          return Reply{552, "5.3.4", "Error: message size exceeds fixed limit"};
        }
        if (seen_size || !digits || ec != std::errc()) {
          return Reply{501, "5.5.4", "Error: bad SIZE parameter"};
        }
        if (n > s.settings_->max_message_size) {
          return Reply{552, "5.3.4", "Error: message size exceeds fixed limit"};
        }
        seen_size = true;
      } else if (iequals(key, "BODY")) {
        if (seen_body) return Reply{501, "5.5.4", "Error: duplicate BODY parameter"};
        if (iequals(value, "BINARYMIME")) {
          a.binarymime = true;
        } else if (!iequals(value, "7BIT") && !iequals(value, "8BITMIME")) {
          return Reply{501, "5.5.4", "Error: BODY must be 7BIT, 8BITMIME or BINARYMIME"};
        }
        seen_body = true;
      } else if (iequals(key, "SMTPUTF8")) {
        if (!value.empty() || a.smtputf8)
          return Reply{501, "5.5.4", "Error: bad SMTPUTF8 parameter"};
        a.smtputf8 = true;
      } else {
        return Reply{555, "5.5.4", "Error: unsupported parameter ", key};
      }
    }
    if (params.error) return Reply{501, "5.5.4", "Error: bad parameter syntax"};
    if (!a.smtputf8) {
      for (unsigned char c : a.path.address) {
        if (c >= 0x80) return path_error(PathError::needs_utf8, true);
      }
    }
    return std::nullopt;
  }

  static void apply_mail(Session& s, const Args& a, Output& out) {
    auto tx = std::make_unique<Session::Transaction>();
    Envelope& env = tx->env;
    env.listener = s.settings_->listener;
    env.client = s.conn_.client;
    env.helo = s.helo_;
    env.tls = s.conn_.tls_active ? s.conn_.tls_description : "none";
    env.mail_from.assign(a.path.address);
    env.mail_params.assign(a.params);
    tx->smtputf8 = a.smtputf8;
    tx->binarymime = a.binarymime;
    s.tx_ = std::move(tx);
    s.messages_++;
    s.reply(out, {250, "2.1.0", "Ok"});
  }

  // --- RCPT -------------------------------------------------------------------

  static bool domain_allowed(const Session& s, const ParsedPath& p) {
    const auto& domains = s.settings_->rcpt_domains;
    if (domains.empty() || p.domain.empty()) return true;  // bare <postmaster> is always ours
    for (const std::string& d : domains) {
      if (iequals(d, p.domain)) return true;
    }
    return false;
  }

  static std::optional<Reply> check_rcpt(const Session& s, Args& a) {
    if (!s.tx_) return Reply{503, "5.5.1", "Error: need MAIL command"};
    std::string_view raw = a.raw;
    if (!strip_prefix(raw, "TO:")) return Reply{501, "5.5.2", "Syntax: RCPT TO:<address>"};
    a.path = parse_path(raw, false, true, s.tx_->smtputf8);
    if (a.path.error != PathError::none) return path_error(a.path.error, false);
    ParamReader params{a.path.rest};
    if (!a.path.rest.empty() && a.path.rest.front() != ' ') params.error = true;
    std::string_view key, value;
    if (!params.error && params.next(key, value)) {
      return Reply{555, "5.5.4", "Error: unsupported parameter ", key};
    }
    if (params.error) return Reply{501, "5.5.4", "Error: bad parameter syntax"};
    if (s.tx_->env.rcpt_to.size() >= s.settings_->max_recipients) {
      return Reply{452, "4.5.3", "Error: too many recipients"};
    }
    if (!domain_allowed(s, a.path)) return Reply{550, "5.7.1", "Error: relay access denied"};
    return std::nullopt;
  }

  static void apply_rcpt(Session& s, const Args& a, Output& out) {
    s.tx_->env.rcpt_to.push_back({std::string(a.path.address), {}});
    s.reply(out, {250, "2.1.5", "Ok"});
  }

  // --- DATA / BDAT ------------------------------------------------------------

  static std::optional<Reply> check_has_recipients(const Session& s) {
    if (!s.tx_) return Reply{503, "5.5.1", "Error: need MAIL command"};
    if (s.tx_->env.rcpt_to.empty()) return Reply{503, "5.5.1", "Error: need RCPT command"};
    return std::nullopt;
  }

  static std::optional<Reply> check_data(const Session& s, Args& a) {
    if (auto r = no_args(a, "Syntax: DATA")) return r;
    if (auto r = check_has_recipients(s)) return r;
    if (s.tx_->used_bdat) return Reply{503, "5.5.1", "Error: DATA after BDAT in one transaction"};
    if (s.tx_->binarymime) return Reply{503, "5.5.1", "Error: BODY=BINARYMIME needs BDAT"};
    return std::nullopt;
  }

  static void apply_data(Session& s, const Args&, Output& out) {
    s.begin_content(out);
    s.reply(out, {354, {}, "End data with <CR><LF>.<CR><LF>"});
    s.enter(Session::State::data);
  }

  static std::optional<Reply> check_bdat(const Session& s, Args& a) {
    std::string_view raw = a.raw;
    size_t sp = raw.find(' ');
    std::string_view size = raw.substr(0, sp);
    std::string_view rest = sp == raw.npos ? std::string_view{} : raw.substr(sp + 1);
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), a.number);
    a.number_valid = !size.empty() && ec == std::errc() && end == size.data() + size.size() &&
                     (rest.empty() || iequals(rest, "LAST"));
    if (!a.number_valid) return Reply{501, "5.5.4", "Syntax: BDAT size [LAST]"};
    a.last = !rest.empty();
    return check_has_recipients(s);
  }

  static void apply_bdat(Session& s, const Args& a, Output& out) {
    if (!s.tx_->content_started) {
      s.begin_content(out);
      s.tx_->used_bdat = true;
    }
    s.tx_->bdat_chunk = a.number;
    s.bdat_last_ = a.last;
    s.bdat_remaining_ = a.number;
    if (a.number == 0) {
      s.end_of_content(out);
    } else {
      s.enter(Session::State::bdat);
    }
  }

  // --- the rest ---------------------------------------------------------------

  static std::optional<Reply> check_rset(const Session&, Args& a) {
    return no_args(a, "Syntax: RSET");
  }
  static void apply_rset(Session& s, const Args&, Output& out) {
    s.end_transaction(out);
    s.reply(out, {250, "2.0.0", "Ok"});
  }

  static std::optional<Reply> check_any(const Session&, Args&) { return std::nullopt; }
  static void apply_noop(Session& s, const Args&, Output& out) {
    s.reply(out, {250, "2.0.0", "Ok"});
  }

  static void apply_quit(Session& s, const Args&, Output& out) {
    s.end_transaction(out);
    s.reply(out, {221, "2.0.0", "Bye"});
    s.after_replies(out, Action::Kind::close);
    s.enter(Session::State::closed);
  }

  static void apply_help(Session& s, const Args&, Output& out) {
    s.reply(out,
            {214, "2.0.0",
             s.settings_->mode == Mode::lmtp
                 ? "Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS"
                 : "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS"});
  }

  static std::optional<Reply> check_vrfy(const Session&, Args& a) {
    if (a.raw.empty()) return Reply{501, "5.5.4", "Syntax: VRFY address"};
    return std::nullopt;
  }
  static void apply_vrfy(Session& s, const Args&, Output& out) {
    s.reply(out, {252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"});
  }

  static std::optional<Reply> check_starttls(const Session& s, Args& a) {
    if (auto r = no_args(a, "Syntax: STARTTLS")) return r;
    if (s.conn_.tls_active) return Reply{503, "5.5.1", "Error: TLS already active"};
    if (!s.settings_->starttls_offered) return Reply{502, "5.5.1", "Error: STARTTLS not offered"};
    if (s.tx_) return Reply{503, "5.5.1", "Error: MAIL transaction in progress"};
    return std::nullopt;
  }
  static void apply_starttls(Session& s, const Args&, Output& out) {
    s.reply(out, {220, "2.0.0", "Ready to start TLS"});
    s.after_replies(out, Action::Kind::start_tls);
    s.enter(Session::State::tls_handshake);
  }
};

namespace {

using T = CommandTable;
constexpr T::Row kRows[] = {
    {"EHLO", Verb::ehlo, T::kBeforeTls | T::kSmtpOnly, T::check_ehlo, T::apply_ehlo},
    {"HELO", Verb::helo, T::kBeforeTls | T::kSmtpOnly, T::check_helo, T::apply_helo},
    {"LHLO", Verb::lhlo, T::kBeforeTls | T::kLmtpOnly, T::check_lhlo, T::apply_ehlo},
    {"MAIL", Verb::mail, 0, T::check_mail, T::apply_mail},
    {"RCPT", Verb::rcpt, 0, T::check_rcpt, T::apply_rcpt},
    {"DATA", Verb::data, 0, T::check_data, T::apply_data},
    {"BDAT", Verb::bdat, T::kReadsChunk, T::check_bdat, T::apply_bdat},
    {"RSET", Verb::rset, T::kBeforeTls, T::check_rset, T::apply_rset},
    {"NOOP", Verb::noop, T::kBeforeTls, T::check_any, T::apply_noop},
    {"QUIT", Verb::quit, T::kBeforeTls, T::check_any, T::apply_quit},
    {"HELP", Verb::help, T::kBeforeTls, T::check_any, T::apply_help},
    {"VRFY", Verb::vrfy, 0, T::check_vrfy, T::apply_vrfy},
    {"STARTTLS", Verb::starttls, T::kBeforeTls, T::check_starttls, T::apply_starttls},
};

}  // namespace

const CommandTable::Row* CommandTable::find(std::string_view verb) {
  for (const Row& row : kRows) {
    if (iequals(row.name, verb)) return &row;
  }
  return nullptr;
}

void Session::execute(std::string_view line, Output& out) {
  size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  CommandTable::Args args;
  if (sp != line.npos) args.raw = line.substr(sp + 1);
  const CommandTable::Row* row = CommandTable::find(verb);
  bool lmtp = settings_->mode == Mode::lmtp;
  if (row && ((lmtp && (row->flags & CommandTable::kSmtpOnly)) ||
              (!lmtp && (row->flags & CommandTable::kLmtpOnly)))) {
    row = nullptr;
  }
  size_t v = static_cast<size_t>(row ? row->verb : Verb::unknown);
  counts_.total[v]++;
  last_code_ = 0;
  if (!row) {
    reply(out, {500, "5.5.1", "Error: command not recognized"});
    return;
  }
  std::optional<Reply> refusal;
  if (settings_->tls_required && !conn_.tls_active && !(row->flags & CommandTable::kBeforeTls)) {
    refusal = Reply{530, "5.7.0", "Must issue a STARTTLS command first"};
  } else if (draining_ && row->verb == Verb::mail) {
    refusal = Reply{421, "4.3.2", settings_->hostname, " Service shutting down"};
  } else {
    refusal = row->check(*this, args);
  }
  if (!refusal) {
    row->apply(*this, args, out);
  } else {
    if ((row->flags & CommandTable::kReadsChunk) && !args.number_valid) {
      row->check(*this, args);  // only to learn the chunk size to skip
    }
    reply(out, *refusal);
    // RFC 3030 2: a refused chunk is still read, so the stream stays in step.
    if ((row->flags & CommandTable::kReadsChunk) && args.number_valid && args.number > 0 &&
        state_ == State::command) {
      bdat_drop_ = true;
      bdat_remaining_ = args.number;
      enter(State::bdat);
    }
  }
  if (last_code_ < 400) {
    counts_.ok[v]++;
  } else if (row->verb == Verb::mail || row->verb == Verb::rcpt || row->verb == Verb::data ||
             row->verb == Verb::bdat) {
    out.refusals.push_back(last_code_);
  }
}

}  // namespace ringmx::smtp
