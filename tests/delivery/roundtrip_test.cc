// Writing through ShardSpool and reading back with SpoolReader: bytes,
// envelopes, buffer release and the group-commit rules.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "delivery/segment_file.h"
#include "delivery/spool_reader.h"
#include "delivery/spool_writer.h"
#include "delivery/sync_io.h"
#include "delivery/uring_io.h"
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

struct Written {
  std::string body;
  Envelope env;
  uint64_t waiter;
  MessageId id;
};

// Appends every message in chunks of random sizes, round-robin across
// messages (so records of all of them interleave in the file), running the
// I/O every few appends the way a busy shard would.
std::vector<Written> write_interleaved(ShardSpool& spool, Harness& h,
                                       const std::vector<size_t>& sizes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Written> msgs;
  std::vector<size_t> pos(sizes.size(), 0);
  for (size_t i = 0; i < sizes.size(); ++i)
    msgs.push_back({make_body(seed + i, sizes[i]), make_envelope(int(i)), 1000 + i, spool.begin()});
  uint64_t next_ref = 1;
  size_t open = sizes.size(), appends = 0;
  while (open > 0) {
    for (size_t i = 0; i < msgs.size(); ++i) {
      if (pos[i] == SIZE_MAX) continue;
      Written& w = msgs[i];
      size_t left = w.body.size() - pos[i];
      size_t n = std::min<size_t>(left, 1 + rng() % (rng() % 4 == 0 ? 65536 : 4096));
      if (n > 0) {
        uint64_t ref = next_ref++;
        spool.append(w.id, sp(w.body).subspan(pos[i], n), ref);
        // Zero copy: nothing is released before the write carrying it ran.
        Completions c;
        spool.take_immediate(c);
        EXPECT_TRUE(c.released_buffers.empty());
        pos[i] += n;
      }
      if (pos[i] == w.body.size()) {
        spool.commit(w.id, w.env, w.waiter);
        pos[i] = SIZE_MAX;
        --open;
      }
      if (++appends % 7 == 0) h.run();
    }
  }
  h.run();
  return msgs;
}

void expect_read_back(const std::filesystem::path& root, const std::vector<Written>& msgs,
                      ShardSpool& spool) {
  SpoolReader reader(root);
  EXPECT_EQ(reader.messages().size(), msgs.size());
  for (const Written& w : msgs) {
    std::string qid = spool.queue_id(w.id);
    auto m = reader.find(qid);
    ASSERT_TRUE(m) << qid;
    EXPECT_EQ(m->message->length, w.body.size());
    std::string back = reader.read_body(*m);
    ASSERT_EQ(back.size(), w.body.size()) << qid;
    EXPECT_TRUE(back == w.body) << qid << " differs";
    Envelope expected = w.env;
    expected.queue_id = qid;
    expected.size = w.body.size();
    EXPECT_EQ(m->message->envelope, expected);
  }
}

TEST(SpoolRoundTrip, EdgeSizesInterleavedReadBackByteForByte) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 64ull << 20);
  Harness h{spool};
  std::vector<size_t> sizes = {0, 1, 1024, 65536, 10u << 20};
  for (int i = 0; i < 40; ++i)
    sizes.push_back(static_cast<size_t>(i * 977));
  auto msgs = write_interleaved(spool, h, sizes, 42);
  ASSERT_EQ(h.results.size(), msgs.size());
  for (const Written& w : msgs)
    EXPECT_EQ(h.results[w.waiter], CommitResult::committed);
  // Every appended buffer came back exactly once.
  std::set<uint64_t> unique(h.released.begin(), h.released.end());
  EXPECT_EQ(unique.size(), h.released.size());
  EXPECT_EQ(h.released.size(), *unique.rbegin());
  EXPECT_EQ(spool.in_flight(), 0u);
  expect_read_back(dir.path(), msgs, spool);
}

