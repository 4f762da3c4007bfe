// Driving the shard's message sink on the ring: body chunks go to the
// sink as views into receive buffers, the sink's writes and fsyncs go out
// as SQEs, and its completions give buffers back and answer the sessions
// waiting for their commit (250 only after the fsync that covers it).
#include <time.h>

#include <cstring>

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

// buffer_ref values: a receive buffer id, a copy (high bit set), or a
// PlainPool buffer of decrypted TLS records (next bit).
constexpr std::uint64_t kCopyRef = std::uint64_t{1} << 63;
constexpr std::uint64_t kPlainRef = std::uint64_t{1} << 62;

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

void Shard::append_chunk(std::uint64_t message, std::span<const char> data) {
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
  // Engine memory (the Received header, a CRLF for a bare LF): copied, so
  // its lifetime no longer depends on the session (an abort or a
  // disconnect may free it while the write is in flight).
  std::uint32_t index;
  if (!free_copies_.empty()) {
    index = free_copies_.back();
    free_copies_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(copies_.size());
    copies_.emplace_back();
  }
  copies_[index].reset(new char[data.size()]);
  std::memcpy(copies_[index].get(), data.data(), data.size());
  sink_->append(message, std::span<const char>(copies_[index].get(), data.size()),
                kCopyRef | index);
}

void Shard::release_ref(std::uint64_t ref) {
  if (ref & kPlainRef && !(ref & kCopyRef)) {
    plain_.release(static_cast<std::uint32_t>(ref & ~kPlainRef));
    return;
  }
  if (ref & kCopyRef) {
    const auto index = static_cast<std::uint32_t>(ref & ~kCopyRef);
    copies_[index].reset();
    free_copies_.push_back(index);
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
