#include "delivery/segment_scan.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "delivery/crc32c.h"

namespace ringmx::delivery {

std::string_view to_string(TailState t) {
  switch (t) {
    case TailState::clean:
      return "clean";
    case TailState::torn:
      return "torn";
    case TailState::corrupt:
      return "corrupt";
  }
  return "corrupt";
}

namespace {

struct OpenMessage {
  std::vector<uint64_t> record_offsets;
  std::vector<ChunkRef> chunks;
  uint64_t bytes = 0;  // records' total size, for the garbage count
};

class Scanner {
 public:
  explicit Scanner(std::span<const char> bytes) : bytes_(bytes) { scan_.file_size = bytes.size(); }

  SegmentScan run() {
    if (bytes_.empty()) stop(TailState::torn, "empty file");
    while (off_ < bytes_.size() && record()) {
    }
    scan_.valid_end = off_;
    for (auto& [id, m] : open_) {
      ++scan_.garbage_messages;
      scan_.garbage_bytes += m.bytes;
    }
    return std::move(scan_);
  }

 private:
  // Reads the record at off_; false when the scan must stop there.
  bool record() {
    uint64_t left = bytes_.size() - off_;
    if (left < kRecordHeaderSize) return stop(TailState::torn, "partial record header");
    auto head = std::span<const char, kRecordHeaderSize>(bytes_.data() + off_, kRecordHeaderSize);
    RecordHeader h = parse_record_header(head);
    if (h.length > kMaxRecordPayload) return stop_bad_or_torn("record length out of range");
    if (h.length > left - kRecordHeaderSize) return stop(TailState::torn, "partial record");
    auto payload = bytes_.subspan(off_ + kRecordHeaderSize, h.length);
    if (!check_record(head, payload)) return stop_bad_or_torn("record CRC mismatch");
    bool first = off_ == 0;
    if (first != (h.type == RecordType::segment_header))
      return stop(TailState::corrupt, "segment header missing or misplaced");
    uint64_t rec_off = off_;
    uint64_t rec_size = kRecordHeaderSize + h.length;
    switch (h.type) {
      case RecordType::segment_header:
        scan_.header = decode_segment_header(payload);
        if (!scan_.header) return stop(TailState::corrupt, "bad segment header");
        break;
      case RecordType::data: {
        if (!own(h.message)) return stop(TailState::corrupt, "data record of another segment");
        OpenMessage& m = open_[h.message];
        m.record_offsets.push_back(rec_off);
        m.chunks.push_back({rec_off + kRecordHeaderSize, h.length});
        m.bytes += rec_size;
        ++scan_.data_records;
        break;
      }
      case RecordType::commit:
        if (!own(h.message)) return stop(TailState::corrupt, "commit record of another segment");
        if (!commit(h.message, rec_off, payload)) return false;
        break;
      default:
        return stop(TailState::corrupt, fmt::format("unknown record type {}", int(h.type)));
    }
    off_ += rec_size;
    return true;
  }

  bool own(uint64_t message) const {
    return scan_.header && (message >> 32) == scan_.header->sequence;
  }

  bool commit(uint64_t id, uint64_t rec_off, std::span<const char> payload) {
    auto head = decode_commit(payload);
    if (!head) return stop(TailState::corrupt, "commit record too short");
    auto env = decode_envelope(head->envelope);
    if (!env) return stop(TailState::corrupt, "commit record envelope malformed");
    StoredMessage msg;
    msg.id = id;
    msg.commit_offset = rec_off;
    msg.length = head->length;
    msg.crc = head->crc;
    msg.envelope = std::move(*env);
    auto it = open_.find(id);
    size_t seen = it == open_.end() ? 0 : it->second.record_offsets.size();
    if (head->chunk_count() != seen)
      return stop(TailState::corrupt, "commit record chunk count differs from data records");
    for (size_t i = 0; i < seen; ++i) {
      if (head->chunk_offset(i) != it->second.record_offsets[i])
        return stop(TailState::corrupt, "commit record chunk list differs from data records");
    }
    uint64_t length = 0;
    uint32_t crc = 0;
    if (seen > 0) {
      msg.chunks = std::move(it->second.chunks);
      for (const ChunkRef& c : msg.chunks) {
        crc = crc32c_extend(crc, bytes_.subspan(c.offset, c.length));
        length += c.length;
      }
      open_.erase(it);
    }
    if (length != msg.length || crc != msg.crc)
      return stop(TailState::corrupt, "message length or CRC32C differs from commit record");
    scan_.messages.push_back(std::move(msg));
    return true;
  }

  // A bad record at the very end of the file is a write a crash cut short
  // (its pages reached the disk partly); one with bytes after it is damage.
  bool stop_bad_or_torn(const char* why) {
    RecordHeader h = parse_record_header(
        std::span<const char, kRecordHeaderSize>(bytes_.data() + off_, kRecordHeaderSize));
    uint64_t end = off_ + kRecordHeaderSize + uint64_t(h.length);
    bool rest_zero = true;
    for (uint64_t i = off_; i < bytes_.size() && rest_zero; ++i)
      rest_zero = bytes_[i] == 0;
    bool torn = end >= bytes_.size() || rest_zero;
    return stop(torn ? TailState::torn : TailState::corrupt, why);
  }

  bool stop(TailState t, std::string why) {
    scan_.tail = t;
    scan_.tail_detail = fmt::format("{} at offset {}", why, off_);
    return false;
  }

  std::span<const char> bytes_;
  uint64_t off_ = 0;
  SegmentScan scan_;
  std::unordered_map<uint64_t, OpenMessage> open_;
};

}  // namespace

SegmentScan scan_segment(std::span<const char> bytes) {
  return Scanner(bytes).run();
}

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return nullptr;
  }
  size_t size = static_cast<size_t>(st.st_size);
  const char* data = nullptr;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      errno = err;
      return nullptr;
    }
    data = static_cast<const char*>(p);
  }
  ::close(fd);  // the mapping keeps the file
  return std::shared_ptr<MappedFile>(new MappedFile(data, size));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

SegmentScan scan_segment_file(const std::filesystem::path& path) {
  auto file = MappedFile::open(path);
  if (!file) {
    SegmentScan s;
    s.tail = TailState::corrupt;
    s.tail_detail = fmt::format("cannot read {}: {}", path.string(), std::strerror(errno));
    return s;
  }
  return scan_segment(file->bytes());
}

}  // namespace ringmx::delivery
