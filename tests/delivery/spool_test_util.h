// Shared helpers for the spool tests: a temporary spool directory,
// deterministic message bytes and envelopes, and a driver that runs a sink's
// I/O synchronously while checking the buffer contract.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>

#include "delivery/spool_writer.h"
#include "delivery/sync_io.h"

namespace ringmx::delivery::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ringmx-spool-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Message bytes that differ per seed and look like mail: CRLF lines of
// printable text, plus the odd 8-bit byte.
inline std::string make_body(uint64_t seed, size_t size) {
  std::string s(size, '\0');
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 1);
  for (size_t i = 0; i < size; ++i) {
    uint64_t r = rng();
    if (i % 78 == 76)
      s[i] = '\r';
    else if (i % 78 == 77)
      s[i] = '\n';
    else
      s[i] = static_cast<char>((r % 97 == 0) ? 0xE9 : 32 + (r % 95));
  }
  return s;
}

inline Envelope make_envelope(int n) {
  Envelope e;
  e.received_at = "2026-11-26T00:25:40.123Z";
  e.listener = "mx";
  e.client = "192.0.2.7:40000";
  e.helo = "client.example";
  e.tls = n % 2 ? "TLSv1.3 TLS_AES_128_GCM_SHA256" : "none";
  e.mail_from = n % 5 == 0 ? "" : "sender" + std::to_string(n) + "@example.org";
  e.mail_params = "SIZE=1000 BODY=8BITMIME";
  e.rcpt_to.push_back({"rcpt" + std::to_string(n) + "@example.net", "NOTIFY=NEVER"});
  if (n % 3 == 0) e.rcpt_to.push_back({"other@example.net", ""});
  return e;
}

// Runs a sink with execute_sync and keeps score of what it reported.
struct Harness {
  explicit Harness(MessageSink& s) : sink(s) {}
  MessageSink& sink;
  std::map<uint64_t, CommitResult> results;  // waiter -> result
  std::multiset<uint64_t> released;
  std::map<uint64_t, MessageId> ids_by_waiter;

  void absorb(Completions& c) {
    for (const auto& f : c.commits) {
      EXPECT_FALSE(results.contains(f.waiter)) << "waiter " << f.waiter << " reported twice";
      results[f.waiter] = f.result;
      ids_by_waiter[f.waiter] = f.id;
    }
    released.insert(c.released_buffers.begin(), c.released_buffers.end());
    c.clear();
  }
  void run() {
    Completions c;
    run_sync(sink, c);
    absorb(c);
  }
};

}  // namespace ringmx::delivery::testing
