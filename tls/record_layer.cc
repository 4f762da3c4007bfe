#include "tls/record_layer.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "tls/record_aead.h"

namespace ringmx::tls {
namespace {

constexpr std::size_t kHeader = 5;
constexpr std::size_t kExplicitNonce = 8;  // TLS 1.2 AES-GCM only
constexpr std::size_t kTag = kRecordTag;
constexpr std::size_t kNonce = kRecordNonce;
// What one record may carry once opened: RFC 5246 6.2.1 (2^14), and for
// TLS 1.3 the whole TLSInnerPlaintext, content type and padding included
// (RFC 8446 5.4: 2^14 + 1).
constexpr std::size_t kMaxPlaintext12 = 16384;
constexpr std::size_t kMaxInnerPlaintext13 = 16384 + 1;
static_assert(kMaxInnerPlaintext13 <= RecordLayer::kMaxPlaintext);
static_assert(kMaxPlaintext12 <= RecordLayer::kMaxPlaintext);

// Alert descriptions (RFC 8446 6.2).
constexpr std::uint8_t kUnexpectedMessage = 10;
constexpr std::uint8_t kBadRecordMac = 20;
constexpr std::uint8_t kRecordOverflow = 22;
constexpr std::uint8_t kDecodeError = 50;
constexpr std::uint8_t kInternalError = 80;

std::uint64_t get_be64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

void put_be64(unsigned char* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v);
    v >>= 8;
  }
}

// A record's additional data for the AEAD, into `aad`; returns its length.
// TLS 1.3: the record header as sent (RFC 8446 5.2). TLS 1.2: sequence
// number, content type, version and plaintext length (RFC 5246 6.2.3.3).
std::size_t record_aad(bool tls13, const unsigned char* header, std::uint64_t seq,
                       std::uint8_t type, std::size_t plain_len, unsigned char (&aad)[13]) {
  if (tls13) {
    std::memcpy(aad, header, kHeader);
    return kHeader;
  }
  put_be64(aad, seq);
  aad[8] = type;
  aad[9] = 3;
  aad[10] = 3;
  aad[11] = static_cast<unsigned char>(plain_len >> 8);
  aad[12] = static_cast<unsigned char>(plain_len);
  return 13;
}

// One direction as its crypto_info describes it.
struct Direction {
  std::unique_ptr<RecordAead> aead;
  // AES-GCM: salt(4) || iv(8); ChaCha20-Poly1305: iv(12). The per-record
  // nonce is this XOR (0^4 || seq), except for TLS 1.2 AES-GCM, where the
  // last 8 bytes are the explicit nonce (for TX: iv + records sealed).
  unsigned char nonce_base[kNonce] = {};
  std::uint64_t seq = 0;  // the next record's sequence number
};

std::optional<Direction> direction_from(const KtlsCryptoInfo& info, bool seal) {
  Direction d;
  std::span<const std::uint8_t> key;
  const unsigned char* rec_seq = nullptr;
  RecordCipher cipher{};
  // The two AES-GCM structs differ only in the key's length.
  const auto aes_gcm = [&](const auto& c, RecordCipher which) {
    cipher = which;
    key = c.key;
    std::memcpy(d.nonce_base, c.salt, sizeof c.salt);
    std::memcpy(d.nonce_base + sizeof c.salt, c.iv, sizeof c.iv);
    rec_seq = c.rec_seq;
  };
  switch (info.base.cipher_type) {
    case TLS_CIPHER_AES_GCM_128:
      aes_gcm(info.aes_gcm_128, RecordCipher::aes_128_gcm);
      break;
    case TLS_CIPHER_AES_GCM_256:
      aes_gcm(info.aes_gcm_256, RecordCipher::aes_256_gcm);
      break;
    case TLS_CIPHER_CHACHA20_POLY1305: {
      const auto& c = info.chacha20_poly1305;
      cipher = RecordCipher::chacha20_poly1305;
      key = c.key;
      std::memcpy(d.nonce_base, c.iv, sizeof c.iv);
      rec_seq = c.rec_seq;
      break;
    }
    default:
      return std::nullopt;
  }
  static_assert(sizeof(tls12_crypto_info_aes_gcm_128::salt) +
                    sizeof(tls12_crypto_info_aes_gcm_128::iv) ==
                kNonce);
  static_assert(sizeof(tls12_crypto_info_chacha20_poly1305::iv) == kNonce);
  d.aead = make_record_aead(cipher, key, seal);
  if (!d.aead) return std::nullopt;
  d.seq = get_be64(rec_seq);
  return d;
}

