// Fault injection at the I/O boundary: the sans-I/O writer is driven by
// hand, real pwritev/fdatasync run except where a test substitutes an error
// or a short write. Checks the reply every waiter gets and what a reader
// finds afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "core/log/log.h"
#include "delivery/spool_reader.h"
#include "delivery/spool_writer.h"
#include "delivery/sync_io.h"
#include "tests/delivery/spool_test_util.h"

namespace ringmx::delivery {
namespace {

using testing::Harness;
using testing::make_body;
using testing::make_envelope;
using testing::TempDir;

std::span<const char> sp(const std::string& s) {
  return {s.data(), s.size()};
}

// Runs requests until there are none, asking `fault` first: a value it
// returns replaces the real I/O.
using Fault = std::function<std::optional<int>(const IoRequest&)>;
void drive(MessageSink& sink, Harness& h, const Fault& fault) {
  Completions c;
  sink.take_immediate(c);
  IoRequest req;
  while (sink.next_io(req)) {
    auto injected = fault(req);
    sink.complete(req.token, injected ? *injected : execute_sync(req), c);
  }
  sink.take_immediate(c);
  h.absorb(c);
}

struct Msg {
  MessageId id;
  std::string body;
  uint64_t waiter;
};

// Starts n messages with bodies of 1..3 KiB, appended in two chunks each,
// buffer refs = waiter * 10 + chunk.
std::vector<Msg> start(ShardSpool& spool, int n, uint64_t first_waiter) {
  std::vector<Msg> out;
  for (int i = 0; i < n; ++i) {
    uint64_t w = first_waiter + i;
    out.push_back({spool.begin(), make_body(w, 1024 + 700 * (i % 3)), w});
  }
  for (Msg& m : out) {
    spool.append(m.id, sp(m.body).first(100), m.waiter * 10);
    spool.append(m.id, sp(m.body).subspan(100), m.waiter * 10 + 1);
  }
  return out;
}
void commit(ShardSpool& spool, const std::vector<Msg>& msgs) {
  for (const Msg& m : msgs)
    spool.commit(m.id, make_envelope(int(m.waiter)), m.waiter);
}

// Captures log lines for the test's lifetime.
class LogCapture {
 public:
  LogCapture() {
    char tmpl[] = "/tmp/ringmx-spool-log-XXXXXX";
    fd_ = ::mkstemp(tmpl);
    path_ = tmpl;
    log::set_fd(fd_);
  }
  ~LogCapture() {
    log::set_fd(2);
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  size_t count(std::string_view event) const {
    std::ifstream in(path_);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    size_t n = 0;
    std::string needle = "event=" + std::string(event) + " ";
    for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1))
      ++n;
    return n;
  }

