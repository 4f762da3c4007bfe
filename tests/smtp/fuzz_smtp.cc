// libFuzzer target for the engine. Build (clang only) and run:
// clang-format off
//   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DRINGMX_FUZZ=ON -DRINGMX_SANITIZE=ON
//   cmake --build build-fuzz --target fuzz_smtp
//   mkdir -p /tmp/smtp-corpus    # new inputs go to the first folder, not into the repository
//   build-fuzz/tests/smtp/fuzz_smtp -max_total_time=180 -max_len=4096 /tmp/smtp-corpus tests/smtp/corpus
// clang-format on
//
// The input drives one session: its first byte picks the settings, then each
// control byte is an event (feed the next n bytes, answer a commit, finish a
// TLS handshake, time out, shut down, lose the peer). Invariants checked, abort() on breach:
//   - every reply line is "ddd[ -]" plus an enhanced code "c.s.d " (class
//     2/4/5), except the greeting, EHLO/HELO lines and 354 (RFC 2034);
//     it ends in CRLF and has no other CR or LF;
//   - never two "queued as" replies for one message, and none without a
//     committed result;
//   - chunks only for a begun, unfinished message; an ended message's
//     envelope size is the sum of its chunks; one close; nothing after it;
//   - receive() consumes everything except right after STARTTLS.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "protocols/smtp/session.h"

namespace {

using namespace ringmx::smtp;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

class Ids : public MessageIds {
 public:
  MessageTicket next() override {
    ++n;
    return {n, "Q" + std::to_string(n)};
  }
  uint64_t n = 0;
};
class FixedClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795652740));
  }
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "c.s.d " with class 2, 4 or 5 and 1-3 digit subject and detail.
bool has_enhanced(std::string_view rest) {
  if (rest.size() < 6 || (rest[0] != '2' && rest[0] != '4' && rest[0] != '5') || rest[1] != '.') {
    return false;
  }
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < rest.size() && is_digit(rest[i]))
      ++i;
    if (i == start || i - start > 3 || i >= rest.size()) return false;
    if (rest[i] != (part == 0 ? '.' : ' ')) return false;
    ++i;
  }
  return true;
}

const std::set<std::string_view> kEhloLines = {
    "mx.example.com", "PIPELINING",          "8BITMIME", "BINARYMIME",
    "CHUNKING",       "ENHANCEDSTATUSCODES", "SMTPUTF8", "STARTTLS"};

void check_replies(std::string_view r) {
  while (!r.empty()) {
    size_t end = r.find("\r\n");
    if (end == r.npos) fail("reply without CRLF", r);
    std::string_view line = r.substr(0, end);
    r.remove_prefix(end + 2);
    if (line.find('\r') != line.npos || line.find('\n') != line.npos) fail("CR/LF inside", line);
    if (line.size() < 4 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        (line[3] != ' ' && line[3] != '-')) {
      fail("malformed reply", line);
    }
    std::string_view code = line.substr(0, 3), text = line.substr(4);
    bool exempt = (code == "220" && text.starts_with("mx.example.com ")) || code == "354" ||
                  (code == "250" && (kEhloLines.count(text) || text.starts_with("SIZE ")));
    if (exempt) continue;
    if (!has_enhanced(text)) fail("reply without enhanced code", line);
    if (text[0] != code[0]) fail("enhanced class differs from the reply class", line);
  }
}

struct Message {
  uint64_t bytes = 0;
  bool ended = false, aborted = false, answered = false;
};

struct World {
  std::map<uint64_t, Message> messages;
  std::set<std::string> queued;  // queue ids named in "queued as"
  size_t committed_given = 0;
  bool closed = false;
  bool tls_pending = false;
  std::string replies;  // everything sent, for "nothing after close"