// Copies from `input` into `piece` until it holds `want` bytes; returns
// the bytes taken. For the few bytes of a record that may arrive split:
// header, explicit nonce, tag.
std::size_t take(std::span<const char> input, unsigned char* piece, std::size_t& have,
                 std::size_t want) {
  const std::size_t n = std::min(want - have, input.size());
  std::memcpy(piece + have, input.data(), n);
  have += n;
  return n;
}

}  // namespace

struct RecordLayer::Impl {
  enum class Stage : std::uint8_t { header, explicit_nonce, body, tag };

  bool tls13 = false;
  bool explicit_nonce = false;  // TLS 1.2 AES-GCM
  Direction tx;
  Direction rx;
  std::uint64_t tx_records = 0;  // sealed so far: TLS 1.2 AES-GCM's explicit nonce

  // The record being opened. Only these few bytes are ever kept; the body
  // is decrypted from the input straight into the caller's `plain`.
  Stage stage = Stage::header;
  unsigned char header[kHeader] = {};
  std::size_t header_have = 0;
  unsigned char nonce_tail[kExplicitNonce] = {};
  std::size_t nonce_tail_have = 0;
  unsigned char tag[kTag] = {};
  std::size_t tag_have = 0;
  std::size_t body_len = 0;       // ciphertext between nonce and tag = its plaintext length
  std::size_t body_done = 0;      // of it decrypted into `plain`
  const char* body_at = nullptr;  // where in `plain` those bytes are

  // Set once: every later open() returns it.
  bool failed = false;
  std::uint8_t failed_alert = 0;
  std::string_view failed_what;

  Opened open(std::span<const char> input, std::span<char> plain);
  void seal_record(std::uint8_t type, std::string_view content, std::string& out);
  std::size_t record_overhead() const {
    return kHeader + (explicit_nonce ? kExplicitNonce : 0) + (tls13 ? 1 : 0) + kTag;
  }

 private:
  Opened fail(Opened r, std::uint8_t alert, std::string_view what);
  // An alert description when the header may not be opened, else 0.
  std::uint8_t check_header(std::string_view& what);
  bool begin_rx_record();
  void next_record();
  Opened finish_record(Opened r, std::span<char> plain);
};

RecordLayer::Opened RecordLayer::Impl::fail(Opened r, std::uint8_t alert, std::string_view what) {
  failed = true;
  failed_alert = alert;
  failed_what = what;
  r.status = Opened::Status::error;
  r.alert = alert;
  r.what = what;
  r.body = {};
  r.record_type = 0;
  return r;
}

std::uint8_t RecordLayer::Impl::check_header(std::string_view& what) {
  const std::uint8_t type = header[0];
  const std::size_t length = (std::size_t{header[3]} << 8) | header[4];
  const bool type_ok =
      tls13 ? type == kRecordApplicationData
            : type == kRecordApplicationData || type == kRecordAlert || type == kRecordHandshake;
  if (!type_ok) {
    // TLS 1.3: every protected record is outer type 23 (RFC 8446 5.2);
    // TLS 1.2: change_cipher_spec after the handshake, heartbeat or an
    // unknown type (RFC 5246 6: unexpected_message).
    what = "unexpected_record_type";
    return kUnexpectedMessage;
  }
  if (header[1] != 3 || header[2] != 3) {
    // Every record after the handshake carries 0x0303 in both versions.
    what = "bad_record_version";
    return kDecodeError;
  }
  if (length > kMaxCiphertext) {
    what = "record_overflow";
    return kRecordOverflow;
  }
  const std::size_t prefix = explicit_nonce ? kExplicitNonce : 0;
  if (length < prefix + kTag) {
    what = "record_too_short";
    return kDecodeError;
  }
  body_len = length - prefix - kTag;
  if (body_len > (tls13 ? kMaxInnerPlaintext13 : kMaxPlaintext12)) {
    what = "record_overflow";
    return kRecordOverflow;
  }
  return 0;
}