 private:
  int fd_;
  std::string path_;
};

const Fault kNoFault = [](const IoRequest&) -> std::optional<int> { return std::nullopt; };

void expect_all(Harness& h, const std::vector<Msg>& msgs, CommitResult r) {
  for (const Msg& m : msgs) {
    ASSERT_TRUE(h.results.contains(m.waiter)) << "waiter " << m.waiter << " got no reply";
    EXPECT_EQ(h.results[m.waiter], r) << "waiter " << m.waiter;
  }
}

void expect_buffers_released(Harness& h, const std::vector<Msg>& msgs) {
  for (const Msg& m : msgs) {
    EXPECT_EQ(h.released.count(m.waiter * 10), 1u) << m.waiter;
    EXPECT_EQ(h.released.count(m.waiter * 10 + 1), 1u) << m.waiter;
  }
}

// The spool lists exactly these messages (and their bytes), nothing else.
void expect_spool_holds(const std::filesystem::path& root,
                        std::initializer_list<const std::vector<Msg>*> groups) {
  std::map<MessageId, const Msg*> expected;
  for (const auto* g : groups)
    for (const Msg& m : *g)
      expected[m.id] = &m;
  SpoolReader reader(root);
  std::set<MessageId> listed;
  for (const MessageView& m : reader.messages()) {
    listed.insert(m.message->id);
    auto it = expected.find(m.message->id);
    ASSERT_NE(it, expected.end()) << "spool hands on " << m.queue_id << ", which got a 4xx";
    EXPECT_EQ(reader.read_body(m), it->second->body) << m.queue_id;
  }
  EXPECT_EQ(listed.size(), expected.size());
}

class SpoolFaults : public ::testing::TestWithParam<int> {};

// ENOSPC -> 452 (no_space), EIO -> 451 (failed): the whole round, the
// messages still open on that segment, and nothing else.
TEST_P(SpoolFaults, FailedWriteRefusesItsRoundAndOpenMessagesThenANewSegmentTakesOver) {
  const int err = GetParam();
  const CommitResult expected = err == ENOSPC ? CommitResult::no_space : CommitResult::failed;
  TempDir dir;
  LogCapture logs;
  ShardSpool spool(dir.path(), 0, 64 << 20);
  Harness h(spool);
  auto good = start(spool, 3, 1);
  commit(spool, good);
  drive(spool, h, kNoFault);
  expect_all(h, good, CommitResult::committed);

  auto round = start(spool, 5, 100);
  auto still_open = start(spool, 2, 200);  // begun on the segment, not committed yet
  commit(spool, round);
  int writes = 0;
  drive(spool, h, [&](const IoRequest& r) -> std::optional<int> {
    if (r.op == IoRequest::Op::write && writes++ == 0) return -err;
    if (r.op == IoRequest::Op::fsync) ADD_FAILURE() << "fsync after a failed write";
    return std::nullopt;
  });
  expect_all(h, round, expected);
  expect_buffers_released(h, round);
  expect_buffers_released(h, still_open);  // their chunks were in the failed write
  EXPECT_EQ(logs.count("spool.segment.failed"), 1u);

  // The open ones are known to fail before their body ends...
  EXPECT_EQ(spool.refusal(still_open[0].id), expected);
  EXPECT_EQ(spool.refusal(still_open[1].id), expected);
  // ...and can still append and commit: refused at once, no I/O.
  std::string late = "more bytes";
  spool.append(still_open[0].id, sp(late), 999);
  commit(spool, still_open);
  drive(spool, h, kNoFault);
  expect_all(h, still_open, expected);
  EXPECT_EQ(h.released.count(999), 1u);

  uint64_t failed_segment = good[0].id >> 32;
  auto after = start(spool, 4, 300);
  EXPECT_NE(spool.active_sequence(), failed_segment);
  EXPECT_EQ(spool.refusal(after[0].id), std::nullopt);
  commit(spool, after);
  drive(spool, h, kNoFault);
  expect_all(h, after, CommitResult::committed);

  // A reader finds exactly the messages that got `committed`.
  expect_spool_holds(dir.path(), {&good, &after});
}

INSTANTIATE_TEST_SUITE_P(Errno, SpoolFaults, ::testing::Values(ENOSPC, EIO),
                         [](const auto& info) { return info.param == ENOSPC ? "ENOSPC" : "EIO"; });

// A failed fdatasync: its round, the round written while it ran (write
// completing after the failure) and the round not yet written all get 451;
// the rounds synced before keep their 250 and stay in the spool; the
// written-but-refused messages are marked done so no reader hands them on.
TEST(SpoolFsyncFault, FailedFsyncRefusesEverythingNotYetDurable) {
  TempDir dir;
  LogCapture logs;
  ShardSpool spool(dir.path(), 0, 64 << 20);
  Harness h(spool);
  auto durable = start(spool, 3, 1);
  commit(spool, durable);
  drive(spool, h, kNoFault);
  expect_all(h, durable, CommitResult::committed);

  Completions c;
  auto round1 = start(spool, 4, 100);
  commit(spool, round1);
  IoRequest w1, f1, w2;
  ASSERT_TRUE(spool.next_io(w1));
  spool.complete(w1.token, execute_sync(w1), c);
  ASSERT_TRUE(spool.next_io(f1));
  ASSERT_EQ(f1.op, IoRequest::Op::fsync);
  auto round2 = start(spool, 3, 200);
  commit(spool, round2);
  ASSERT_TRUE(spool.next_io(w2));  // in flight while f1 fails
  ASSERT_EQ(w2.op, IoRequest::Op::write);
  int w2_result = execute_sync(w2);
  auto round3 = start(spool, 2, 300);  // queued, never submitted
  commit(spool, round3);

  spool.complete(f1.token, -EIO, c);
  h.absorb(c);
  expect_all(h, round1, CommitResult::failed);
  expect_all(h, round3, CommitResult::failed);
  for (const Msg& m : round2)
    EXPECT_FALSE(h.results.contains(m.waiter));
  IoRequest none;
  EXPECT_FALSE(spool.next_io(none));  // nothing more goes to the failed segment
  // round2's buffers belong to the kernel until its write completes.
  for (const Msg& m : round2)
    EXPECT_EQ(h.released.count(m.waiter * 10), 0u);
  spool.complete(w2.token, w2_result, c);
  h.absorb(c);
  expect_all(h, round2, CommitResult::failed);
  expect_buffers_released(h, round1);
  expect_buffers_released(h, round2);
  expect_buffers_released(h, round3);
  EXPECT_EQ(spool.in_flight(), 0u);
  EXPECT_EQ(logs.count("spool.segment.failed"), 1u);

  auto after = start(spool, 2, 400);
  commit(spool, after);
  drive(spool, h, kNoFault);
  expect_all(h, after, CommitResult::committed);
  expect_spool_holds(dir.path(), {&durable, &after});
}

// A short write whose continuation is not yet submitted when the fsync
// fails: it is never resubmitted, so its commits and buffers end at once.
TEST(SpoolFsyncFault, FailedFsyncEndsAShortWriteAwaitingItsContinuation) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 64 << 20);
  Harness h(spool);
  Completions c;
  auto round1 = start(spool, 2, 100);
  commit(spool, round1);
  IoRequest w1, f1, w2;
  ASSERT_TRUE(spool.next_io(w1));
  spool.complete(w1.token, execute_sync(w1), c);
  ASSERT_TRUE(spool.next_io(f1));
  auto round2 = start(spool, 2, 200);
  commit(spool, round2);
  ASSERT_TRUE(spool.next_io(w2));
  IoRequest part = w2;
  part.iov = w2.iov.first(1);  // the first record header only
  spool.complete(w2.token, execute_sync(part), c);
  spool.complete(f1.token, -EIO, c);
  h.absorb(c);
  expect_all(h, round1, CommitResult::failed);
  expect_all(h, round2, CommitResult::failed);
  expect_buffers_released(h, round2);
  IoRequest none;
  EXPECT_FALSE(spool.next_io(none));
  EXPECT_EQ(spool.in_flight(), 0u);
}

