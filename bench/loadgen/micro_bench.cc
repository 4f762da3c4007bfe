// Google Benchmark of ringmx-bench's own per-message work in user space:
// the client session through one pipelined transaction, reply parsing, and
// a histogram record. It shows how little of a message's CPU time is ours;
// the rest is the kernel's TCP.
#include <benchmark/benchmark.h>

#include <string>

#include "bench/loadgen/client_session.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/message_catalog.h"
#include "bench/loadgen/reply_parser.h"

namespace ringmx::loadgen {
namespace {

// One message on a reused session: begin, MAIL/RCPT/DATA replies, 354,
// end-of-data reply, as smtp-sink sends them.
void BM_SessionPipelinedMessage(benchmark::State& state) {
  Options o;
  o.per_connection = 0;
  SessionPlan plan = make_plan(o);
  std::string message = MessageCatalog::build(1024);
  ClientSession session(&plan);
  session.reset();
  session.on_bytes("220 smtp-sink ESMTP\r\n");
  session.on_bytes("250-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 DSN\r\n");
  session.output().clear();
  session.events().clear();
  for (auto _ : state) {
    session.begin_message(message);
    session.on_bytes("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
    session.on_bytes("250 2.0.0 Ok: queued as 1234\r\n");
    benchmark::DoNotOptimize(session.output().data());
    session.output().clear();
    session.events().clear();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionPipelinedMessage);

void BM_ParseEhloReply(benchmark::State& state) {
  const std::string reply =
      "250-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n"
      "250-XCLIENT NAME HELO\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n"
      "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 \r\n";
  for (auto _ : state) {
    std::string_view in = reply;
    while (!in.empty()) {
      auto line = parse_reply_line(in);
      benchmark::DoNotOptimize(line.code);
      in.remove_prefix(line.consumed);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * reply.size()));
}
BENCHMARK(BM_ParseEhloReply);

void BM_HistogramRecord(benchmark::State& state) {
  Histogram h;
  Random random(1);
  for (auto _ : state)
    h.record(random.next() >> 40);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

}  // namespace
}  // namespace ringmx::loadgen

BENCHMARK_MAIN();
