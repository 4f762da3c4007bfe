// The per-shard message sink the runtime drives: the durable spool writer
// (ShardSpool) and the `delivery.mode = discard` sink share one interface.
//
// The writer is sans-I/O. It never writes or syncs by itself on the hot
// path: the runtime pulls I/O requests with next_io(), submits them on its
// ring (or SyncIo runs them with pwritev/fdatasync), and feeds each result
// back with complete(). Only opening and rotating a segment file use plain
// syscalls inside the writer: that happens once per segment-size bytes, off
// the per-message path.
//
// Lifecycle of one message, as the runtime sees it:
//   id = sink.begin();                         at end of DATA command (354)
//   sink.append(id, view, buffer_ref);         per body chunk, a view into a
//                                              receive buffer (zero copy)
//   sink.commit(id, envelope, waiter);         at <CRLF>.<CRLF>
//   ... later, from complete() or take_immediate():
//   Completions::commits {waiter, committed}   -> "250 2.0.0 Ok: queued as <queue_id>"
//                        {waiter, no_space}    -> "452 4.3.1 ..."
//                        {waiter, failed}      -> "451 4.3.0 ..."
//   Completions::released_buffers              -> give these buffers back to the buffer ring
// or sink.abort(id) on RSET, disconnect or a size limit: nothing is kept.
//
// Durability: a waiter gets `committed` only after an fdatasync that was
// submitted after its commit record's write completed has itself completed.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/envelope.h"

namespace ringmx::delivery {

// Per shard, unique for the shard's lifetime and beyond: the segment
// sequence number in the high 32 bits, the message number inside the
// segment in the low 32 bits. Also the id stored in every record.
using MessageId = uint64_t;

struct IoRequest {
  enum class Op { write, fsync };
  Op op = Op::write;
  int fd = -1;
  uint64_t offset = 0;         // write only: file offset of iov[0]
  std::span<const iovec> iov;  // write only: owned by the sink until complete(token)
  uint64_t token = 0;          // hand back to complete()
};

enum class CommitResult {
  committed,  // durable: reply 250
  no_space,   // ENOSPC: reply 452 4.3.1
  failed,     // EIO, failed fsync, unusable segment: reply 451 4.3.0
};
std::string_view to_string(CommitResult);

struct FinishedCommit {
  uint64_t waiter = 0;
  CommitResult result = CommitResult::failed;
  MessageId id = 0;
};

// What one complete()/take_immediate() call finished. Appended to, never
// cleared by the sink: the caller clears it when it has acted on it.
struct Completions {
  std::vector<uint64_t> released_buffers;  // buffer_refs nothing refers to any more
  std::vector<FinishedCommit> commits;
  void clear() {
    released_buffers.clear();
    commits.clear();
  }
  bool empty() const { return released_buffers.empty() && commits.empty(); }
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;

  virtual MessageId begin() = 0;
  // Keeps the view (not a copy) until the write carrying it completes, then
  // reports buffer_ref in Completions::released_buffers. An empty view is
  // allowed and released at once.
  virtual void append(MessageId id, std::span<const char> bytes, uint64_t buffer_ref) = 0;
  // Ends the message. `env` is copied; its queue_id and size are set by the sink.
  virtual void commit(MessageId id, const Envelope& env, uint64_t waiter) = 0;
  // Forgets the message; its chunks already on disk stay garbage (no commit
  // record). Its buffers are still released through Completions.
  virtual void abort(MessageId id) = 0;

  // The next I/O to submit, or false when there is none now. Call until false
  // after every begin/append/commit/abort/complete batch.
  virtual bool next_io(IoRequest& req) = 0;
  // `result`: bytes written (write) or 0 (fsync), or -errno.
  virtual void complete(uint64_t token, int result, Completions& out) = 0;
  // Results that needed no I/O: the discard sink's commits, commits and
  // buffers of messages refused because their segment had failed.
  virtual void take_immediate(Completions& out) = 0;

  // Set when the message is already known to fail (its segment failed, or
  // no segment could be opened): the runtime may answer DATA or the end of
  // data with the matching 4xx without waiting for the body. commit() still
  // reports it. nullopt for a message that can still be committed.
  virtual std::optional<CommitResult> refusal(MessageId) const { return std::nullopt; }

  // The queue id shown to the client and in the spool tools, e.g. "00000003A000002F".
  virtual std::string queue_id(MessageId id) const = 0;
  // I/O submitted and not yet completed; the runtime drains to zero before exit.
  virtual size_t in_flight() const = 0;
};

// `delivery.mode = discard`: every commit is `committed` at once and every
// buffer released at once. For load tests only; the runtime logs it loudly.
class DiscardSink final : public MessageSink {
 public:
  explicit DiscardSink(unsigned shard_id) : shard_(shard_id) {}
  MessageId begin() override { return ++next_; }
  void append(MessageId id, std::span<const char> bytes, uint64_t buffer_ref) override;
  void commit(MessageId id, const Envelope& env, uint64_t waiter) override;
  void abort(MessageId) override {}
  bool next_io(IoRequest&) override { return false; }
  void complete(uint64_t, int, Completions&) override {}
  void take_immediate(Completions& out) override;
  std::string queue_id(MessageId id) const override;
  size_t in_flight() const override { return 0; }

 private:
  unsigned shard_;
  MessageId next_ = 0;
  Completions ready_;
};

// The durable spool of one shard: <spool>/<shard>/<sequence>.seg, append
// only, rotated at segment_size, group-committed (see the top of this file).
class ShardSpool final : public MessageSink {
 public:
  // Creates <spool_path>/<shard_id>/ if needed, takes the shard's lock file
  // (one process per shard directory), scans the existing segments (logs
  // what it found) and opens a new segment. Throws std::system_error when
  // the directory cannot be used.
  ShardSpool(std::filesystem::path spool_path, unsigned shard_id, uint64_t segment_size);
  ~ShardSpool() override;
  ShardSpool(const ShardSpool&) = delete;
  ShardSpool& operator=(const ShardSpool&) = delete;

  MessageId begin() override;
  void append(MessageId id, std::span<const char> bytes, uint64_t buffer_ref) override;
  void commit(MessageId id, const Envelope& env, uint64_t waiter) override;
  void abort(MessageId id) override;
  bool next_io(IoRequest& req) override;
  void complete(uint64_t token, int result, Completions& out) override;
  void take_immediate(Completions& out) override;
  std::string queue_id(MessageId id) const override;
  size_t in_flight() const override;
  std::optional<CommitResult> refusal(MessageId id) const override;

  unsigned shard_id() const { return shard_; }
  // Sequence number of the segment new messages go to (0 when none is open).
  uint64_t active_sequence() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned shard_;
};

// Builds the sink the configuration asks for.
enum class SinkMode { spool, discard };
std::unique_ptr<MessageSink> make_sink(SinkMode mode, const std::filesystem::path& spool_path,
                                       unsigned shard_id, uint64_t segment_size);

// Formats a queue id: shard (2 hex digits), segment sequence (8), message
// number (6): 16 upper-case hex digits. parse_queue_id is its inverse.
std::string format_queue_id(unsigned shard, MessageId id);
bool parse_queue_id(std::string_view text, unsigned& shard, MessageId& id);

}  // namespace ringmx::delivery