TEST(SpoolFsyncFault, FsyncEnospcIsNoSpace) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 64 << 20);
  Harness h(spool);
  auto round = start(spool, 3, 1);
  commit(spool, round);
  drive(spool, h, [](const IoRequest& r) -> std::optional<int> {
    if (r.op == IoRequest::Op::fsync) return -ENOSPC;
    return std::nullopt;
  });
  expect_all(h, round, CommitResult::no_space);
  expect_spool_holds(dir.path(), {});
}

// pwritev may write less than asked: the writer continues from there.
TEST(SpoolShortWrite, ContinuesWhereTheKernelStopped) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 64 << 20);
  Harness h(spool);
  auto msgs = start(spool, 20, 1);
  commit(spool, msgs);
  int writes = 0;
  drive(spool, h, [&](const IoRequest& r) -> std::optional<int> {
    if (r.op != IoRequest::Op::write) return std::nullopt;
    ++writes;
    // Write at most 997 bytes of what was asked (cutting records anywhere).
    std::vector<iovec> part;
    size_t left = 997;
    for (const iovec& v : r.iov) {
      if (left == 0) break;
      size_t n = std::min(left, v.iov_len);
      part.push_back({v.iov_base, n});
      left -= n;
    }
    IoRequest cut = r;
    cut.iov = part;
    return execute_sync(cut);
  });
  EXPECT_GT(writes, 20);
  expect_all(h, msgs, CommitResult::committed);
  expect_buffers_released(h, msgs);
  expect_spool_holds(dir.path(), {&msgs});
}

}  // namespace
}  // namespace ringmx::delivery