TEST(SpoolRoundTrip, RotatesSegmentsAndClosesTheOldOnes) {
  TempDir dir;
  ShardSpool spool(dir.path(), 3, 8192);  // tiny segments: rotation every few messages
  Harness h{spool};
  std::vector<size_t> sizes(60, 1024);
  auto msgs = write_interleaved(spool, h, sizes, 7);
  // One batch of concurrent messages all started in the first segment; now
  // write them one by one so each begin() sees a full segment.
  for (int i = 0; i < 30; ++i) {
    Written w{make_body(500 + i, 1024), make_envelope(i), 5000u + i, spool.begin()};
    spool.append(w.id, sp(w.body), 90000 + i);
    spool.commit(w.id, w.env, w.waiter);
    h.run();
    msgs.push_back(std::move(w));
  }
  for (const Written& w : msgs)
    EXPECT_EQ(h.results[w.waiter], CommitResult::committed);
  auto seqs = list_segments(shard_dir(dir.path(), 3));
  EXPECT_GT(seqs.size(), 5u);
  // Only the active segment is still locked by the writer.
  for (uint64_t seq : seqs) {
    bool active = segment_is_active(shard_dir(dir.path(), 3) / segment_file_name(seq));
    EXPECT_EQ(active, seq == spool.active_sequence()) << seq;
  }
  expect_read_back(dir.path(), msgs, spool);
}

// A message begun before a rotation stays in its segment: it commits
// there, and the old segment is closed (its lock dropped) once it drains.
TEST(SpoolRoundTrip, MessageOpenAcrossRotationCommitsInItsOwnSegment) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 4096);
  Harness h(spool);
  std::string slow = make_body(1, 5000), fill = make_body(2, 5000);
  MessageId a = spool.begin();
  spool.append(a, sp(slow).first(100), 1);
  MessageId b = spool.begin();  // same segment, fills it past 4096
  spool.append(b, sp(fill), 2);
  spool.commit(b, make_envelope(2), 20);
  h.run();
  uint64_t first = a >> 32;
  MessageId c = spool.begin();  // rotates
  EXPECT_NE(c >> 32, first);
  spool.append(c, sp(fill), 3);
  spool.commit(c, make_envelope(3), 30);
  h.run();
  auto seg1 = shard_dir(dir.path(), 0) / segment_file_name(first);
  EXPECT_TRUE(segment_is_active(seg1));  // `a` still writes there
  spool.append(a, sp(slow).subspan(100), 4);
  spool.commit(a, make_envelope(1), 10);
  h.run();
  EXPECT_FALSE(segment_is_active(seg1));  // drained and closed
  for (uint64_t w : {10, 20, 30})
    EXPECT_EQ(h.results[w], CommitResult::committed) << w;
  SpoolReader reader(dir.path());
  auto m = reader.find(spool.queue_id(a));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->segment->sequence, first);
  EXPECT_EQ(reader.read_body(*m), slow);
  EXPECT_EQ(reader.messages().size(), 3u);
}

TEST(SpoolRoundTrip, AbortedAndUnfinishedMessagesAreNotVisible) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 1 << 20);
  Harness h{spool};
  std::string a = make_body(1, 3000), b = make_body(2, 3000), c = make_body(3, 100);
  MessageId ia = spool.begin(), ib = spool.begin(), ic = spool.begin();
  spool.append(ia, sp(a), 1);
  spool.append(ib, sp(b), 2);
  spool.append(ic, sp(c), 3);
  spool.abort(ib);
  spool.commit(ia, make_envelope(1), 10);
  h.run();  // c never commits: its bytes are written but stay garbage
  EXPECT_EQ(h.results[10], CommitResult::committed);
  EXPECT_EQ(h.released.size(), 3u);  // the aborted message's buffer too
  SpoolReader reader(dir.path());
  auto all = reader.messages();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].queue_id, spool.queue_id(ia));
  EXPECT_EQ(reader.read_body(all[0]), a);
  ASSERT_EQ(reader.segments().size(), 1u);
  EXPECT_EQ(reader.segments()[0].scan.garbage_messages, 2u);
  EXPECT_TRUE(reader.segments()[0].active);
}

