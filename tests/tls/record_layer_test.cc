// tls/record_layer.h against a real wolfSSL peer and against the kernel's
// record rules (tests/tls/kernel_record.h), for every suite kTLS maps: the
// plaintext byte for byte whatever the input's split, the sequence numbers,
// control records, and every way a record is refused.
#include "tls/record_layer.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tests/tls/kernel_record.h"
#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

using testing::KeyKind;
using testing::PumpResult;
using Status = RecordLayer::Opened::Status;

struct Suite {
  const char* name;  // test name
  KeyKind key;
  int max_version;
  const char* client_ciphers;  // wolfSSL name: the client offers only this
  bool tls13;
  bool explicit_nonce;  // TLS 1.2 AES-GCM
};

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// What a stream of records opened to, fed in pieces as a caller would:
// the ready bytes taken from the front of its buffer, the buffer advanced
// while a record is partial, and another buffer after need_buffer.
struct Drained {
  std::string data;
  std::vector<size_t> ready;  // every non-zero `ready`, in order
  std::vector<std::pair<uint8_t, std::string>> controls;
  RecordLayer::Opened last;  // the last call's result
  std::string last_what;
};

Drained open_in_pieces(RecordLayer& layer, std::string_view wire, const std::vector<size_t>& pieces,
                       size_t plain_size = RecordLayer::kMaxPlaintext) {
  Drained out;
  std::vector<char> buffers[2] = {std::vector<char>(plain_size), std::vector<char>(plain_size)};
  int current = 0;
  size_t used = 0;  // of the current buffer: a partial record's bytes start here
  size_t at = 0;
  for (const size_t piece_size : pieces) {
    const std::span<const char> piece(wire.data() + at, piece_size);
    at += piece_size;
    size_t pos = 0;
    for (;;) {
      char* front = buffers[current].data() + used;
      const auto r = layer.open(piece.subspan(pos), {front, plain_size - used});
      out.last = r;
      out.last_what = std::string(r.what);
      pos += r.consumed;
      out.data.append(front, r.ready);
      used += r.ready;
      if (r.ready > 0) out.ready.push_back(r.ready);
      if (r.status == Status::error) return out;
      if (r.status == Status::need_input) {
        EXPECT_EQ(pos, piece.size());
        if (!layer.partial()) used = 0;
        break;
      }
      if (r.status == Status::need_buffer) {
        EXPECT_GT(used, 0u) << "need_buffer with an empty buffer";
        current ^= 1;  // a fresh buffer: allowed, nothing of the record is in the old one
        used = 0;
        continue;
      }
      out.controls.emplace_back(r.record_type, std::string(r.body.data(), r.body.size()));
      used = 0;
    }
  }
  EXPECT_EQ(at, wire.size());
  return out;
}

std::vector<size_t> pieces_of(size_t total, size_t each) {
  std::vector<size_t> v;
  for (size_t at = 0; at < total; at += each)
    v.push_back(std::min(each, total - at));
  return v;
}

std::vector<size_t> random_pieces(size_t total, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> size(1, 3000);
  std::vector<size_t> v;
  for (size_t at = 0; at < total;) {
    const size_t n = std::min(size(rng), total - at);
    v.push_back(n);
    at += n;
  }
  return v;
}

void PrintTo(const Suite& s, std::ostream* os) {
  *os << s.name;
}

class RecordLayerPeer : public ::testing::TestWithParam<Suite> {
 protected:
  void SetUp() override {
    const Suite& s = GetParam();
    auto ctx = testing::one_certificate_context(s.key);
    ASSERT_TRUE(ctx.ok()) << ctx.error;
    server_ = std::make_unique<Session>(ctx.context, "192.0.2.1:1");
    client_ = std::make_unique<testing::MemClient>(
        testing::ClientOptions{.max_version = s.max_version, .cipher_list = s.client_ciphers});
    ASSERT_EQ(testing::pump(*server_, *client_), PumpResult::established) << server_->failure();
    auto params = server_->ktls_params();
    ASSERT_TRUE(params.has_value());
    params_ = *params;
    layer_ = RecordLayer::create(params_);
    ASSERT_NE(layer_, nullptr);
  }

