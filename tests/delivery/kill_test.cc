// The kill test: a child process writes and commits under load and reports
// each committed queue id through a pipe, the way a session would send its
// 250; the parent SIGKILLs it at random moments (50 times, seeded) and after
// each kill checks that every reported message is in the spool, byte for
// byte. The kill moment is chosen by progress (after k reports, then a
// random number of yields), never by sleeping.
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/log/log.h"
#include "delivery/spool_reader.h"
#include "delivery/spool_writer.h"
#include "delivery/sync_io.h"
#include "tests/delivery/spool_test_util.h"

namespace ringmx::delivery {
namespace {

using testing::make_body;
using testing::TempDir;

constexpr int kKills = 50;
constexpr int kPollTimeoutMs = 20000;  // a stuck child fails the test instead of hanging it

// The message with this index: its size and bytes follow from the index
// alone, so the parent can check what the child wrote.
size_t size_of(uint64_t index) {
  uint64_t h = index * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  switch (h % 8) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return 40000 + h % 30000;
    default:
      return 200 + h % 4000;
  }
}

[[noreturn]] void child_writer(const std::filesystem::path& root, uint64_t first_index,
                               uint64_t seed, int report_fd) {
  log::set_level(log::Level::warn);
  ShardSpool spool(root, 0, 256 << 10);  // small segments: kills land around rotation too
  std::mt19937_64 rng(seed);
  uint64_t next = first_index;
  for (;;) {
    // A round of concurrent messages, chunks interleaved.
    size_t n = 1 + rng() % 24;
    struct Open {
      uint64_t index;
      MessageId id;
      std::string body;
      size_t pos = 0;
    };
    std::vector<Open> open;
    for (size_t i = 0; i < n; ++i) {
      uint64_t idx = next++;
      open.push_back({idx, spool.begin(), make_body(idx, size_of(idx))});
    }
    bool more = true;
    while (more) {
      more = false;
      for (Open& o : open) {
        size_t c = std::min<size_t>(o.body.size() - o.pos, 1 + rng() % 8192);
        if (c == 0) continue;
        spool.append(o.id, std::span<const char>(o.body).subspan(o.pos, c), 0);
        o.pos += c;
        more = true;
      }
    }
    for (Open& o : open) {
      Envelope e = testing::make_envelope(int(o.index % 1000));
      e.mail_from = "m" + std::to_string(o.index) + "@kill.test";
      spool.commit(o.id, e, o.index);
    }
    Completions done;
    run_sync(spool, done);
    std::string lines;
    for (const FinishedCommit& f : done.commits) {
      if (f.result != CommitResult::committed) _exit(3);
      lines += spool.queue_id(f.id) + " " + std::to_string(f.waiter) + "\n";
    }
    // Under PIPE_BUF (24 short lines): one atomic write, whole lines only.
    if (::write(report_fd, lines.data(), lines.size()) != static_cast<ssize_t>(lines.size()))
      _exit(4);
  }
}

struct Report {
  std::string queue_id;
  uint64_t index;
};

// Whole lines from `buf`, leaving a partial last line in it.
void take_lines(std::string& buf, std::vector<Report>& out) {
  size_t nl;
  while ((nl = buf.find('\n')) != std::string::npos) {
    std::istringstream line(buf.substr(0, nl));
    Report r;
    line >> r.queue_id >> r.index;
    out.push_back(r);
    buf.erase(0, nl + 1);
  }
}

void check_reported(const SpoolReader& reader, const std::vector<Report>& reports, int run) {
  for (const Report& r : reports) {
    auto m = reader.find(r.queue_id);
    ASSERT_TRUE(m) << "run " << run << ": reported " << r.queue_id << " is not in the spool";
    ASSERT_EQ(m->message->envelope.mail_from, "m" + std::to_string(r.index) + "@kill.test");
    ASSERT_TRUE(reader.read_body(*m) == make_body(r.index, size_of(r.index)))
        << "run " << run << ": " << r.queue_id << " differs";
  }
}

TEST(SpoolKill, EveryReportedCommitSurvivesSigkill) {
  uint64_t seed = 20261126;
  if (const char* s = std::getenv("RINGMX_KILL_SEED")) seed = std::strtoull(s, nullptr, 10);
  SCOPED_TRACE("RINGMX_KILL_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  TempDir dir;
  std::vector<Report> all;
  for (int run = 0; run < kKills; ++run) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    uint64_t child_seed = rng();
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_writer(dir.path(), uint64_t(run) * 1'000'000, child_seed, fds[1]);
    }
    ::close(fds[1]);
    // Kill after k reports (0: during start-up), then after a random number
    // of yields so the kill lands inside the next round's writes.
    size_t k = rng() % 200;
    std::vector<Report> reports;
    std::string buf;
    char chunk[4096];
    while (reports.size() < k) {
      pollfd p{fds[0], POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, kPollTimeoutMs), 1) << "child stalled in run " << run;
      ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      ASSERT_GT(n, 0) << "child died on its own in run " << run;
      buf.append(chunk, size_t(n));
      take_lines(buf, reports);
    }
    for (uint64_t y = rng() % 3000; y > 0; --y)
      sched_yield();
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited with " << status << " in run " << run;
    for (ssize_t n; (n = ::read(fds[0], chunk, sizeof chunk)) > 0;)
      buf.append(chunk, size_t(n));
    take_lines(buf, reports);  // what it reported just before dying counts too
    ::close(fds[0]);

    SpoolReader reader(dir.path());
    check_reported(reader, reports, run);
    if (HasFatalFailure()) return;
    all.insert(all.end(), reports.begin(), reports.end());
  }
  SpoolReader reader(dir.path());
  check_reported(reader, all, kKills);
  EXPECT_GT(all.size(), 1000u);  // the child did commit under load
  RecordProperty("reported_commits", std::to_string(all.size()));
}

}  // namespace
}  // namespace ringmx::delivery
