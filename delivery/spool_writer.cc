// ShardSpool: the sans-I/O group-commit state machine. See spool_writer.h
// for the contract and delivery/FORMAT.md for the bytes.
//
// Per segment, at most one write and one fdatasync are in flight:
//   pending   records appended/committed since the last write was built
//   batch     the write in flight (header bytes and commit payloads owned here)
//   unsynced  commits whose write completed, waiting for the next fdatasync
//   syncing   commits covered by the fdatasync in flight
// A commit moves pending -> batch -> unsynced -> syncing -> committed, so
// its fdatasync is always submitted after its bytes reached the file.
//
// A message lives in the segment that was active at its begin(), so its
// chunks and commit record share one file; rotation sends new messages to
// a new segment while the old one drains.
#include "delivery/spool_writer.h"

#include <limits.h>
#include <string.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "core/log/log.h"
#include "delivery/crc32c.h"
#include "delivery/record.h"
#include "delivery/segment_file.h"
#include "delivery/segment_scan.h"

namespace ringmx::delivery {
namespace fs = std::filesystem;

namespace {

// The queue id gives the message number 6 hex digits.
constexpr uint32_t kMaxMessagesPerSegment = 1u << 24;
// pwritev takes at most IOV_MAX iovecs; a record needs two.
constexpr size_t kMaxIovPerWrite = IOV_MAX;
// After a failed segment open, new messages are refused (4xx) for this long
// before the next try, so a full disk is not hammered once per message.
constexpr auto kReopenBackoff = std::chrono::seconds(1);

CommitResult result_for(int err) {
  return (err == ENOSPC || err == EDQUOT) ? CommitResult::no_space : CommitResult::failed;
}

struct PendingRecord {
  RecordHeaderBytes header;
  std::span<const char> view;  // data record: into a receive buffer
  std::string owned;           // commit record: its payload
  MessageId id = 0;
  uint64_t buffer_ref = 0;
  uint64_t waiter = 0;
  bool releases = false;  // report buffer_ref once written
  bool is_commit = false;
  std::span<const char> payload() const { return is_commit ? std::span<const char>(owned) : view; }
  size_t size() const { return kRecordHeaderSize + payload().size(); }
};

struct Waiter {
  uint64_t waiter;
  MessageId id;
};

}  // namespace

struct SegmentState {
  uint64_t sequence = 0;
  Fd fd;
  uint64_t reserved_end = 0;   // where the next appended record goes
  uint64_t submitted_end = 0;  // where the next write starts
  uint32_t next_message = 0;
  size_t open_messages = 0;  // begun, neither committed nor aborted
  bool accepting = true;     // takes new messages
  bool failed = false;
  CommitResult failure = CommitResult::failed;

  std::deque<PendingRecord> pending;

  bool writing = false;
  bool resubmit = false;  // a short write left bytes to write
  std::vector<PendingRecord> batch;
  std::vector<iovec> iov;
  size_t iov_pos = 0;
  uint64_t batch_offset = 0, batch_bytes = 0, batch_done = 0;

  std::vector<Waiter> unsynced;
  std::vector<Waiter> syncing;
  bool fsyncing = false;

  std::vector<MessageId> refused;  // got a 4xx here: marked done when the segment retires

  bool idle() const {
    return open_messages == 0 && pending.empty() && !writing && !fsyncing && unsynced.empty();
  }
  uint64_t token(IoRequest::Op op) const {
    return (sequence << 1) | (op == IoRequest::Op::fsync ? 1 : 0);
  }
};

namespace {

struct Message {
  SegmentState* segment = nullptr;  // null when refused
  CommitResult refusal = CommitResult::failed;
  std::vector<uint64_t> chunks;  // offsets of its data records
  uint64_t length = 0;
  uint32_t crc = 0;
};

}  // namespace

struct ShardSpool::Impl {
  fs::path dir;
  unsigned shard;
  uint64_t segment_size;
  Fd lock;
  uint64_t next_sequence = 1;
  std::vector<std::unique_ptr<SegmentState>> segments;
  SegmentState* active = nullptr;
  std::unordered_map<MessageId, Message> messages;
  Completions ready;
  uint32_t refused_counter = 0;  // ids of messages refused before they had a segment
  std::chrono::steady_clock::time_point retry_open_at{};
  CommitResult open_failure = CommitResult::failed;