  // A record as the peer (or a kernel TLS_TX with the peer's keys) sends it.
  std::string peer_record(uint64_t index, uint8_t type, std::string_view plain) const {
    return as_string(testing::kernel_seal(params_.rx, index, type, plain));
  }

  size_t prefix() const { return GetParam().explicit_nonce ? 8 : 0; }
  // kernel_seal's wolfCrypt ChaCha20-Poly1305 refuses an empty plaintext,
  // which only TLS 1.2 has (TLS 1.3 always carries the type byte).

  // kernel_seal (wolfCrypt) cannot make an empty TLS 1.2 ChaCha20 record.
  bool can_seal_empty() const { return GetParam().tls13 || GetParam().explicit_nonce; }

  std::unique_ptr<Session> server_;
  std::unique_ptr<testing::MemClient> client_;
  KtlsParams params_;
  std::unique_ptr<RecordLayer> layer_;
};

// The client's messages: 1 byte, 100, one full record, and 40,000 bytes
// that span three records.
const std::vector<std::string>& client_messages() {
  static const std::vector<std::string> m = [] {
    std::vector<std::string> v;
    for (size_t n : {size_t{1}, size_t{100}, size_t{16384}, size_t{40000}}) {
      std::string s(n, '\0');
      for (size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + n) % 26);
      v.push_back(std::move(s));
    }
    return v;
  }();
  return m;
}

TEST_P(RecordLayerPeer, OpensWolfsslRecordsWhateverTheSplit) {
  std::string expected;
  for (const auto& m : client_messages()) {
    client_->write(m);
    expected += m;
  }
  const std::string wire = as_string(client_->take_output());
  const uint64_t rx0 = testing::rec_seq(params_.rx);
  const std::vector<size_t> record_sizes = {1, 100, 16384, 16384, 16384, 7232};

  struct Split {
    const char* name;
    std::vector<size_t> pieces;
  };
  const Split splits[] = {
      {"whole", {wire.size()}},
      {"one byte", pieces_of(wire.size(), 1)},
      {"16384-byte pieces", pieces_of(wire.size(), 16384)},
      {"random seed 1", random_pieces(wire.size(), 1)},
      {"random seed 2", random_pieces(wire.size(), 2)},
  };
  for (const auto& split : splits) {
    SCOPED_TRACE(split.name);
    auto layer = RecordLayer::create(params_);
    ASSERT_NE(layer, nullptr);
    const Drained d = open_in_pieces(*layer, wire, split.pieces);
    EXPECT_EQ(d.last.status, Status::need_input) << d.last_what;
    EXPECT_EQ(d.data.size(), expected.size());
    EXPECT_TRUE(d.data == expected) << "plaintext differs";
    EXPECT_TRUE(d.controls.empty());
    EXPECT_FALSE(layer->partial());
    EXPECT_EQ(layer->rx_sequence(), rx0 + record_sizes.size());
    EXPECT_EQ(layer->tx_sequence(), testing::rec_seq(params_.tx));
    if (split.pieces.size() == wire.size() || split.pieces.size() == 1) {
      // One byte at a time, each record counts when its last tag byte
      // arrives. All at once into kMaxPlaintext bytes: the first three
      // records share the buffer, then each later one needs a new buffer
      // (16384 + the next record's plaintext > kMaxPlaintext).
      const std::vector<size_t> want =
          split.pieces.size() == 1 ? std::vector<size_t>{1 + 100 + 16384, 16384, 16384, 7232}
                                   : record_sizes;
      EXPECT_EQ(d.ready, want);
    }
  }
}