bool RecordLayer::Impl::begin_rx_record() {
  unsigned char nonce[kNonce];
  std::memcpy(nonce, rx.nonce_base, kNonce);
  if (explicit_nonce) {
    std::memcpy(nonce + 4, nonce_tail, kExplicitNonce);  // the sender's choice
  } else {
    put_be64(nonce + 4, get_be64(nonce + 4) ^ rx.seq);
  }
  unsigned char aad[13];
  const std::size_t aad_len = record_aad(tls13, header, rx.seq, header[0], body_len, aad);
  return rx.aead->begin(nonce, {aad, aad_len});
}

void RecordLayer::Impl::next_record() {
  stage = Stage::header;
  header_have = nonce_tail_have = tag_have = 0;
  body_len = body_done = 0;
  body_at = nullptr;
}

// The record authenticated: its plaintext is at `plain` + r.ready.
RecordLayer::Opened RecordLayer::Impl::finish_record(Opened r, std::span<char> plain) {
  ++rx.seq;
  const char* content = plain.data() + r.ready;
  std::size_t content_len = body_len;
  std::uint8_t type = header[0];
  if (tls13) {
    // TLSInnerPlaintext: content, type, zeros (RFC 8446 5.4).
    while (content_len > 0 && content[content_len - 1] == 0)
      --content_len;
    if (content_len == 0) return fail(r, kUnexpectedMessage, "no_inner_content_type");
    type = static_cast<std::uint8_t>(content[--content_len]);
  }
  next_record();
  switch (type) {
    case kRecordApplicationData:
      r.ready += content_len;
      return r;  // need_input: the caller loops on
    case kRecordAlert:
    case kRecordHandshake:
      r.status = Opened::Status::control;
      r.record_type = type;
      r.body = {content, content_len};
      return r;
    default:
      return fail(r, kUnexpectedMessage, "unexpected_record_type");
  }
}

RecordLayer::Opened RecordLayer::Impl::open(std::span<const char> input, std::span<char> plain) {
  Opened r;
  if (failed) return fail(r, failed_alert, failed_what);
  if (body_done > 0) {
    // Part of a record is already in the caller's buffer.
    if (plain.data() != body_at) return fail(r, kInternalError, "buffer_moved");
    if (plain.size() < body_len) return fail(r, kInternalError, "buffer_shrunk");
  }
  for (;;) {
    const auto rest = input.subspan(r.consumed);
    switch (stage) {
      case Stage::header: {
        r.consumed += take(rest, header, header_have, kHeader);
        if (header_have < kHeader) return r;
        std::string_view what;
        if (const std::uint8_t alert = check_header(what)) return fail(r, alert, what);
        stage = explicit_nonce ? Stage::explicit_nonce : Stage::body;
        if (!explicit_nonce && !begin_rx_record()) {
          return fail(r, kInternalError, "aead_failed");
        }
        break;
      }
      case Stage::explicit_nonce:
        if (plain.size() - r.ready < body_len) {
          r.status = Opened::Status::need_buffer;
          return r;
        }
        r.consumed += take(rest, nonce_tail, nonce_tail_have, kExplicitNonce);
        if (nonce_tail_have < kExplicitNonce) return r;
        if (!begin_rx_record()) return fail(r, kInternalError, "aead_failed");
        stage = Stage::body;
        break;
      case Stage::body: {
        if (body_done == 0) {
          if (plain.size() - r.ready < body_len) {
            r.status = Opened::Status::need_buffer;
            return r;
          }
          body_at = plain.data() + r.ready;
        }
        const std::size_t n = std::min(body_len - body_done, rest.size());
        auto* out = reinterpret_cast<std::uint8_t*>(plain.data() + r.ready + body_done);
        if (!rx.aead->update(reinterpret_cast<const std::uint8_t*>(rest.data()), n, out)) {
          return fail(r, kInternalError, "aead_failed");
        }
        r.consumed += n;
        body_done += n;
        if (body_done < body_len) return r;
        stage = Stage::tag;
        break;
      }
      case Stage::tag:
        r.consumed += take(rest, tag, tag_have, kTag);
        if (tag_have < kTag) return r;
        if (!rx.aead->open_tag(tag)) return fail(r, kBadRecordMac, "bad_record_mac");
        r = finish_record(r, plain);
        if (r.status != Opened::Status::need_input) return r;
        break;
    }
  }
}