  SegmentState* find_segment(uint64_t sequence) {
    for (auto& s : segments)
      if (s->sequence == sequence) return s.get();
    return nullptr;
  }

  bool open_segment() {
    uint64_t seq = next_sequence++;
    try {
      CreatedSegment c = create_segment(dir, shard, seq);
      auto s = std::make_unique<SegmentState>();
      s->sequence = seq;
      s->fd = std::move(c.fd);
      s->reserved_end = s->submitted_end = c.end;
      active = s.get();
      segments.push_back(std::move(s));
      log::info("spool.segment.opened", "shard={} segment={}", shard, seq);
      return true;
    } catch (const std::system_error& e) {
      open_failure = result_for(e.code().value());
      retry_open_at = std::chrono::steady_clock::now() + kReopenBackoff;
      log::error("spool.segment.open_failed", "shard={} segment={} error={} retry_in=1s", shard,
                 seq, log::quote(e.what()));
      return false;
    }
  }

  SegmentState* writable_segment() {
    if (active && active->accepting && active->reserved_end < segment_size &&
        active->next_message < kMaxMessagesPerSegment)
      return active;
    if (active) {
      active->accepting = false;
      SegmentState* old = active;
      active = nullptr;
      retire_if_idle(old);
    }
    if (std::chrono::steady_clock::now() < retry_open_at) return nullptr;
    return open_segment() ? active : nullptr;
  }

  void retire_if_idle(SegmentState* s) {
    if (s == active || !s->idle()) return;
    if (!s->refused.empty()) {
      // Messages that got a 4xx but whose records may be on disk: mark them
      // done so no reader hands them on (the client retries them instead).
      if (int err = append_done_markers(dir, s->sequence, s->refused))
        log::error("spool.segment.mark_refused_failed", "shard={} segment={} messages={} error={}",
                   shard, s->sequence, s->refused.size(), log::quote(strerror(err)));
    }
    std::erase_if(segments, [s](const auto& p) { return p.get() == s; });
  }

  void fail_commit(SegmentState* s, uint64_t waiter, MessageId id, Completions& out) {
    out.commits.push_back({waiter, s->failure, id});
    s->refused.push_back(id);
  }

  // The in-flight write's records, once its completion arrived on a failed
  // segment. Returns the number of commits refused.
  size_t drop_batch(SegmentState* s, Completions& out) {
    size_t commits = 0;
    for (PendingRecord& r : s->batch) {
      if (r.releases) out.released_buffers.push_back(r.buffer_ref);
      if (r.is_commit) {
        fail_commit(s, r.waiter, r.id, out);
        ++commits;
      }
    }
    s->batch.clear();
    s->iov.clear();
    s->writing = s->resubmit = false;
    return commits;
  }