TEST_P(RecordLayerPeer, SealedRepliesReadByWolfssl) {
  const uint64_t tx0 = testing::rec_seq(params_.tx);
  const std::string small = "250 2.0.0 Ok: queued as 1234\r\n";
  std::string big(40000, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 31);

  std::string out;
  layer_->seal(small, out);
  EXPECT_EQ(out.size(), layer_->sealed_size(small.size()));
  EXPECT_EQ(layer_->tx_sequence(), tx0 + 1);
  client_->feed(testing::as_bytes(out));
  EXPECT_EQ(client_->read_all(), small);

  out.clear();
  layer_->seal(big, out);
  EXPECT_EQ(out.size(), layer_->sealed_size(big.size()));
  EXPECT_EQ(layer_->tx_sequence(), tx0 + 4);  // 16384 + 16384 + 7232
  client_->feed(testing::as_bytes(out));
  EXPECT_TRUE(client_->read_all() == big);

  out.clear();
  layer_->seal("", out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(layer_->tx_sequence(), tx0 + 4);

  layer_->seal_alert(1, 0, out);
  EXPECT_EQ(layer_->tx_sequence(), tx0 + 5);
  client_->feed(testing::as_bytes(out));
  char c;
  const int n = wolfSSL_read(client_->ssl(), &c, 1);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(wolfSSL_get_error(client_->ssl(), n), WOLFSSL_ERROR_ZERO_RETURN);
}

TEST_P(RecordLayerPeer, ClientCloseNotifyIsAControlRecordThatEnds) {
  client_->write("QUIT\r\n");
  wolfSSL_shutdown(client_->ssl());
  const std::string wire = as_string(client_->take_output());
  for (size_t cut : {wire.size(), size_t{1}, wire.size() - 1}) {
    SCOPED_TRACE(cut);
    auto layer = RecordLayer::create(params_);
    const Drained d = open_in_pieces(*layer, wire, {cut, wire.size() - cut});
    EXPECT_EQ(d.data, "QUIT\r\n");
    ASSERT_EQ(d.controls.size(), 1u);
    EXPECT_EQ(d.controls[0].first, kRecordAlert);
    EXPECT_EQ(d.controls[0].second, std::string("\x01\x00", 2));
    const std::string& body = d.controls[0].second;
    EXPECT_EQ(classify_record(kRecordAlert, false, body).action, KtlsRecordAction::end);
    EXPECT_EQ(layer->rx_sequence(), testing::rec_seq(params_.rx) + 2);
  }
}

TEST_P(RecordLayerPeer, OpensKernelSealedRecordsAndKernelOpensSealed) {
  std::string wire;
  const std::string up[] = {"EHLO a\r\n", can_seal_empty() ? "" : "-", std::string(16384, 'z'),
                            "MAIL FROM:<>\r\n"};
  for (uint64_t i = 0; i < 4; ++i)
    wire += peer_record(i, kRecordApplicationData, up[i]);
  const Drained d = open_in_pieces(*layer_, wire, random_pieces(wire.size(), 3));
  EXPECT_EQ(d.last.status, Status::need_input);
  EXPECT_TRUE(d.data == up[0] + up[1] + up[2] + up[3]);
  EXPECT_EQ(layer_->rx_sequence(), testing::rec_seq(params_.rx) + 4);

  const std::string down[] = {"220 hi\r\n", std::string(16384, 'q'), "x"};
  for (uint64_t i = 0; i < 3; ++i) {
    std::string out;
    layer_->seal(down[i], out);
    auto opened = testing::kernel_open(params_.tx, i, testing::as_bytes(out));
    ASSERT_TRUE(opened.has_value()) << i;
    EXPECT_EQ(opened->content_type, kRecordApplicationData);
    EXPECT_TRUE(opened->plain == down[i]);
    EXPECT_EQ(opened->record_size, out.size());
    // Byte for byte what TLS_TX would send, TLS 1.2 GCM's explicit nonce
    // (iv + records sealed) included, which a receiver cannot check.
    EXPECT_TRUE(out ==
                as_string(testing::kernel_seal(params_.tx, i, kRecordApplicationData, down[i])))
        << i;
  }
  std::string alert;
  layer_->seal_alert(2, 40, alert);
  auto opened = testing::kernel_open(params_.tx, 3, testing::as_bytes(alert));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->content_type, kRecordAlert);
  EXPECT_EQ(opened->plain, std::string("\x02\x28", 2));
  EXPECT_EQ(alert, as_string(testing::kernel_seal(params_.tx, 3, kRecordAlert,
                                                  std::string("\x02\x28", 2))));
}

