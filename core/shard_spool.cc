// Driving the shard's message sink on the ring: body chunks go to the
// sink as views into receive buffers, the sink's writes and fsyncs go out
// as SQEs, and its completions give buffers back and answer the sessions
// waiting for their commit (250 only after the fsync that covers it).
#include <time.h>

#include <string>
#include <string_view>

#include "core/log/log.h"
#include "core/shard.h"
#include "core/user_data.h"

namespace ringmx::core {
namespace {

std::uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000 +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// buffer_ref values: a receive buffer id, a kept_ entry (high bit set), a
// PlainPool buffer of decrypted TLS records (next bit), or nothing to
// release (static bytes).
constexpr std::uint64_t kKeptRef = std::uint64_t{1} << 63;
constexpr std::uint64_t kPlainRef = std::uint64_t{1} << 62;
constexpr std::uint64_t kStaticRef = kKeptRef | kPlainRef;

// The engine's own bytes without keep_alive (session.h: static storage):
// the CRLF that replaces a bare LF, and a "\r" after a dot line's start
// that ended the previous read and turned out to be content. Ours are
// used, so the spool does not depend on where the engine keeps them.
std::span<const char> static_bytes(std::span<const char> data) {
  static constexpr char kCrLf[] = "\r\n";
  const std::string_view v(data.data(), data.size());
  if (v == "\r\n") return {kCrLf, 2};
  if (v == "\r") return {kCrLf, 1};
  return {};
}

smtp::CommitResult to_engine(delivery::CommitResult r) {
  switch (r) {
    case delivery::CommitResult::committed:
      return smtp::CommitResult::committed;
    case delivery::CommitResult::no_space:
      return smtp::CommitResult::no_space;
    case delivery::CommitResult::failed:
      return smtp::CommitResult::failed;
  }
  return smtp::CommitResult::failed;
}

}  // namespace

void Shard::append_chunk(const smtp::Action& chunk) {
  const std::uint64_t message = chunk.message;
  const std::span<const char> data = chunk.data;
  if (data.empty()) return;
  if (buffers_->contains(data.data())) {
    const std::uint16_t bid = buffers_->buffer_of(data.data());
    buffers_->hold(bid);
    sink_->append(message, data, bid);
    return;
  }
  if (const std::int64_t plain = plain_.find(data.data()); plain >= 0) {
    const auto index = static_cast<std::uint32_t>(plain);
    plain_.hold(index);
    sink_->append(message, data, kPlainRef | index);
    return;
  }
  std::shared_ptr<const void> keep = chunk.keep_alive;  // the Received header
  std::span<const char> bytes = data;
  if (!keep) {
    if (const std::span<const char> s = static_bytes(data); !s.empty()) {
      sink_->append(message, s, kStaticRef);
      return;
    }
    // Bytes the session got from elsewhere: those a PROXY header split
    // across reads left in its stage (shard_proxy.cc). A copy, held the
    // same way.
    auto copy = std::make_shared<std::string>(data.data(), data.size());
    bytes = {copy->data(), copy->size()};
    keep = std::move(copy);
  }
  std::uint32_t index;
  if (!free_kept_.empty()) {
    index = free_kept_.back();
    free_kept_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(kept_.size());
    kept_.emplace_back();
  }
  kept_[index] = std::move(keep);
  sink_->append(message, bytes, kKeptRef | index);
}

void Shard::release_ref(std::uint64_t ref) {
  if (ref == kStaticRef) return;
  if (ref & kPlainRef) {
    plain_.release(static_cast<std::uint32_t>(ref & ~kPlainRef));
    return;
  }
  if (ref & kKeptRef) {
    const auto index = static_cast<std::uint32_t>(ref & ~kKeptRef);
    kept_[index].reset();
    free_kept_.push_back(index);
    return;
  }
  buffers_->release(static_cast<std::uint16_t>(ref));
}

// Pulls every I/O the sink wants now onto the ring, and applies the
// results that needed none (discard mode, refused messages). TLS
// connections paused at the plaintext pool's cap resume once enough of it
// came back; what they decrypt then goes round again.
void Shard::drive_sink() {
  delivery::IoRequest req;
  while (sink_->next_io(req)) {
    std::uint32_t slot;
    if (!free_tokens_.empty()) {
      slot = free_tokens_.back();
      free_tokens_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(spool_tokens_.size());
      spool_tokens_.emplace_back();
    }
    spool_tokens_[slot] = req.token;
    if (fsync_started_ns_.size() < spool_tokens_.size())
      fsync_started_ns_.resize(spool_tokens_.size());
    fsync_started_ns_[slot] = 0;
    if (req.op == delivery::IoRequest::Op::fsync) {
      bump(metrics_->fsync_rounds);
      fsync_started_ns_[slot] = monotonic_ns();
    }
    io_uring_sqe* s = sqe();
    if (req.op == delivery::IoRequest::Op::write)
      io_uring_prep_writev(s, req.fd, req.iov.data(), static_cast<unsigned>(req.iov.size()),
                           req.offset);
    else
      io_uring_prep_fsync(s, req.fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(s, encode(Op::spool, slot));
  }
  sink_->take_immediate(completions_);
  apply_completions();
  if (resume_tls_reads()) drive_sink();  // recurses only while connections resume
}

void Shard::on_spool(std::uint32_t token_slot, int res) {
  const std::uint64_t token = spool_tokens_[token_slot];
  free_tokens_.push_back(token_slot);
  if (fsync_started_ns_[token_slot] != 0)
    metrics_->record_fsync(monotonic_ns() - fsync_started_ns_[token_slot]);
  else if (res > 0)
    bump(metrics_->spool_write_bytes, static_cast<std::uint64_t>(res));
  sink_->complete(token, res, completions_);
  apply_completions();
}

void Shard::apply_completions() {
  if (completions_.empty()) return;
  for (std::uint64_t ref : completions_.released_buffers)
    release_ref(ref);
  for (const delivery::FinishedCommit& f : completions_.commits) {
    if (f.result == delivery::CommitResult::committed) {
      ++stats_.committed;
      bump(metrics_->spool_commits);
      bump(metrics_->messages_accepted);
    } else {
      ++stats_.commit_failed;
      // Counted here, not from the engine's reply: an orphaned commit
      // (client gone) is refused all the same.
      metrics_->record_refusal(f.result == delivery::CommitResult::no_space ? 452 : 451);
    }
    const UserData w = decode(f.waiter);
    Connection* c = lookup(w.slot, w.generation);
    if (!c || !c->live()) {
      // The client left before its answer: the message is kept if it was
      // committed; the client never saw 250 and may send it again.
      log::info("spool.commit_orphaned", "shard={} result={} queue_id={}", options_.index,
                delivery::to_string(f.result), sink_->queue_id(f.id));
      continue;
    }
    out_.clear();
    c->session->commit_result(to_engine(f.result), out_);
    handle_output(*c);
  }
  completions_.clear();
}

}  // namespace ringmx::core