  // A write or fsync failed: the page cache state of this file is unknown,
  // so nothing more is written to it and nothing not yet durable in it is
  // reported committed.
  void fail_segment(SegmentState* s, int err, const char* op, Completions& out) {
    s->failed = true;
    s->failure = result_for(err);
    s->accepting = false;
    if (active == s) active = nullptr;
    size_t refused_commits = s->unsynced.size();
    // The failed I/O's own commits (its completion is this call). A write
    // failing while an fsync runs leaves that fsync's round to its result.
    if (std::string_view(op) == "write") {
      refused_commits += drop_batch(s, out);
    } else {
      refused_commits += s->syncing.size();
      // A short write waiting for its continuation is not in flight: it
      // will never be resubmitted, so it ends here.
      if (s->writing && s->resubmit) refused_commits += drop_batch(s, out);
    }
    for (PendingRecord& r : s->pending) {
      if (r.releases) out.released_buffers.push_back(r.buffer_ref);
      if (r.is_commit) {
        fail_commit(s, r.waiter, r.id, out);
        ++refused_commits;
      }
    }
    s->pending.clear();
    for (const Waiter& w : s->unsynced)
      fail_commit(s, w.waiter, w.id, out);
    s->unsynced.clear();
    size_t open = 0;
    for (auto& [id, m] : messages) {
      if (m.segment != s) continue;
      m.segment = nullptr;
      m.refusal = s->failure;
      s->refused.push_back(id);
      ++open;
    }
    s->open_messages = 0;
    log::error("spool.segment.failed",
               "shard={} segment={} op={} error={} reply={} commits_refused={} open_refused={} "
               "action=new_segment",
               shard, s->sequence, op, log::quote(strerror(err)),
               s->failure == CommitResult::no_space ? "452" : "451", refused_commits, open);
  }

  void on_write(SegmentState* s, int result, Completions& out) {
    if (s->failed) {  // an fsync failed while this write ran
      drop_batch(s, out);
      return;
    }
    uint64_t left = s->batch_bytes - s->batch_done;
    if (result <= 0 || static_cast<uint64_t>(result) > left) {
      int err = result < 0 ? -result : EIO;  // 0 bytes for a non-empty write: treat as I/O error
      fail_segment(s, err, "write", out);
      return;
    }
    s->batch_done += static_cast<uint64_t>(result);
    if (s->batch_done < s->batch_bytes) {  // short write: continue where it stopped
      size_t n = static_cast<size_t>(result);
      while (n > 0) {
        iovec& v = s->iov[s->iov_pos];
        if (n >= v.iov_len) {
          n -= v.iov_len;
          ++s->iov_pos;
        } else {
          v.iov_base = static_cast<char*>(v.iov_base) + n;
          v.iov_len -= n;
          n = 0;
        }
      }
      s->resubmit = true;
      return;
    }
    for (PendingRecord& r : s->batch) {
      if (r.releases) out.released_buffers.push_back(r.buffer_ref);
      if (r.is_commit) s->unsynced.push_back({r.waiter, r.id});
    }
    s->batch.clear();
    s->iov.clear();
    s->writing = false;
  }

  void on_fsync(SegmentState* s, int result, Completions& out) {
    s->fsyncing = false;
    if (result < 0) {
      if (!s->failed) fail_segment(s, -result, "fsync", out);
      for (const Waiter& w : s->syncing)
        fail_commit(s, w.waiter, w.id, out);
    } else {
      for (const Waiter& w : s->syncing)
        out.commits.push_back({w.waiter, CommitResult::committed, w.id});
    }
    s->syncing.clear();
  }

  void build_write(SegmentState* s, IoRequest& req) {
    s->batch.clear();
    s->iov.clear();
    size_t iov_count = 0;
    while (!s->pending.empty() && iov_count + 2 <= kMaxIovPerWrite) {
      iov_count += s->pending.front().payload().empty() ? 1 : 2;
      s->batch.push_back(std::move(s->pending.front()));
      s->pending.pop_front();
    }
    s->iov.reserve(iov_count);
    uint64_t bytes = 0;
    for (PendingRecord& r : s->batch) {  // batch is final: pointers into it stay valid
      s->iov.push_back({r.header.data(), kRecordHeaderSize});
      auto p = r.payload();
      if (!p.empty()) s->iov.push_back({const_cast<char*>(p.data()), p.size()});
      bytes += r.size();
    }
    s->iov_pos = 0;
    s->batch_offset = s->submitted_end;
    s->batch_bytes = bytes;
    s->batch_done = 0;
    s->submitted_end += bytes;
    s->writing = true;
    fill_write(s, req);
  }