TEST_P(RecordLayerPeer, KeyUpdateIsControlAndClosesCleanly) {
  const std::string key_update("\x18\x00\x00\x01\x00", 5);
  const std::string wire = peer_record(0, kRecordApplicationData, "DATA\r\n") +
                           peer_record(1, kRecordHandshake, key_update) +
                           peer_record(2, kRecordApplicationData, "after");
  const Drained d = open_in_pieces(*layer_, wire, {wire.size()});
  EXPECT_EQ(d.data, "DATA\r\nafter");  // the caller chose to go on
  ASSERT_EQ(d.controls.size(), 1u);
  EXPECT_EQ(d.controls[0].first, kRecordHandshake);
  EXPECT_EQ(d.controls[0].second, key_update);
  EXPECT_EQ(classify_record(kRecordHandshake, false, d.controls[0].second).action,
            KtlsRecordAction::close_clean);
}

TEST_P(RecordLayerPeer, ControlBodySitsAfterTheReadyBytes) {
  const std::string wire = peer_record(0, kRecordApplicationData, "abc") +
                           peer_record(1, kRecordAlert, std::string("\x01\x00", 2));
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  const auto r = layer_->open(wire, plain);
  EXPECT_EQ(r.status, Status::control);
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(r.ready, 3u);
  EXPECT_EQ(std::string(plain.data(), 3), "abc");
  EXPECT_EQ(r.body.data(), plain.data() + 3);
  EXPECT_EQ(r.body.size(), 2u);
  EXPECT_EQ(r.record_type, kRecordAlert);
}

// Subsets of the suites for what only some of them have.
class RecordLayerTls13 : public RecordLayerPeer {};          // inner content type, padding
class RecordLayerExplicitNonce : public RecordLayerPeer {};  // TLS 1.2 AES-GCM
class RecordLayerEmptyRecords : public RecordLayerPeer {};   // kernel_seal can make empty ones

TEST_P(RecordLayerTls13, PaddingIsStrippedAndOverwritten) {
  // kernel_seal appends the type it is given: type 0 after a body that
  // ends in type and zeros makes a padded TLSInnerPlaintext.
  const std::string padded_data = std::string("hello") + '\x17' + std::string(40, '\0');
  const std::string padded_handshake =
      std::string("\x18\x00\x00\x01\x00", 5) + '\x16' + std::string(7, '\0');
  const std::string wire = peer_record(0, 0, padded_data) +
                           peer_record(1, kRecordApplicationData, " world") +
                           peer_record(2, 0, padded_handshake);
  std::vector<char> plain(RecordLayer::kMaxPlaintext, '#');
  const auto r = layer_->open(wire, plain);
  EXPECT_EQ(r.status, Status::control);
  EXPECT_EQ(r.ready, 11u);
  EXPECT_EQ(std::string(plain.data(), 11), "hello world");  // no type byte, no padding between
  EXPECT_EQ(r.record_type, kRecordHandshake);
  EXPECT_EQ(std::string(r.body.data(), r.body.size()), std::string("\x18\x00\x00\x01\x00", 5));
  EXPECT_EQ(r.body.data(), plain.data() + 11);
}

TEST_P(RecordLayerEmptyRecords, ZeroLengthApplicationDataIsFine) {
  const std::string wire =
      peer_record(0, kRecordApplicationData, "") + peer_record(1, kRecordApplicationData, "x");
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  const auto r = layer_->open(wire, plain);
  EXPECT_EQ(r.status, Status::need_input);
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(r.ready, 1u);
  EXPECT_EQ(layer_->rx_sequence(), testing::rec_seq(params_.rx) + 2);
}

void expect_error(RecordLayer& layer, std::string_view wire, uint8_t alert, std::string_view what) {
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  const auto r = layer.open(wire, plain);
  EXPECT_EQ(r.status, Status::error);
  EXPECT_EQ(r.alert, alert);
  EXPECT_EQ(r.what, what);
  EXPECT_EQ(r.ready, 0u);
  // Sticky: the next call, even with nothing, says the same.
  const auto again = layer.open({}, plain);
  EXPECT_EQ(again.status, Status::error);
  EXPECT_EQ(again.alert, alert);
  EXPECT_EQ(again.what, what);
  EXPECT_EQ(again.consumed, 0u);
}

TEST_P(RecordLayerPeer, FlippedCiphertextBitIsBadRecordMac) {
  std::string wire = peer_record(0, kRecordApplicationData, "RCPT TO:<a@b>\r\n");
  wire[5 + prefix() + 3] ^= 0x10;
  expect_error(*layer_, wire, 20, "bad_record_mac");
}