  void act(Output& out, Mode mode) {
    if (closed && !out.replies.empty()) fail("reply after close", out.replies);
    check_replies(out.replies);
    if (mode == Mode::smtp) {
      for (size_t p = 0; (p = out.replies.find("queued as ", p)) != std::string::npos;) {
        size_t e = out.replies.find("\r\n", p);
        std::string id = out.replies.substr(p + 10, e - p - 10);
        if (!queued.insert(id).second) fail("two 250s for one message", id);
        p = e;
      }
      if (queued.size() > committed_given) fail("250 without a committed result");
    }
    for (const Action& a : out.actions) {
      if (closed) fail("action after close");
      switch (a.kind) {
        case Action::Kind::message_begin:
          if (messages.count(a.message)) fail("message id reused");
          messages[a.message];
          break;
        case Action::Kind::body_chunk: {
          auto it = messages.find(a.message);
          if (it == messages.end() || it->second.ended || it->second.aborted) fail("stray chunk");
          if (a.data.empty()) fail("empty chunk");
          // Touch every byte: ASan catches a view into freed memory.
          volatile char sink = 0;
          for (char c : a.data)
            sink = sink ^ c;
          it->second.bytes += a.data.size();
          break;
        }
        case Action::Kind::message_end: {
          auto it = messages.find(a.message);
          if (it == messages.end() || it->second.ended || it->second.aborted) fail("stray end");
          if (!a.envelope || a.envelope->size != it->second.bytes) fail("envelope size");
          it->second.ended = true;
          break;
        }
        case Action::Kind::message_abort: {
          auto it = messages.find(a.message);
          if (it == messages.end() || it->second.ended || it->second.aborted) fail("stray abort");
          it->second.aborted = true;
          break;
        }
        case Action::Kind::start_tls:
          tls_pending = true;
          break;
        case Action::Kind::close:
          closed = true;
          break;
      }
    }
    out.clear();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const char* in = reinterpret_cast<const char*>(data);
  uint8_t knobs = data[0];
  Settings s;
  s.hostname = "mx.example.com";
  s.mode = knobs & 1 ? Mode::lmtp : Mode::smtp;
  s.bare_newline = knobs & 2 ? BareNewline::reject : BareNewline::normalize;
  s.starttls_offered = knobs & 4;
  s.tls_required = (knobs & 12) == 12;
  s.ehlo_require = !(knobs & 16);
  if (knobs & 32) {  // small limits, so the fuzzer reaches them
    s.max_line = 512;
    s.max_message_size = 1024;
    s.max_recipients = 2;
    s.max_messages = 2;
    s.max_received_headers = 2;
    s.transfer_limit = 4096;
  }
  if (knobs & 64) s.rcpt_domains = {"example.com"};
  Ids ids;
  FixedClock clock;
  ConnectionInfo conn{"192.0.2.7:1", "192.0.2.7", "198.51.100.1:25", false, {}};
  Session session(s, ids, clock, conn);
  Output out;
  World w;
  session.start(out);
  w.act(out, s.mode);
  size_t pos = 1;
  while (pos < size) {
    uint8_t ctl = data[pos++];
    switch (ctl >> 5) {
      default: {  // feed up to 64 bytes, most of the time
        size_t n = std::min<size_t>((ctl & 31) * 4 + 1, size - pos);
        size_t used = session.receive(std::span<const char>(in + pos, n), out);
        if (used > n) fail("consumed more than given");
        w.act(out, s.mode);
        if (used < n && !w.tls_pending && session.pending_commits() == 0) {
          fail("input left without STARTTLS");
        }
        pos += n;
        break;
      }
      case 5: {
        if (session.pending_commits() == 0) break;
        auto r = static_cast<CommitResult>(ctl % 3);
        if (r == CommitResult::committed) w.committed_given++;
        session.commit_result(r, out);
        break;
      }
      case 6:
        if (w.tls_pending) {
          w.tls_pending = false;
          ConnectionInfo t = conn;
          t.tls_active = true;
          t.tls_description = "TLSv1.3 TLS_AES_128_GCM_SHA256";
          session.tls_established(t, out);
        }
        break;
      case 7:
        if ((ctl & 7) == 0) session.idle_timeout(out);
        if ((ctl & 7) == 1) session.duration_exceeded(out);
        if ((ctl & 7) == 2) session.shutdown(out);
        if ((ctl & 7) == 3) {
          session.disconnected(out);
          w.act(out, s.mode);  // the abort of a message in progress
          w.closed = true;     // the peer is gone: nothing may come out any more
        }
        break;
    }
    w.act(out, s.mode);
  }
  // Answer what is still pending, as the runtime would before tearing down.
  while (session.pending_commits() > 0) {
    w.committed_given++;
    session.commit_result(CommitResult::committed, out);
    w.act(out, s.mode);
  }
  return 0;
}
