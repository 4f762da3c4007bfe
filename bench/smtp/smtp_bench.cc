// SMTP engine benchmarks.
//   Pipelined/…      parse-and-reply throughput of whole transactions
//                    (MAIL, RCPT, DATA, 1 KiB body, end), fed in 16 KiB reads,
//                    each message committed as soon as it ends.
//   BodyScan/N       DATA content scanning (line ends, dot and CR checks,
//                    chunk emission) over an N-byte buffer of 78-octet lines.
//   Memchr/N         the reference beside it: one memchr over the same buffer
//                    for an octet it does not hold (the memory's speed).
//   MemchrLines/N    memchr for every '\n' in the same buffer (the least any
//                    line scanner must do).
//   ReplyFormat      append_reply(), the engine's one reply writer, over the
//                    replies of a typical transaction (EHLO's lines, MAIL,
//                    RCPT, DATA, queued-as, QUIT); items = reply lines.
//   ReplyFormatFmt   the same lines through fmt::format_to (the baseline
//                    append_reply replaced).
// bench/smtp/compare.py runs them and prints the ratios.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "protocols/smtp/reply.h"
#include "protocols/smtp/session.h"

namespace {

using namespace ringmx::smtp;

class Ids : public MessageIds {
 public:
  MessageTicket next() override { return {++n, "00000001A0000001"}; }
  uint64_t n = 0;
};
class FixedClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795652740));
  }
};

ConnectionInfo client() {
  return {"192.0.2.7:41234", "192.0.2.7", "198.51.100.1:25", false, {}};
}

// Mail-like content: a short header section, then 76-character lines.
std::string make_body(size_t size) {
  std::string b = "From: a@example.org\r\nTo: b@example.com\r\nSubject: bench\r\n\r\n";
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  while (b.size() < size) {
    b += kAlphabet[i++ % 64];
    if (b.size() % 78 == 76) b += "\r\n";
  }
  b.resize(size);
  return b;
}

void Pipelined(benchmark::State& state) {
  Settings s;
  s.hostname = "mx.example.com";
  s.max_messages = kMaxMessages.max;
  s.transfer_limit = kTransferLimit.max;
  std::string tx =
      "MAIL FROM:<alice@example.org> SIZE=1100\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" +
      make_body(1024) + "\r\n.\r\n";
  std::string stream;
  while (stream.size() < 1 << 20)
    stream += tx;
  size_t per_stream = stream.size() / tx.size();
  Ids ids;
  FixedClock clock;
  Output out;
  out.replies.reserve(1 << 16);
  out.actions.reserve(1 << 12);
  Session session(s, ids, clock, client());
  session.start(out);
  session.receive(std::string_view("EHLO client.example.org\r\n"), out);
  out.clear();
  size_t replies = 0;
  for (auto _ : state) {
    for (size_t off = 0; off < stream.size(); off += 16384) {
      size_t n = std::min<size_t>(16384, stream.size() - off);
      session.receive(std::span<const char>(stream.data() + off, n), out);
      while (session.pending_commits() > 0)
        session.commit_result(CommitResult::committed, out);
      replies += out.replies.size();
      out.clear();
    }
  }
  benchmark::DoNotOptimize(replies);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_stream));  // messages
  state.counters["commands/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * per_stream * 4), benchmark::Counter::kIsRate);
}
BENCHMARK(Pipelined)->Unit(benchmark::kMillisecond);

void BodyScan(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  Settings s;
  s.hostname = "mx.example.com";
  s.max_message_size = kMaxMessageSize.max;
  s.transfer_limit = kTransferLimit.max;
  std::string body = make_body(size);
  Ids ids;
  FixedClock clock;
  Output out;
  out.actions.reserve(64);
  Session session(s, ids, clock, client());
  session.start(out);
  session.receive(std::string_view(
                      "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"),
                  out);
  out.clear();
  // The same message goes on growing: each iteration scans `size` more content
  // octets (no ".\r\n" line in it), as one receive() call.
  for (auto _ : state) {
    session.receive(std::string_view(body), out);
    benchmark::DoNotOptimize(out.actions.data());
    out.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void Memchr(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::string body = make_body(size);
  for (auto _ : state) {
    const void* p = std::memchr(body.data(), '\0', body.size());
    benchmark::DoNotOptimize(p);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void MemchrLines(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::string body = make_body(size);
  for (auto _ : state) {
    const char* p = body.data();
    const char* end = p + body.size();
    size_t lines = 0;
    while (const char* lf = static_cast<const char*>(std::memchr(p, '\n', end - p))) {
      ++lines;
      p = lf + 1;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

#define SIZES ->Arg(1 << 10)->Arg(64 << 10)->Arg(10 << 20)
BENCHMARK(BodyScan) SIZES;
BENCHMARK(Memchr) SIZES;
BENCHMARK(MemchrLines) SIZES;

}  // namespace

const std::vector<Reply>& typical_replies() {
  static const std::vector<Reply> r = {
      {220, {}, "mx.example.com", " ringmx ESMTP"},
      {250, {}, "mx.example.com", {}, true},
      {250, {}, "PIPELINING", {}, true},
      {250, {}, "SIZE 104857600", {}, true},
      {250, {}, "8BITMIME", {}, true},
      {250, {}, "ENHANCEDSTATUSCODES", {}, true},
      {250, {}, "CHUNKING"},
      {250, "2.1.0", "Ok"},
      {250, "2.1.5", "Ok"},
      {354, {}, "End data with <CR><LF>.<CR><LF>"},
      {250, "2.0.0", "Ok: queued as ", "0000000100000001A"},
      {221, "2.0.0", "Bye"},
  };
  return r;
}

template <typename Write>
void format_replies(benchmark::State& state, Write write) {
  const std::vector<Reply>& replies = typical_replies();
  std::string out;
  size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    for (const Reply& r : replies)
      write(out, r);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * replies.size()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void ReplyFormat(benchmark::State& state) {
  format_replies(state, [](std::string& out, const Reply& r) { append_reply(out, r); });
}
BENCHMARK(ReplyFormat);

void ReplyFormatFmt(benchmark::State& state) {
  format_replies(state, [](std::string& out, const Reply& r) {
    auto it = std::back_inserter(out);
    if (r.enhanced.empty())
      fmt::format_to(it, "{}{}{}{}\r\n", r.code, r.more ? '-' : ' ', r.text, r.detail);
    else
      fmt::format_to(it, "{}{}{} {}{}\r\n", r.code, r.more ? '-' : ' ', r.enhanced, r.text,
                     r.detail);
  });
}
BENCHMARK(ReplyFormatFmt);

BENCHMARK_MAIN();
