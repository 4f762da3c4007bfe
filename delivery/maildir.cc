#include "delivery/maildir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include <fmt/format.h>

#include "delivery/segment_file.h"

namespace ringmx::delivery {
namespace fs = std::filesystem;

namespace {

// Copies `bytes` with every CRLF turned into LF. A CR at the end of a view
// may pair with an LF at the start of the next one: `held_cr` carries it.
void append_lf(std::string& out, std::span<const char> bytes, bool& held_cr) {
  for (char c : bytes) {
    if (held_cr) {
      held_cr = false;
      if (c != '\n') out.push_back('\r');
    }
    if (c == '\r') {
      held_cr = true;
      continue;
    }
    out.push_back(c);
  }
}

int write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += static_cast<size_t>(w);
  }
  return 0;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  std::string h = buf;
  // Maildir reserves '/' and ':' in names; escape them as the spec suggests.
  std::string out;
  for (char c : h) {
    if (c == '/')
      out += "\\057";
    else if (c == ':')
      out += "\\072";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string maildir_delivery_headers(const Envelope& env) {
  std::string out = fmt::format("Return-Path: <{}>\n", env.mail_from);
  for (const Recipient& r : env.rcpt_to) {
    out += fmt::format("X-Original-To: {}\n", r.address);
    out += fmt::format("Delivered-To: {}\n", r.address);
  }
  return out;
}

int ensure_maildir(const fs::path& dir) {
  for (const char* sub : {"", "tmp", "new", "cur"}) {
    fs::path p = *sub ? dir / sub : dir;
    if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

int write_maildir_message(const fs::path& dir, const Envelope& env, BodyStream body,
                          std::string& name) {
  name = fmt::format("{}.R{}.{}", std::time(nullptr), env.queue_id, host_name());
  fs::path tmp = dir / "tmp" / name;
  fs::path dst = dir / "new" / name;
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return errno;
  std::string buf = maildir_delivery_headers(env);
  bool held_cr = false;
  std::span<const char> view;
  int err = 0;
  while (!err && body.next(view)) {
    append_lf(buf, view, held_cr);
    if (buf.size() >= (1u << 20)) {
      err = write_all(fd.get(), buf);
      buf.clear();
    }
  }
  if (held_cr) buf.push_back('\r');
  if (!err) err = write_all(fd.get(), buf);
  if (!err && ::fsync(fd.get()) != 0) err = errno;
  if (!err && ::rename(tmp.c_str(), dst.c_str()) != 0) err = errno;
  if (err) ::unlink(tmp.c_str());
  return err;
}

int sync_maildir_new(const fs::path& dir) {
  return fsync_directory(dir / "new");
}

}  // namespace ringmx::delivery
