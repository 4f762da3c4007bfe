#include "delivery/segment_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <system_error>

#include <fmt/format.h>

#include "delivery/crc32c.h"
#include "delivery/record.h"

namespace ringmx::delivery {
namespace fs = std::filesystem;

namespace {

constexpr size_t kDoneMarkerSize = 16;  // u64 id, u32 crc32c(id bytes), u32 zero

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

int write_all(int fd, const char* p, size_t n, off_t offset) {
  while (n > 0) {
    ssize_t w = offset >= 0 ? ::pwrite(fd, p, n, offset) : ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    n -= static_cast<size_t>(w);
    if (offset >= 0) offset += w;
  }
  return 0;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

fs::path shard_dir(const fs::path& spool, unsigned shard) {
  return spool / std::to_string(shard);
}
std::string segment_file_name(uint64_t sequence) {
  return fmt::format("{:010}.seg", sequence);
}
std::string done_file_name(uint64_t sequence) {
  return fmt::format("{:010}.done", sequence);
}

std::optional<uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != 14 || !name.ends_with(".seg")) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 10, v);
  if (ec != std::errc() || p != name.data() + 10) return std::nullopt;
  return v;
}

std::vector<unsigned> list_shards(const fs::path& spool) {
  std::vector<unsigned> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(spool, ec)) {
    if (!e.is_directory()) continue;
    std::string name = e.path().filename().string();
    unsigned v = 0;
    auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (err == std::errc() && p == name.data() + name.size()) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint64_t> list_segments(const fs::path& dir) {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (auto seq = parse_segment_file_name(e.path().filename().string())) out.push_back(*seq);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int fsync_directory(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno;
  return ::fsync(fd.get()) == 0 ? 0 : errno;
}

Fd lock_shard_dir(const fs::path& dir) {
  fs::path p = dir / "lock";
  Fd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) throw_errno(errno, "open " + p.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno == EWOULDBLOCK ? EBUSY : errno;
    throw_errno(err, "lock " + p.string() + " (another ringmx process writes this shard?)");
  }
  return fd;
}

CreatedSegment create_segment(const fs::path& dir, unsigned shard, uint64_t sequence) {
  // Written under a temporary name and renamed once locked, so a reader
  // never sees an unlocked, half-made segment (and deletes it as finished).
  fs::path final_path = dir / segment_file_name(sequence);
  fs::path tmp_path = dir / (segment_file_name(sequence) + ".tmp");
  Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd) throw_errno(errno, "create " + tmp_path.string());
  auto fail = [&](int err, const char* what) {
    ::unlink(tmp_path.c_str());
    throw_errno(err, std::string(what) + " " + tmp_path.string());
  };
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) fail(errno, "lock");
  SegmentHeader h;
  h.shard = shard;
  h.sequence = sequence;
  h.created_unix_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  std::string payload = encode_segment_header(h);
  RecordHeaderBytes rh = make_record_header(RecordType::segment_header, 0, payload);
  std::string rec(rh.data(), rh.size());
  rec += payload;
  if (int err = write_all(fd.get(), rec.data(), rec.size(), 0)) fail(err, "write");
  if (::fdatasync(fd.get()) != 0) fail(errno, "fdatasync");
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) fail(errno, "rename");
  if (int err = fsync_directory(dir)) throw_errno(err, "fsync " + dir.string());
  return {std::move(fd), rec.size()};
}

bool segment_is_active(const fs::path& segment_file) {
  Fd fd(::open(segment_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  return ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

int append_done_markers(const fs::path& dir, uint64_t sequence, std::span<const MessageId> ids) {
  fs::path p = dir / done_file_name(sequence);
  bool created = false;
  Fd fd(::open(p.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (fd) {
    created = true;
  } else if (errno == EEXIST) {
    fd = Fd(::open(p.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  }
  if (!fd) return errno;
  std::string buf;
  buf.reserve(ids.size() * kDoneMarkerSize);
  for (MessageId id : ids) {
    char m[kDoneMarkerSize] = {};
    put_u64(m, id);
    put_u32(m + 8, crc32c(std::span<const char>(m, 8)));
    buf.append(m, kDoneMarkerSize);
  }
  // O_APPEND: each write lands whole at the end, whoever else appends. A
  // torn marker (crash mid-write) fails its CRC and is skipped on reading.
  if (int err = write_all(fd.get(), buf.data(), buf.size(), -1)) return err;
  if (::fdatasync(fd.get()) != 0) return errno;
  if (created) return fsync_directory(dir);
  return 0;
}

std::unordered_set<MessageId> read_done_markers(const fs::path& dir, uint64_t sequence) {
  std::unordered_set<MessageId> out;
  fs::path p = dir / done_file_name(sequence);
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return out;
  std::string data;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  // Markers are read at 16-byte steps, resynchronising byte by byte past a
  // torn one (a crash mid-append leaves a short marker, and later appends
  // land after it).
  size_t off = 0;
  while (off + kDoneMarkerSize <= data.size()) {
    const char* m = data.data() + off;
    if (get_u32(m + 8) == crc32c(std::span<const char>(m, 8)) && get_u32(m + 12) == 0) {
      out.insert(get_u64(m));
      off += kDoneMarkerSize;
    } else {
      ++off;
    }
  }
  return out;
}

}  // namespace ringmx::delivery
