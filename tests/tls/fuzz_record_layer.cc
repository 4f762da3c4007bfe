// libFuzzer target for RecordLayer::open (tls/record_layer.h). Build (clang
// only) and run:
// clang-format off
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRINGMX_FUZZ=ON -DRINGMX_SANITIZE=ON
//   cmake --build build-fuzz -j2 --target fuzz_record_layer
//   mkdir -p /tmp/record-corpus
//   build-fuzz/tests/tls/fuzz_record_layer -max_total_time=120 -max_len=40000 /tmp/record-corpus
// clang-format on
//
// Input: byte 0 picks version and cipher, byte 1 the mode, byte 2 seeds the
// split of the input into pieces, the rest is the payload. Mode bit 0 clear:
// the payload is fed as ciphertext. Set: the payload is sealed by a peer
// layer (the same keys, directions swapped), one byte is flipped when bit 1
// is set, and the records are fed in pieces. Invariants, abort() on breach:
//   - a sealed stream opens to exactly the payload, with no error;
//   - a tampered one never yields a byte that is not the payload's;
//   - consumed never exceeds the input, ready never exceeds the buffer;
//   - after an error every call returns it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tls/record_layer.h"

namespace {

using ringmx::tls::KtlsCryptoInfo;
using ringmx::tls::KtlsParams;
using ringmx::tls::RecordLayer;
using Status = RecordLayer::Opened::Status;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

// Deterministic keys: `salt` makes the two directions differ.
KtlsCryptoInfo info_for(std::uint8_t config, std::uint8_t salt) {
  KtlsCryptoInfo info;
  const bool tls13 = (config & 1) != 0;
  info.base.version = tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
  auto fill = [salt](unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      p[i] = static_cast<unsigned char>(i * 13 + salt);
  };
  switch ((config >> 1) % 3) {
    case 0:
      info.base.cipher_type = TLS_CIPHER_AES_GCM_128;
      info.size = sizeof info.aes_gcm_128;
      fill(info.aes_gcm_128.key, sizeof info.aes_gcm_128.key);
      fill(info.aes_gcm_128.iv, sizeof info.aes_gcm_128.iv);
      fill(info.aes_gcm_128.salt, sizeof info.aes_gcm_128.salt);
      info.aes_gcm_128.rec_seq[7] = salt;
      break;
    case 1:
      info.base.cipher_type = TLS_CIPHER_AES_GCM_256;
      info.size = sizeof info.aes_gcm_256;
      fill(info.aes_gcm_256.key, sizeof info.aes_gcm_256.key);
      fill(info.aes_gcm_256.iv, sizeof info.aes_gcm_256.iv);
      fill(info.aes_gcm_256.salt, sizeof info.aes_gcm_256.salt);
      info.aes_gcm_256.rec_seq[7] = salt;
      break;
    default:
      info.base.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
      info.size = sizeof info.chacha20_poly1305;
      fill(info.chacha20_poly1305.key, sizeof info.chacha20_poly1305.key);
      fill(info.chacha20_poly1305.iv, sizeof info.chacha20_poly1305.iv);
      info.chacha20_poly1305.rec_seq[7] = salt;
      break;
  }
  return info;
}

// Feeds `wire` in pieces, the way a caller keeps its buffer; returns the
// application data and whether the layer ended in an error.
std::string drain(RecordLayer& layer, const std::string& wire, std::uint8_t seed, bool& error) {
  std::string data;
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  // A small buffer at first, so that need_buffer happens.
  std::size_t size = (seed & 1) ? 1 + seed % 64 : plain.size();
  std::size_t used = 0;
  std::uint32_t rng = seed * 2654435761u + 1;
  error = false;
  for (std::size_t at = 0; at < wire.size();) {
    rng = rng * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(1 + (rng >> 16) % 20000, wire.size() - at);
    std::span<const char> piece(wire.data() + at, n);
    at += n;
    for (;;) {
      const std::span<char> room(plain.data() + used, size - used);
      const auto r = layer.open(piece, room);
      if (r.consumed > piece.size()) fail("consumed more than the input");
      if (r.ready > room.size()) fail("ready beyond the buffer");
      data.append(room.data(), r.ready);
      piece = piece.subspan(r.consumed);
      if (r.status == Status::error) {
        const auto again = layer.open(piece, room);
        if (again.status != Status::error || again.alert != r.alert) fail("error not sticky");
        error = true;
        return data;
      }
      if (r.status == Status::need_input) {
        if (!piece.empty()) fail("need_input with input left");
        used = layer.partial() ? used + r.ready : 0;
        break;
      }
      if (r.status == Status::need_buffer) size = plain.size();
      if (r.status == Status::control && r.body.size() > room.size() - r.ready) {
        fail("control body beyond the buffer");
      }
      used = 0;
    }
  }
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t config = bytes[0], mode = bytes[1], seed = bytes[2];
  const std::string payload(reinterpret_cast<const char*>(bytes + 3), size - 3);
  KtlsParams ours, peers;
  ours.tx = peers.rx = info_for(config, 1);
  ours.rx = peers.tx = info_for(config, 2);
  auto layer = RecordLayer::create(ours);
  auto peer = RecordLayer::create(peers);
  if (!layer || !peer) fail("create");

  bool error = false;
  if ((mode & 1) == 0) {
    drain(*layer, payload, seed, error);
    return 0;
  }
  std::string wire;
  peer->seal(payload, wire);
  if (wire.size() != peer->sealed_size(payload.size())) fail("sealed_size");
  const bool tamper = (mode & 2) != 0 && !wire.empty();
  if (tamper) wire[(seed * 7919u + mode) % wire.size()] ^= static_cast<char>(1 + (mode >> 2));
  const std::string data = drain(*layer, wire, seed, error);
  if (!tamper && (error || data != payload)) fail("sealed stream did not open to the payload");
  if (data.size() > payload.size() || payload.compare(0, data.size(), data) != 0) {
    fail("opened bytes the peer never sent");
  }
  return 0;
}