TEST_P(RecordLayerPeer, FlippedTagBitIsBadRecordMac) {
  std::string wire = peer_record(0, kRecordApplicationData, "RCPT TO:<a@b>\r\n");
  wire.back() ^= 0x01;
  expect_error(*layer_, wire, 20, "bad_record_mac");
}

TEST_P(RecordLayerPeer, WrongSequenceIsBadRecordMac) {
  expect_error(*layer_, peer_record(1, kRecordApplicationData, "skipped one"), 20,
               "bad_record_mac");
}

TEST_P(RecordLayerExplicitNonce, FlippedExplicitNonceIsBadRecordMac) {
  std::string wire = peer_record(0, kRecordApplicationData, "x");
  wire[5] ^= 0x80;
  expect_error(*layer_, wire, 20, "bad_record_mac");
}

TEST_P(RecordLayerPeer, OverlongRecordIsRecordOverflow) {
  const size_t length = 16384 + 257;
  const std::string header = {23, 3, 3, static_cast<char>(length >> 8), static_cast<char>(length)};
  expect_error(*layer_, header, 22, "record_overflow");
}

TEST_P(RecordLayerPeer, PlaintextOverTheLimitIsRecordOverflow) {
  // Within kMaxCiphertext, but more than 2^14 (+ the type byte in TLS 1.3)
  // once opened: refused from the header.
  const size_t length = prefix() + 16384 + (GetParam().tls13 ? 2 : 1) + 16;
  const std::string header = {23, 3, 3, static_cast<char>(length >> 8), static_cast<char>(length)};
  expect_error(*layer_, header, 22, "record_overflow");
}

TEST_P(RecordLayerPeer, LargestRecordOpens) {
  const std::string big(16384, 'L');
  const std::string wire = peer_record(0, kRecordApplicationData, big);
  const Drained d = open_in_pieces(*layer_, wire, pieces_of(wire.size(), 4096));
  EXPECT_EQ(d.last.status, Status::need_input);
  EXPECT_TRUE(d.data == big);
}

TEST_P(RecordLayerPeer, WrongOuterTypeIsUnexpectedMessage) {
  // TLS 1.3: any outer type but 23; TLS 1.2: change_cipher_spec.
  std::string wire = peer_record(0, kRecordApplicationData, "x");
  wire[0] = GetParam().tls13 ? 22 : 20;
  expect_error(*layer_, wire, 10, "unexpected_record_type");
}

TEST_P(RecordLayerPeer, UnknownTypeIsUnexpectedMessage) {
  // TLS 1.3: an authenticated inner type 24 (heartbeat); TLS 1.2: outer 24.
  const std::string wire = peer_record(0, 24, "beat");
  expect_error(*layer_, wire, 10, "unexpected_record_type");
}

TEST_P(RecordLayerTls13, AllZeroInnerPlaintextIsUnexpectedMessage) {
  expect_error(*layer_, peer_record(0, 0, std::string(3, '\0')), 10, "no_inner_content_type");
}

TEST_P(RecordLayerPeer, TooShortBodyIsDecodeError) {
  const size_t length = prefix() + 15;
  std::string wire = {23, 3, 3, 0, static_cast<char>(length)};
  wire += std::string(length, '\0');
  expect_error(*layer_, wire, 50, "record_too_short");
}

TEST_P(RecordLayerPeer, WrongVersionIsDecodeError) {
  std::string wire = peer_record(0, kRecordApplicationData, "x");
  wire[2] = 1;  // 0x0301
  expect_error(*layer_, wire, 50, "bad_record_version");
}

TEST_P(RecordLayerPeer, ErrorAfterGoodRecordsKeepsTheirReadyBytes) {
  std::string bad = peer_record(1, kRecordApplicationData, "second");
  bad.back() ^= 1;
  const std::string wire = peer_record(0, kRecordApplicationData, "first") + bad;
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  const auto r = layer_->open(wire, plain);
  EXPECT_EQ(r.status, Status::error);
  EXPECT_EQ(r.alert, 20);
  EXPECT_EQ(r.ready, 5u);
  EXPECT_EQ(std::string(plain.data(), 5), "first");
  EXPECT_EQ(r.consumed, wire.size());
}