  void fill_write(SegmentState* s, IoRequest& req) {
    req.op = IoRequest::Op::write;
    req.fd = s->fd.get();
    req.offset = s->batch_offset + s->batch_done;
    req.iov = std::span<const iovec>(s->iov).subspan(s->iov_pos);
    req.token = s->token(IoRequest::Op::write);
  }
};

// ShardSpool

ShardSpool::ShardSpool(fs::path spool_path, unsigned shard_id, uint64_t segment_size)
    : impl_(std::make_unique<Impl>()), shard_(shard_id) {
  Impl& m = *impl_;
  m.dir = shard_dir(spool_path, shard_id);
  m.shard = shard_id;
  m.segment_size = segment_size;
  std::error_code ec;
  fs::create_directories(m.dir, ec);
  if (ec) throw std::system_error(ec, "create " + m.dir.string());
  m.lock = lock_shard_dir(m.dir);
  // A segment a crash caught before its rename never held a message.
  for (const auto& e : fs::directory_iterator(m.dir, ec)) {
    if (e.path().extension() == ".tmp") fs::remove(e.path(), ec);
  }

  // Recovery: earlier segments are never written again (their writer is
  // gone); scan them so the log says what the spool holds and whether a
  // crash tore a tail. Readers drop torn tails the same way when they scan.
  auto start = std::chrono::steady_clock::now();
  size_t messages = 0, torn = 0, corrupt = 0, garbage = 0;
  auto sequences = list_segments(m.dir);
  for (uint64_t seq : sequences) {
    SegmentScan scan = scan_segment_file(m.dir / segment_file_name(seq));
    messages += scan.messages.size();
    garbage += scan.garbage_messages;
    if (scan.tail == TailState::torn) ++torn;
    if (scan.tail == TailState::corrupt) {
      ++corrupt;
      log::warn("spool.recovery.corrupt", "shard={} segment={} offset={} detail={}", shard_id, seq,
                scan.valid_end, log::quote(scan.tail_detail));
    }
  }
  if (!sequences.empty()) m.next_sequence = sequences.back() + 1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  log::info("spool.recovered",
            "shard={} segments={} messages={} torn_tails={} corrupt={} uncommitted={} scan_ms={}",
            shard_id, sequences.size(), messages, torn, corrupt, garbage, ms.count());
  if (!m.open_segment())
    throw std::system_error(EIO, std::generic_category(),
                            "cannot open a spool segment in " + m.dir.string());
}

ShardSpool::~ShardSpool() = default;

MessageId ShardSpool::begin() {
  Impl& m = *impl_;
  SegmentState* s = m.writable_segment();
  if (!s) {
    MessageId id = ++m.refused_counter;  // segment 0 never exists
    m.messages[id] = Message{nullptr, m.open_failure, {}, 0, 0};
    return id;
  }
  MessageId id = (s->sequence << 32) | s->next_message++;
  ++s->open_messages;
  m.messages[id] = Message{s, CommitResult::failed, {}, 0, 0};
  return id;
}

void ShardSpool::append(MessageId id, std::span<const char> bytes, uint64_t buffer_ref) {
  Impl& m = *impl_;
  auto it = m.messages.find(id);
  if (it == m.messages.end() || !it->second.segment || bytes.empty()) {
    m.ready.released_buffers.push_back(buffer_ref);
    return;
  }
  Message& msg = it->second;
  SegmentState* s = msg.segment;
  msg.crc = crc32c_extend(msg.crc, bytes);
  msg.length += bytes.size();
  while (!bytes.empty()) {
    size_t n = std::min<size_t>(bytes.size(), kMaxDataPayload);
    PendingRecord r;
    r.view = bytes.first(n);
    r.header = make_record_header(RecordType::data, id, r.view);
    r.id = id;
    bytes = bytes.subspan(n);
    // Records of one segment complete in order, so the last piece's
    // completion means the whole buffer is written.
    r.releases = bytes.empty();
    r.buffer_ref = buffer_ref;
    msg.chunks.push_back(s->reserved_end);
    s->reserved_end += r.size();
    s->pending.push_back(std::move(r));
  }
}

void ShardSpool::commit(MessageId id, const Envelope& env, uint64_t waiter) {
  Impl& m = *impl_;
  auto it = m.messages.find(id);
  if (it == m.messages.end()) {
    m.ready.commits.push_back({waiter, CommitResult::failed, id});
    return;
  }
  Message& msg = it->second;
  SegmentState* s = msg.segment;
  if (!s) {
    m.ready.commits.push_back({waiter, msg.refusal, id});
    m.messages.erase(it);
    return;
  }
  Envelope e = env;
  e.queue_id = queue_id(id);
  e.size = msg.length;
  PendingRecord r;
  r.owned.reserve(kCommitFixedSize + msg.chunks.size() * 8 + 256);
  append_u64(r.owned, msg.length);
  append_u32(r.owned, msg.crc);
  append_u32(r.owned, static_cast<uint32_t>(msg.chunks.size()));
  for (uint64_t off : msg.chunks)
    append_u64(r.owned, off);
  encode_envelope(e, r.owned);
  r.header = make_record_header(RecordType::commit, id, r.owned);
  r.is_commit = true;
  r.waiter = waiter;
  r.id = id;
  s->reserved_end += r.size();
  s->pending.push_back(std::move(r));
  --s->open_messages;
  m.messages.erase(it);
}

void ShardSpool::abort(MessageId id) {
  Impl& m = *impl_;
  auto it = m.messages.find(id);
  if (it == m.messages.end()) return;
  SegmentState* s = it->second.segment;
  m.messages.erase(it);
  if (s) {
    --s->open_messages;
    m.retire_if_idle(s);
  }
}

bool ShardSpool::next_io(IoRequest& req) {
  for (auto& sp : impl_->segments) {
    SegmentState* s = sp.get();
    if (s->failed) continue;
    if (s->writing && s->resubmit) {
      s->resubmit = false;
      impl_->fill_write(s, req);
      return true;
    }
    if (!s->writing && !s->pending.empty()) {
      impl_->build_write(s, req);
      return true;
    }
    if (!s->fsyncing && !s->unsynced.empty()) {
      s->syncing.swap(s->unsynced);
      s->fsyncing = true;
      req = IoRequest{IoRequest::Op::fsync, s->fd.get(), 0, {}, s->token(IoRequest::Op::fsync)};
      return true;
    }
  }
  return false;
}

void ShardSpool::complete(uint64_t token, int result, Completions& out) {
  Impl& m = *impl_;
  SegmentState* s = m.find_segment(token >> 1);
  if (!s) {
    log::error("spool.unknown_completion", "shard={} token={} result={}", shard_, token, result);
    return;
  }
  if (token & 1)
    m.on_fsync(s, result, out);
  else
    m.on_write(s, result, out);
  m.retire_if_idle(s);
}

void ShardSpool::take_immediate(Completions& out) {
  Completions& r = impl_->ready;
  out.released_buffers.insert(out.released_buffers.end(), r.released_buffers.begin(),
                              r.released_buffers.end());
  out.commits.insert(out.commits.end(), r.commits.begin(), r.commits.end());
  r.clear();
}

std::string ShardSpool::queue_id(MessageId id) const {
  return format_queue_id(shard_, id);
}

size_t ShardSpool::in_flight() const {
  size_t n = 0;
  for (const auto& s : impl_->segments)
    n += (s->writing && !s->resubmit) + s->fsyncing;
  return n;
}

std::optional<CommitResult> ShardSpool::refusal(MessageId id) const {
  auto it = impl_->messages.find(id);
  if (it == impl_->messages.end() || it->second.segment) return std::nullopt;
  return it->second.refusal;
}

uint64_t ShardSpool::active_sequence() const {
  return impl_->active ? impl_->active->sequence : 0;
}

}  // namespace ringmx::delivery
