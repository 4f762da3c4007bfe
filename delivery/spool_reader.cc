#include "delivery/spool_reader.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "core/log/log.h"
#include "delivery/segment_file.h"
#include "delivery/spool_writer.h"

namespace ringmx::delivery {
namespace fs = std::filesystem;

bool BodyStream::next(std::span<const char>& view) {
  if (!chunks_ || index_ >= chunks_->size()) return false;
  const ChunkRef& c = (*chunks_)[index_++];
  view = file_.subspan(c.offset, c.length);
  return true;
}

SpoolReader::SpoolReader(fs::path spool_path) : root_(std::move(spool_path)) {
  refresh();
}

void SpoolReader::refresh() {
  segments_.clear();
  for (unsigned shard : list_shards(root_)) {
    fs::path dir = shard_dir(root_, shard);
    for (uint64_t seq : list_segments(dir)) {
      SegmentView v;
      v.shard = shard;
      v.sequence = seq;
      v.file = dir / segment_file_name(seq);
      // Lock state first: a segment seen unlocked before mapping cannot grow.
      v.active = segment_is_active(v.file);
      v.map = MappedFile::open(v.file);
      if (!v.map) continue;  // deleted since listed
      v.scan = scan_segment(v.map->bytes());
      v.done = read_done_markers(dir, seq);
      segments_.push_back(std::move(v));
    }
  }
}

std::vector<MessageView> SpoolReader::messages(bool include_done) const {
  std::vector<MessageView> out;
  for (const SegmentView& s : segments_) {
    for (const StoredMessage& m : s.scan.messages) {
      bool done = s.done.contains(m.id);
      if (done && !include_done) continue;
      out.push_back({&s, &m, format_queue_id(s.shard, m.id), done});
    }
  }
  return out;
}

std::optional<MessageView> SpoolReader::find(std::string_view queue_id) const {
  unsigned shard;
  MessageId id;
  if (!parse_queue_id(queue_id, shard, id)) return std::nullopt;
  for (const SegmentView& s : segments_) {
    if (s.shard != shard || s.sequence != (id >> 32)) continue;
    for (const StoredMessage& m : s.scan.messages) {
      if (m.id == id) return MessageView{&s, &m, format_queue_id(shard, id), s.done.contains(id)};
    }
  }
  return std::nullopt;
}

BodyStream SpoolReader::body(const MessageView& m) const {
  return BodyStream(m.segment->map->bytes(), &m.message->chunks);
}

std::string SpoolReader::read_body(const MessageView& m) const {
  std::string out;
  out.reserve(m.message->length);
  BodyStream b = body(m);
  std::span<const char> v;
  while (b.next(v))
    out.append(v.data(), v.size());
  return out;
}

int SpoolReader::mark_done(std::span<const MessageView> messages) {
  std::map<const SegmentView*, std::vector<MessageId>> by_segment;
  for (const MessageView& m : messages)
    by_segment[m.segment].push_back(m.message->id);
  for (auto& [seg, ids] : by_segment) {
    if (int err = append_done_markers(shard_dir(root_, seg->shard), seg->sequence, ids)) return err;
  }
  return 0;
}

size_t SpoolReader::remove_finished_segments() {
  size_t removed = 0;
  for (unsigned shard : list_shards(root_)) {
    fs::path dir = shard_dir(root_, shard);
    bool changed = false;
    for (uint64_t seq : list_segments(dir)) {
      fs::path file = dir / segment_file_name(seq);
      // Hold the segment's lock while deciding: a writer cannot take it
      // back (writers only lock segments they create), and a second reader
      // deciding at the same time waits here.
      Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
      if (!fs::exists(file)) continue;  // another reader deleted it while we waited
      SegmentScan scan = scan_segment_file(file);
      // Damage beyond a torn tail is kept for an operator to look at.
      if (scan.tail == TailState::corrupt) continue;
      auto done = read_done_markers(dir, seq);
      bool all_done = true;
      for (const StoredMessage& m : scan.messages)
        all_done = all_done && done.contains(m.id);
      if (!all_done) continue;
      if (::unlink(file.c_str()) != 0) continue;
      ::unlink((dir / done_file_name(seq)).c_str());
      changed = true;
      ++removed;
      log::info("spool.segment.removed", "shard={} segment={} messages={}", shard, seq,
                scan.messages.size());
    }
    // Done files whose segment is gone: left by a crash between the two
    // unlinks, or by a reader marking a segment another reader just removed.
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (!name.ends_with(".done")) continue;
      auto seq = parse_segment_file_name(name.substr(0, name.size() - 5) + ".seg");
      if (seq && !fs::exists(dir / segment_file_name(*seq)) && ::unlink(e.path().c_str()) == 0)
        changed = true;
    }
    if (changed) fsync_directory(dir);
  }
  return removed;
}

}  // namespace ringmx::delivery
