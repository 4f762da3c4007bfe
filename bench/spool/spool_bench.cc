// Spool benchmarks. Run from a build directory:
//   bench/spool/spool_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Files go under $RINGMX_BENCH_DIR (default: the system temp directory);
// put it on the disk the spool will use, fsync cost is the point.
//
// BM_SpoolCommit/writers:N   N sessions, each with one 1 KiB message in
//                            flight, through ShardSpool on io_uring
//                            (writev + fsync(DATASYNC) SQEs): commits/s.
// BM_FilePerMessage          the baseline: one new file, write, fdatasync,
//                            close per 1 KiB message (the Postfix way).
// BM_ScanSegment             the recovery scan of one 64 MiB segment of 1 KiB messages.
// BM_Crc32c/bytes:N          the spool's CRC32C over one N-byte buffer (16 KiB: one
//                            receive buffer or TLS record; 1 MiB), bytes/s; the
//                            label says whether the SSE4.2 instruction ran.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/log/log.h"
#include "delivery/crc32c.h"
#include "delivery/segment_file.h"
#include "delivery/segment_scan.h"
#include "delivery/spool_writer.h"
#include "delivery/sync_io.h"
#include "delivery/uring_io.h"

namespace ringmx::delivery {
namespace {

namespace fs = std::filesystem;
constexpr size_t kMessageSize = 1024;

fs::path bench_root() {
  const char* env = std::getenv("RINGMX_BENCH_DIR");
  fs::path base = env ? fs::path(env) : fs::temp_directory_path();
  std::string tmpl = (base / "ringmx-spool-bench-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  return tmpl;
}

const std::string& message() {
  static const std::string m = [] {
    std::string s = "Subject: benchmark\r\n\r\n";
    while (s.size() < kMessageSize)
      s += "0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM\r\n";
    s.resize(kMessageSize - 2);
    return s + "\r\n";
  }();
  return m;
}

Envelope envelope() {
  Envelope e;
  e.received_at = "2026-11-26T00:25:40.123Z";
  e.listener = "mx";
  e.client = "192.0.2.7:40000";
  e.helo = "client.example";
  e.tls = "none";
  e.mail_from = "sender@example.org";
  e.rcpt_to.push_back({"rcpt@example.net", ""});
  return e;
}

void BM_SpoolCommit(benchmark::State& state) {
  log::set_level(log::Level::warn);
  const size_t writers = static_cast<size_t>(state.range(0));
  const size_t per_iteration = std::max<size_t>(200, writers * 20);
  fs::path root = bench_root();
  const Envelope env = envelope();
  const std::span<const char> body(message());
  size_t commits = 0, rounds = 0;
  {
    ShardSpool spool(root, 0, 64ull << 20);
    UringIo ring(256);
    Completions done;
    std::vector<bool> busy(writers, false);
    std::vector<size_t> idle;
    for (auto _ : state) {
      size_t finished = 0;
      idle.clear();
      for (size_t w = 0; w < writers; ++w)
        idle.push_back(w);
      size_t started = 0;
      while (finished < per_iteration) {
        // Every idle session sends its next message: DATA, body, end.
        while (!idle.empty() && started < per_iteration) {
          size_t w = idle.back();
          idle.pop_back();
          MessageId id = spool.begin();
          spool.append(id, body, w);
          spool.commit(id, env, w);
          ++started;
        }
        ring.run_once(spool, done, true);
        ++rounds;
        for (const FinishedCommit& f : done.commits) {
          if (f.result != CommitResult::committed) {
            state.SkipWithError("commit failed");
            return;
          }
          idle.push_back(f.waiter);
          ++finished;
        }
        done.clear();
      }
      commits += finished;
    }
    ring.drain(spool, done);
  }
  state.SetItemsProcessed(static_cast<int64_t>(commits));
  state.counters["commits_per_s"] =
      benchmark::Counter(static_cast<double>(commits), benchmark::Counter::kIsRate);
  state.counters["ring_rounds_per_commit"] = static_cast<double>(rounds) / commits;
  fs::remove_all(root);
}
BENCHMARK(BM_SpoolCommit)
    ->ArgName("writers")
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->Arg(512)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

void BM_FilePerMessage(benchmark::State& state) {
  fs::path root = bench_root();
  const std::string& body = message();
  uint64_t n = 0;
  for (auto _ : state) {
    std::string path = (root / std::to_string(n++)).string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, body.data(), body.size()) != ssize_t(body.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("file write failed");
      break;
    }
    ::close(fd);
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["commits_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  fs::remove_all(root);
}
BENCHMARK(BM_FilePerMessage)->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(1.0);

void BM_ScanSegment(benchmark::State& state) {
  log::set_level(log::Level::warn);
  fs::path root = bench_root();
  fs::path file;
  size_t written = 0;
  {
    ShardSpool spool(root, 0, 64ull << 20);
    const Envelope env = envelope();
    Completions done;
    uint64_t seq = spool.active_sequence();
    file = shard_dir(root, 0) / segment_file_name(seq);
    while (fs::file_size(file) < (64ull << 20) - 4096) {
      for (int i = 0; i < 256; ++i) {
        MessageId id = spool.begin();
        if ((id >> 32) != seq) {  // rotated: stop at one full segment
          spool.abort(id);
          break;
        }
        spool.append(id, message(), 0);
        spool.commit(id, env, 0);
        ++written;
      }
      run_sync(spool, done);
      done.clear();
      if (spool.active_sequence() != seq) break;
    }
  }
  size_t found = 0;
  for (auto _ : state) {
    SegmentScan s = scan_segment_file(file);
    found = s.messages.size();
    benchmark::DoNotOptimize(s);
  }
  state.counters["segment_MiB"] = static_cast<double>(fs::file_size(file)) / (1 << 20);
  state.counters["messages"] = static_cast<double>(found);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * fs::file_size(file)));
  fs::remove_all(root);
}
BENCHMARK(BM_ScanSegment)->UseRealTime()->Unit(benchmark::kMillisecond);

std::vector<char> crc_input(size_t size) {
  std::vector<char> bytes(size);
  std::mt19937_64 rng(1);
  for (char& c : bytes)
    c = static_cast<char>(rng());
  return bytes;
}

void BM_Crc32c(benchmark::State& state) {
  const std::vector<char> bytes = crc_input(static_cast<size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(crc32c(bytes));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.SetLabel(crc32c_hardware() ? "sse4.2" : "table");
}
BENCHMARK(BM_Crc32c)->ArgName("bytes")->Arg(16 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace ringmx::delivery

BENCHMARK_MAIN();
