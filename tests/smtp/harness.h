// Test doubles for the engine's surroundings: a counting MessageIds, a fixed
// Clock, and a recording delivery side that concatenates body chunks into
// the bytes a spool would have stored.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/smtp/session.h"

namespace ringmx::smtp::testing {

class CountingIds : public MessageIds {
 public:
  MessageTicket next() override {
    ++n;
    return {n, "Q" + std::to_string(n)};
  }
  uint64_t n = 0;
};

class FixedClock : public Clock {
 public:
  // Thu, 26 Nov 2026 00:25:40 +0000
  std::chrono::system_clock::time_point now() override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795652740));
  }
};

struct Stored {
  std::string bytes;  // every body_chunk, concatenated
  bool ended = false;
  bool aborted = false;
  Envelope envelope;  // copied at message_end
};

// One session and what the outside world saw of it.
class Harness {
 public:
  explicit Harness(Settings s = defaults()) : settings(std::move(s)) {
    ConnectionInfo conn;
    conn.client = "192.0.2.7:41234";
    conn.client_ip = "192.0.2.7";
    conn.local = "198.51.100.1:25";
    session = std::make_unique<Session>(settings, ids, clock, conn);
  }

  static Settings defaults() {
    Settings s;
    s.hostname = "mx.example.com";
    s.listener = "inbound";
    return s;
  }

  // The greeting.
  std::string start() {
    session->start(out);
    return drain();
  }
  // Feeds `bytes` in one receive() and returns the replies it produced.
  std::string say(std::string_view bytes) {
    size_t n = session->receive(bytes, out);
    last_consumed = n;
    return drain();
  }
  std::string commit(CommitResult r) {
    session->commit_result(r, out);
    return drain();
  }
  std::string commit(std::vector<CommitResult> per_recipient) {
    session->commit_result(per_recipient, out);
    return drain();
  }

  // Acts on the actions like the runtime would, then returns the replies.
  std::string drain() {
    std::string r = out.replies;
    for (const Action& a : out.actions)
      record(a);
    transcript += r;
    out.clear();
    if (auto_commit) {
      while (!awaiting.empty()) {
        awaiting.pop_front();
        session->commit_result(*auto_commit, out);
        std::string more = out.replies;
        for (const Action& a : out.actions)
          record(a);
        transcript += more;
        r += more;
        out.clear();
      }
    }
    return r;
  }

  // Bytes of the n-th message that reached message_end (0-based).
  std::string stored(size_t n = 0) const {
    if (n >= ended_order.size()) return "<no message " + std::to_string(n) + ">";
    return messages.at(ended_order[n]).bytes;
  }
  const Envelope& envelope(size_t n = 0) const { return messages.at(ended_order.at(n)).envelope; }
  // The stored bytes without our Received header (everything up to the first line
  // that does not start a header continuation after "Received:").
  std::string content(size_t n = 0) const {
    std::string s = stored(n);
    size_t end = s.find("\r\n", s.find(" +0000"));
    return end == std::string::npos ? s : s.substr(end + 2);
  }

  Settings settings;
  CountingIds ids;
  FixedClock clock;
  std::unique_ptr<Session> session;
  Output out;
  std::string transcript;  // every reply so far
  std::map<uint64_t, Stored> messages;
  std::vector<uint64_t> ended_order;
  std::deque<uint64_t> awaiting;  // ended, commit not answered yet
  std::vector<Action::Kind> kinds;
  int aborts = 0;
  bool closed = false;
  bool start_tls = false;
  size_t last_consumed = 0;
  std::optional<CommitResult> auto_commit;

 private:
  void record(const Action& a) {
    kinds.push_back(a.kind);
    switch (a.kind) {
      case Action::Kind::message_begin:
        EXPECT_FALSE(messages.count(a.message)) << "message id reused: " << a.message;
        messages[a.message];
        break;
      case Action::Kind::body_chunk: {
        auto it = messages.find(a.message);
        ASSERT_NE(it, messages.end()) << "chunk for an unknown message";
        EXPECT_FALSE(it->second.ended || it->second.aborted) << "chunk after the end";
        EXPECT_FALSE(a.data.empty()) << "empty chunk";
        it->second.bytes.append(a.data.data(), a.data.size());
        break;
      }
      case Action::Kind::message_end: {
        auto it = messages.find(a.message);
        ASSERT_NE(it, messages.end());
        ASSERT_NE(a.envelope, nullptr);
        EXPECT_EQ(a.envelope->size, it->second.bytes.size());
        it->second.ended = true;
        it->second.envelope = *a.envelope;
        ended_order.push_back(a.message);
        awaiting.push_back(a.message);
        break;
      }
      case Action::Kind::message_abort: {
        auto it = messages.find(a.message);
        ASSERT_NE(it, messages.end());
        EXPECT_FALSE(it->second.ended || it->second.aborted);
        it->second.aborted = true;
        ++aborts;
        break;
      }
      case Action::Kind::close:
        EXPECT_FALSE(closed) << "two close actions";
        closed = true;
        break;
      case Action::Kind::start_tls:
        start_tls = true;
        break;
    }
  }
};

// What a whole conversation produced: for comparing splits of one stream.
struct Outcome {
  std::string replies;
  std::vector<std::string> stored;  // committed messages, in order
  int aborts = 0;
  bool closed = false;
  bool operator==(const Outcome&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "replies:\n" << o.replies << "stored:" << o.stored.size() << " aborts:" << o.aborts;
  for (const auto& s : o.stored)
    os << "\n--- message\n" << s;
  return os;
}

// Feeds `stream` cut at the given sizes (the last piece takes the rest);
// every message is committed as soon as it ends.
inline Outcome run_split(const Settings& settings, std::string_view stream,
                         const std::vector<size_t>& cuts) {
  Harness h(settings);
  h.auto_commit = CommitResult::committed;
  h.start();
  size_t pos = 0;
  for (size_t cut : cuts) {
    if (pos >= stream.size()) break;
    size_t n = std::min(cut, stream.size() - pos);
    // Each piece lives in its own buffer, as a receive buffer would.
    std::string piece(stream.substr(pos, n));
    h.say(piece);
    pos += n;
  }
  if (pos < stream.size()) h.say(std::string(stream.substr(pos)));
  Outcome o;
  o.replies = h.transcript.substr(h.transcript.find("\r\n") + 2);  // without the greeting
  for (size_t i = 0; i < h.ended_order.size(); ++i)
    o.stored.push_back(h.stored(i));
  o.aborts = h.aborts;
  o.closed = h.closed;
  return o;
}

inline Outcome run_whole(const Settings& s, std::string_view stream) {
  return run_split(s, stream, {stream.size()});
}
inline Outcome run_bytewise(const Settings& s, std::string_view stream) {
  return run_split(s, stream, std::vector<size_t>(stream.size(), 1));
}
inline Outcome run_random(const Settings& s, std::string_view stream, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> len(1, 64);
  std::vector<size_t> cuts;
  for (size_t total = 0; total < stream.size();)
    cuts.push_back(len(rng)), total += cuts.back();
  return run_split(s, stream, cuts);
}

// Asserts that whole, byte-by-byte and 20 random chunkings agree; returns the outcome.
inline Outcome same_in_every_split(const Settings& s, std::string_view stream) {
  Outcome whole = run_whole(s, stream);
  EXPECT_EQ(run_bytewise(s, stream), whole) << "byte by byte differs";
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(run_random(s, stream, seed), whole) << "random chunking, seed " << seed;
  }
  return whole;
}

}  // namespace ringmx::smtp::testing
