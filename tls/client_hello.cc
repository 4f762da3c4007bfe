#include "tls/client_hello.h"

#include <fmt/format.h>

namespace ringmx::tls {
namespace {

constexpr uint8_t kHandshakeRecord = 22;
constexpr uint8_t kClientHello = 1;
constexpr uint16_t kServerNameExt = 0;
constexpr uint16_t kSupportedVersionsExt = 43;
constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecord = 16384 + 2048;  // TLSCiphertext bound, RFC 8446 5.2

// A cursor over a byte span: every read is bounds-checked and a failed read
// poisons the cursor, so the parser reads straight down without a check per
// field.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> d) : d_(d) {}
  bool ok() const { return ok_; }
  size_t left() const { return ok_ ? d_.size() - pos_ : 0; }
  uint32_t u(size_t n) {
    if (left() < n) return fail();
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v = (v << 8) | std::to_integer<uint8_t>(d_[pos_ + i]);
    pos_ += n;
    return v;
  }
  std::span<const std::byte> take(size_t n) {
    if (left() < n) {
      fail();
      return {};
    }
    auto s = d_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  // The body of a vector whose length prefix is `len_bytes` wide.
  Reader vec(size_t len_bytes) { return Reader(take(u(len_bytes)), ok_); }

 private:
  Reader(std::span<const std::byte> d, bool ok) : d_(d), ok_(ok) {}
  uint32_t fail() {
    ok_ = false;
    return 0;
  }
  std::span<const std::byte> d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

bool is_grease(uint16_t v) {
  return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

void read_extensions(Reader exts, ClientHelloSummary& out) {
  while (exts.ok() && exts.left() > 0) {
    const uint16_t type = static_cast<uint16_t>(exts.u(2));
    Reader body = exts.vec(2);
    if (type == kServerNameExt) {
      // ServerNameList: name_type 0 (host_name) is the only type defined.
      Reader list = body.vec(2);
      while (list.ok() && list.left() > 0) {
        const uint32_t name_type = list.u(1);
        const auto name = list.take(list.u(2));
        if (list.ok() && name_type == 0) {
          out.server_name = {reinterpret_cast<const char*>(name.data()), name.size()};
          break;
        }
      }
    } else if (type == kSupportedVersionsExt) {
      Reader versions = body.vec(1);
      uint16_t best = 0;
      while (versions.ok() && versions.left() >= 2) {
        const auto v = static_cast<uint16_t>(versions.u(2));
        if (!is_grease(v) && v > best) best = v;
      }
      if (best != 0) out.max_version = best;
    }
  }
}

}  // namespace

ClientHelloSummary peek_client_hello(std::span<const std::byte> data) {
  ClientHelloSummary out;
  Reader rec(data);
  const uint32_t content_type = rec.u(1);
  rec.u(2);  // record version: meaningless for a hello
  const uint32_t length = rec.u(2);
  if (!rec.ok()) return out;  // need_more
  if (content_type != kHandshakeRecord || length > kMaxRecord) {
    out.status = ClientHelloSummary::Status::malformed;
    return out;
  }
  if (data.size() < kRecordHeader + length) return out;  // need_more

  out.status = ClientHelloSummary::Status::malformed;
  Reader hs(rec.take(length));
  if (hs.u(1) != kClientHello) return out;
  Reader hello = hs.vec(3);
  const auto legacy = static_cast<uint16_t>(hello.u(2));
  hello.take(32);  // random
  hello.vec(1);    // legacy_session_id
  hello.vec(2);    // cipher_suites
  hello.vec(1);    // legacy_compression_methods
  if (!hello.ok()) return out;
  out.max_version = legacy;
  if (hello.left() > 0) read_extensions(hello.vec(2), out);
  out.status = ClientHelloSummary::Status::ok;
  return out;
}

std::string version_name(uint16_t version) {
  switch (version) {
    case 0x0304:
      return "TLSv1.3";
    case 0x0303:
      return "TLSv1.2";
    case 0x0302:
      return "TLSv1.1";
    case 0x0301:
      return "TLSv1.0";
    case 0x0300:
      return "SSLv3";
    default:
      return fmt::format("0x{:04x}", version);
  }
}

}  // namespace ringmx::tls