void RecordLayer::Impl::seal_record(std::uint8_t type, std::string_view content, std::string& out) {
  const std::size_t prefix = explicit_nonce ? kExplicitNonce : 0;
  const std::size_t inner = content.size() + (tls13 ? 1 : 0);
  const std::size_t length = prefix + inner + kTag;
  const std::size_t at = out.size();
  out.resize(at + kHeader + length);
  auto* rec = reinterpret_cast<unsigned char*>(out.data() + at);
  rec[0] = tls13 ? kRecordApplicationData : type;
  rec[1] = 3;
  rec[2] = 3;
  rec[3] = static_cast<unsigned char>(length >> 8);
  rec[4] = static_cast<unsigned char>(length);

  unsigned char nonce[kNonce];
  std::memcpy(nonce, tx.nonce_base, kNonce);
  if (explicit_nonce) {
    // As the kernel does: the crypto_info's iv, plus one per record.
    put_be64(nonce + 4, get_be64(nonce + 4) + tx_records);
    std::memcpy(rec + kHeader, nonce + 4, kExplicitNonce);
  } else {
    put_be64(nonce + 4, get_be64(nonce + 4) ^ tx.seq);
  }
  unsigned char aad[13];
  const std::size_t aad_len = record_aad(tls13, rec, tx.seq, type, content.size(), aad);
  unsigned char* ciphertext = rec + kHeader + prefix;
  const bool sealed = tx.aead->begin(nonce, {aad, aad_len}) &&
                      tx.aead->update(reinterpret_cast<const std::uint8_t*>(content.data()),
                                      content.size(), ciphertext) &&
                      (!tls13 || tx.aead->update(&type, 1, ciphertext + content.size())) &&
                      tx.aead->seal_tag(ciphertext + inner);
  if (!sealed) {
    // libcrypto refused a context it accepted at create(): nothing
    // half-sealed goes out, and the session ends at its next open().
    out.resize(at);
    failed = true;
    failed_alert = kInternalError;
    failed_what = "seal_failed";
    return;
  }
  ++tx.seq;
  ++tx_records;
}

std::unique_ptr<RecordLayer> RecordLayer::create(const KtlsParams& params) {
  const tls_crypto_info& t = params.tx.base;
  const tls_crypto_info& r = params.rx.base;
  if (t.version != r.version || t.cipher_type != r.cipher_type) return nullptr;
  if (t.version != TLS_1_2_VERSION && t.version != TLS_1_3_VERSION) return nullptr;
  auto tx = direction_from(params.tx, /*seal=*/true);
  auto rx = direction_from(params.rx, /*seal=*/false);
  if (!tx || !rx) return nullptr;
  auto impl = std::make_unique<Impl>();
  impl->tls13 = t.version == TLS_1_3_VERSION;
  impl->explicit_nonce = !impl->tls13 && t.cipher_type != TLS_CIPHER_CHACHA20_POLY1305;
  impl->tx = std::move(*tx);
  impl->rx = std::move(*rx);
  return std::unique_ptr<RecordLayer>(new RecordLayer(std::move(impl)));
}

RecordLayer::RecordLayer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordLayer::~RecordLayer() = default;

RecordLayer::Opened RecordLayer::open(std::span<const char> input, std::span<char> plain) {
  return impl_->open(input, plain);
}

bool RecordLayer::partial() const {
  return impl_->stage != Impl::Stage::header || impl_->header_have > 0;
}

void RecordLayer::seal(std::string_view plain, std::string& out) {
  out.reserve(out.size() + sealed_size(plain.size()));
  while (!plain.empty()) {
    const std::size_t n = std::min(plain.size(), kMaxFragment);
    impl_->seal_record(kRecordApplicationData, plain.substr(0, n), out);
    plain.remove_prefix(n);
  }
}

void RecordLayer::seal_alert(std::uint8_t level, std::uint8_t description, std::string& out) {
  const char alert[2] = {static_cast<char>(level), static_cast<char>(description)};
  impl_->seal_record(kRecordAlert, {alert, sizeof alert}, out);
}

std::size_t RecordLayer::sealed_size(std::size_t plain) const {
  const std::size_t records = (plain + kMaxFragment - 1) / kMaxFragment;
  return plain + records * impl_->record_overhead();
}

std::uint64_t RecordLayer::rx_sequence() const {
  return impl_->rx.seq;
}

std::uint64_t RecordLayer::tx_sequence() const {
  return impl_->tx.seq;
}

}  // namespace ringmx::tls