// The group-commit contract, step by step: one fdatasync per round, the
// next round gathers while it runs, nobody is told `committed` early.
TEST(SpoolGroupCommit, OneFsyncPerRoundAndNoEarlyCommit) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 64 << 20);
  std::string body = make_body(9, 1024);
  auto commit_n = [&](int n, uint64_t first_waiter) {
    for (int i = 0; i < n; ++i) {
      MessageId id = spool.begin();
      spool.append(id, sp(body), first_waiter + i);
      spool.commit(id, make_envelope(i), first_waiter + i);
    }
  };
  commit_n(64, 0);
  IoRequest w;
  ASSERT_TRUE(spool.next_io(w));
  EXPECT_EQ(w.op, IoRequest::Op::write);
  EXPECT_EQ(w.iov.size(), 64u * 4);  // header+body, header+commit payload per message
  IoRequest none;
  EXPECT_FALSE(spool.next_io(none));  // one write at a time, no fsync before it completes
  Completions c;
  spool.complete(w.token, execute_sync(w), c);
  EXPECT_TRUE(c.commits.empty());
  EXPECT_EQ(c.released_buffers.size(), 64u);
  IoRequest f1;
  ASSERT_TRUE(spool.next_io(f1));
  EXPECT_EQ(f1.op, IoRequest::Op::fsync);

  commit_n(10, 100);  // the next round gathers while f1 runs
  IoRequest w2;
  ASSERT_TRUE(spool.next_io(w2));
  EXPECT_EQ(w2.op, IoRequest::Op::write);
  spool.complete(w2.token, execute_sync(w2), c);
  EXPECT_FALSE(spool.next_io(none));  // its fsync waits for f1
  EXPECT_TRUE(c.commits.empty());

  spool.complete(f1.token, execute_sync(f1), c);
  ASSERT_EQ(c.commits.size(), 64u);  // exactly the first round
  for (const auto& fc : c.commits) {
    EXPECT_LT(fc.waiter, 64u);
    EXPECT_EQ(fc.result, CommitResult::committed);
  }
  c.clear();
  IoRequest f2;
  ASSERT_TRUE(spool.next_io(f2));
  EXPECT_EQ(f2.op, IoRequest::Op::fsync);
  spool.complete(f2.token, execute_sync(f2), c);
  ASSERT_EQ(c.commits.size(), 10u);
  for (const auto& fc : c.commits)
    EXPECT_GE(fc.waiter, 100u);
  EXPECT_FALSE(spool.next_io(none));
  EXPECT_EQ(spool.in_flight(), 0u);
}

// The io_uring driver (the path the server and the benchmark take) runs
// the same requests: writev and fsync(DATASYNC) SQEs, results fed back.
TEST(SpoolUring, ConcurrentMessagesCommitAndReadBack) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 64 << 10);  // rotates a few times
  UringIo ring(8);                            // fewer SQEs than requests at times: submits in steps
  Harness h(spool);
  std::vector<Written> msgs;
  msgs.reserve(20 * 16);  // the writer holds views into the bodies: no reallocation
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 16; ++i) {
      int n = round * 16 + i;
      msgs.push_back(
          {make_body(n, size_t(n * 37 % 5000)), make_envelope(n), uint64_t(n), spool.begin()});
    }
    for (size_t i = msgs.size() - 16; i < msgs.size(); ++i) {
      spool.append(msgs[i].id, sp(msgs[i].body), i);
      spool.commit(msgs[i].id, msgs[i].env, msgs[i].waiter);
    }
    Completions c;
    ring.run_once(spool, c, false);  // submit, then let the next round gather
    h.absorb(c);
  }
  Completions c;
  ring.drain(spool, c);
  h.absorb(c);
  EXPECT_EQ(ring.in_flight(), 0u);
  EXPECT_EQ(spool.in_flight(), 0u);
  for (const Written& w : msgs)
    EXPECT_EQ(h.results[w.waiter], CommitResult::committed);
  expect_read_back(dir.path(), msgs, spool);
}

TEST(SpoolWriter, SecondWriterOnTheSameShardIsRefused) {
  TempDir dir;
  ShardSpool spool(dir.path(), 0, 1 << 20);
  EXPECT_THROW(ShardSpool(dir.path(), 0, 1 << 20), std::system_error);
  ShardSpool other_shard(dir.path(), 1, 1 << 20);  // shards do not share anything
  EXPECT_NE(other_shard.active_sequence(), 0u);
}

TEST(DiscardSink, CommitsAndReleasesAtOnceWithoutIo) {
  auto sink = make_sink(SinkMode::discard, "/nonexistent", 2, 0);
  Harness h{*sink};
  MessageId id = sink->begin();
  std::string body = "Subject: x\r\n\r\nbody\r\n";
  sink->append(id, sp(body), 77);
  sink->commit(id, make_envelope(0), 5);
  IoRequest req;
  EXPECT_FALSE(sink->next_io(req));
  h.run();
  EXPECT_EQ(h.results[5], CommitResult::committed);
  EXPECT_EQ(h.released.count(77), 1u);
  EXPECT_EQ(sink->queue_id(id).substr(0, 2), "02");
}

}  // namespace
}  // namespace ringmx::delivery