TEST_P(RecordLayerPeer, MovingTheBufferWhilePartialIsAnError) {
  const std::string wire = peer_record(0, kRecordApplicationData, std::string(1000, 'm'));
  std::vector<char> plain(RecordLayer::kMaxPlaintext), other(RecordLayer::kMaxPlaintext);
  const auto r = layer_->open(std::string_view(wire).substr(0, 500), plain);
  EXPECT_EQ(r.status, Status::need_input);
  EXPECT_EQ(r.consumed, 500u);
  EXPECT_EQ(r.ready, 0u);
  EXPECT_TRUE(layer_->partial());
  const auto moved = layer_->open(std::string_view(wire).substr(500), other);
  EXPECT_EQ(moved.status, Status::error);
  EXPECT_EQ(moved.what, "buffer_moved");
  EXPECT_EQ(layer_->open({}, plain).what, "buffer_moved");
}

TEST_P(RecordLayerPeer, PartialRecordContinuesInTheSameBuffer) {
  const std::string wire = peer_record(0, kRecordApplicationData, "ab") +
                           peer_record(1, kRecordApplicationData, std::string(1000, 'm'));
  const size_t cut = wire.size() - 300;
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  const auto r = layer_->open(std::string_view(wire).substr(0, cut), plain);
  EXPECT_EQ(r.status, Status::need_input);
  EXPECT_EQ(r.ready, 2u);
  EXPECT_TRUE(layer_->partial());
  // The caller took the 2 ready bytes: the record goes on at plain + 2.
  const auto rest =
      layer_->open(std::string_view(wire).substr(cut), std::span(plain).subspan(r.ready));
  EXPECT_EQ(rest.status, Status::need_input);
  EXPECT_EQ(rest.ready, 1000u);
  EXPECT_EQ(std::string(plain.data() + 2, 1000), std::string(1000, 'm'));
  EXPECT_FALSE(layer_->partial());
}

TEST_P(RecordLayerPeer, NeedBufferThenAFreshBuffer) {
  const std::string wire = peer_record(0, kRecordApplicationData, std::string(100, 'n'));
  std::vector<char> small(10);
  const auto r = layer_->open(wire, small);
  EXPECT_EQ(r.status, Status::need_buffer);
  EXPECT_EQ(r.consumed, 5u);  // the header, kept
  EXPECT_EQ(r.ready, 0u);
  EXPECT_TRUE(layer_->partial());
  // Asking again with the same small buffer changes nothing.
  const auto again = layer_->open(std::string_view(wire).substr(5), small);
  EXPECT_EQ(again.status, Status::need_buffer);
  EXPECT_EQ(again.consumed, 0u);
  std::vector<char> fresh(RecordLayer::kMaxPlaintext);
  const auto ok = layer_->open(std::string_view(wire).substr(5), fresh);
  EXPECT_EQ(ok.status, Status::need_input);
  EXPECT_EQ(ok.consumed, wire.size() - 5);
  EXPECT_EQ(ok.ready, 100u);
  EXPECT_EQ(std::string(fresh.data(), 100), std::string(100, 'n'));
}

TEST_P(RecordLayerPeer, ExactFitNeedsNoNewBuffer) {
  // The record's plaintext (with TLS 1.3's type byte) just fits.
  const std::string wire = peer_record(0, kRecordApplicationData, std::string(10, 'e'));
  std::vector<char> plain(GetParam().tls13 ? 11 : 10);
  const auto r = layer_->open(wire, plain);
  EXPECT_EQ(r.status, Status::need_input);
  EXPECT_EQ(r.ready, 10u);
}

TEST_P(RecordLayerPeer, SequenceNumbersAdvanceFromTheCryptoInfo) {
  const uint64_t rx0 = testing::rec_seq(params_.rx), tx0 = testing::rec_seq(params_.tx);
  EXPECT_EQ(layer_->rx_sequence(), rx0);
  EXPECT_EQ(layer_->tx_sequence(), tx0);
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  for (uint64_t i = 0; i < 3; ++i) {
    const auto r = layer_->open(peer_record(i, kRecordApplicationData, "s"), plain);
    EXPECT_EQ(r.ready, 1u);
    EXPECT_EQ(layer_->rx_sequence(), rx0 + i + 1);
    std::string out;
    layer_->seal("t", out);
    EXPECT_EQ(layer_->tx_sequence(), tx0 + i + 1);
  }
}

const Suite kSuites[] = {
    {"Tls13Aes128Gcm", KeyKind::ecdsa_p256, 0, "TLS13-AES128-GCM-SHA256", true, false},
    {"Tls13Aes256Gcm", KeyKind::ecdsa_p256, 0, "TLS13-AES256-GCM-SHA384", true, false},
    {"Tls13Chacha20", KeyKind::ecdsa_p256, 0, "TLS13-CHACHA20-POLY1305-SHA256", true, false},
    {"Tls12EcdheRsaAes128Gcm", KeyKind::rsa_2048, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256",
     false, true},
    {"Tls12EcdheRsaAes256Gcm", KeyKind::rsa_2048, TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384",
     false, true},
    {"Tls12EcdheRsaChacha20", KeyKind::rsa_2048, TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305",
     false, false},
    {"Tls12EcdheEcdsaAes128Gcm", KeyKind::ecdsa_p256, TLS1_2_VERSION,
     "ECDHE-ECDSA-AES128-GCM-SHA256", false, true},
    {"Tls12EcdheEcdsaAes256Gcm", KeyKind::ecdsa_p256, TLS1_2_VERSION,
     "ECDHE-ECDSA-AES256-GCM-SHA384", false, true},
    {"Tls12EcdheEcdsaChacha20", KeyKind::ecdsa_p256, TLS1_2_VERSION,
     "ECDHE-ECDSA-CHACHA20-POLY1305", false, false},
};

std::string suite_name(const ::testing::TestParamInfo<Suite>& i) {
  return i.param.name;
}

std::vector<Suite> suites_where(bool (*keep)(const Suite&)) {
  std::vector<Suite> out;
  for (const Suite& s : kSuites)
    if (keep(s)) out.push_back(s);
  return out;
}

INSTANTIATE_TEST_SUITE_P(EverySuite, RecordLayerPeer, ::testing::ValuesIn(kSuites), suite_name);
INSTANTIATE_TEST_SUITE_P(Tls13Suites, RecordLayerTls13,
                         ::testing::ValuesIn(suites_where([](const Suite& s) { return s.tls13; })),
                         suite_name);
INSTANTIATE_TEST_SUITE_P(
    Tls12AesGcmSuites, RecordLayerExplicitNonce,
    ::testing::ValuesIn(suites_where([](const Suite& s) { return s.explicit_nonce; })), suite_name);
// wolfCrypt's ChaCha20-Poly1305, which kernel_seal uses, refuses empty
// input, so the TLS 1.2 ChaCha20 suites have no empty record to open.
INSTANTIATE_TEST_SUITE_P(SuitesWithEmptyRecords, RecordLayerEmptyRecords,
                         ::testing::ValuesIn(suites_where([](const Suite& s) {
                           return s.tls13 || s.explicit_nonce;
                         })),
                         suite_name);

TEST(RecordLayerCreate, RefusesWhatItLacks) {
  KtlsParams params;  // version 0
  EXPECT_EQ(RecordLayer::create(params), nullptr);
  params.tx.base.version = params.rx.base.version = TLS_1_3_VERSION;
  params.tx.base.cipher_type = params.rx.base.cipher_type = TLS_CIPHER_AES_CCM_128;
  EXPECT_EQ(RecordLayer::create(params), nullptr);
  params.tx.base.cipher_type = params.rx.base.cipher_type = TLS_CIPHER_AES_GCM_128;
  EXPECT_NE(RecordLayer::create(params), nullptr);
  params.rx.base.version = TLS_1_2_VERSION;  // directions disagree
  EXPECT_EQ(RecordLayer::create(params), nullptr);
  params.rx.base.version = TLS_1_3_VERSION;
  params.rx.base.cipher_type = TLS_CIPHER_AES_GCM_256;
  EXPECT_EQ(RecordLayer::create(params), nullptr);
}

}  // namespace
}  // namespace ringmx::tls
