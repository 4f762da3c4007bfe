// Userspace TLS costs, measured in memory (see CMakeLists.txt).
//
//   build-*/bench/tls/tls_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// Bulk: records of 16 KiB, TLS 1.3 TLS_AES_128_GCM_SHA256, server side only
// (seal = what the server sends, open = what it receives). offload:1 routes
// AES-GCM to libcrypto (tls/crypto_offload.h), offload:0 is wolfSSL alone.
// The ceiling is raw AES-128-GCM over the same 16 KiB records.
// RecordLayer: tls/record_layer.h (the userspace record layer from the kTLS
// keys) opening the same client records, and sealing one 50-byte reply.
// X25519: a key pair and a shared secret through wolfCrypt's API, with the
// offload's device (libcrypto) and without.
// Sha256/Sha384: one update of `bytes` and a final through wolfCrypt's API,
// with the offload's device (libcrypto's block functions) and without.
// Handshakes: only the server's calls are timed (manual time, thread CPU
// clock): the result is handshakes per second per core of server CPU.
// Rates are per CPU second throughout (Google Benchmark's default), which
// is what a shard pinned to a core gets.
#include <benchmark/benchmark.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "tests/tls/mem_client.h"
#include "tests/tls/test_certs.h"
#include "tls/context.h"
#include "tls/crypto_offload.h"
#include "tls/evp_aead.h"
#include "tls/evp_record.h"
#include "tls/mb_record.h"
#include "tls/record_aead.h"
#include "tls/record_layer.h"
#include "tls/session.h"

namespace ringmx::tls {
namespace {

using testing::KeyKind;

constexpr size_t kRecord = 16384;
constexpr size_t kChunk = 1 << 20;  // bytes per iteration

std::shared_ptr<const ServerContext> make_context(KeyKind kind, bool offload) {
  set_crypto_offload(offload);
  std::map<std::string, config::Certificate> certs;
  certs["c"] = testing::certificate("c", testing::make_self_signed(kind, "bench.example"));
  config::TlsSettings s;
  s.enable = true;
  s.certificate.assign(1, 'c');  // not = "c": GCC 12 -Wrestrict false positive (PR 105329)
  s.protocols = {config::TlsVersion::tls13};
  auto r = ServerContext::build("bench", s, certs);
  if (!r.ok()) {
    std::fputs(r.error.c_str(), stderr);
    std::abort();
  }
  set_crypto_offload(true);
  return r.context;
}

void BM_Tls13ServerSeal(benchmark::State& state) {
  const bool offload = state.range(0) != 0;
  auto ctx = make_context(KeyKind::ecdsa_p256, offload);
  Session server(ctx, "bench");
  testing::MemClient client({.cipher_list = "TLS13-AES128-GCM-SHA256"});
  if (testing::pump(server, client) != testing::PumpResult::established) {
    state.SkipWithError("handshake failed");
    return;
  }
  const std::string chunk(kChunk, 'x');
  std::vector<std::byte> out;
  for (auto _ : state) {
    server.write(testing::as_bytes(chunk));
    server.take_output(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_Tls13ServerSeal)->ArgName("offload")->Arg(0)->Arg(1);

void BM_Tls13ServerOpen(benchmark::State& state) {
  const bool offload = state.range(0) != 0;
  auto ctx = make_context(KeyKind::ecdsa_p256, offload);
  Session server(ctx, "bench");
  // The client seals fast (libcrypto) so the untimed part stays short.
  testing::MemClient client(
      {.cipher_list = "TLS13-AES128-GCM-SHA256", .dev_id = crypto_offload_device()});
  if (testing::pump(server, client) != testing::PumpResult::established) {
    state.SkipWithError("handshake failed");
    return;
  }
  const std::string chunk(kChunk, 'x');
  std::vector<std::byte> plain(kRecord);
  for (auto _ : state) {
    state.PauseTiming();
    client.write(chunk);
    const auto records = client.take_output();
    state.ResumeTiming();
    server.feed(records);
    size_t got = 0;
    for (;;) {
      const auto r = server.read(plain);
      if (r.status != IoResult::Status::ok) break;
      got += r.bytes;
    }
    if (got != kChunk) state.SkipWithError("short read");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_Tls13ServerOpen)->ArgName("offload")->Arg(0)->Arg(1);

// tls/record_layer.h on the same traffic as BM_Tls13ServerOpen: records
// of 16 KiB from a wolfSSL client, fed in 16384-byte pieces as the ring's
// receive buffers deliver them, decrypted straight into one plaintext
// buffer that the reader empties after each call.
// A TLS 1.3 AES-128-GCM session established in memory, and the record
// layer made from its keys; the client stays for what it has to send.
struct RecordBench {
  std::unique_ptr<Session> server;
  std::unique_ptr<testing::MemClient> client;
  std::unique_ptr<RecordLayer> layer;
};

std::optional<RecordBench> record_bench(benchmark::State& state, int client_dev_id) {
  RecordBench b;
  b.server = std::make_unique<Session>(make_context(KeyKind::ecdsa_p256, true), "bench");
  b.client = std::make_unique<testing::MemClient>(
      testing::ClientOptions{.cipher_list = "TLS13-AES128-GCM-SHA256", .dev_id = client_dev_id});
  if (testing::pump(*b.server, *b.client) != testing::PumpResult::established) {
    state.SkipWithError("handshake failed");
    return std::nullopt;
  }
  const auto params = b.server->ktls_params();
  b.layer = params ? RecordLayer::create(*params) : nullptr;
  if (!b.layer) {
    state.SkipWithError("no record layer");
    return std::nullopt;
  }
  return b;
}

void BM_RecordLayerOpen(benchmark::State& state) {
  auto bench = record_bench(state, crypto_offload_device());
  if (!bench) return;
  testing::MemClient& client = *bench->client;
  RecordLayer* layer = bench->layer.get();
  const std::string chunk(kChunk, 'x');
  std::vector<char> plain(RecordLayer::kMaxPlaintext);
  for (auto _ : state) {
    state.PauseTiming();
    client.write(chunk);
    const auto records = client.take_output();
    state.ResumeTiming();
    const std::span<const char> wire(reinterpret_cast<const char*>(records.data()), records.size());
    size_t got = 0;
    size_t used = 0;  // of `plain`: where a partial record's bytes start
    for (size_t at = 0; at < wire.size(); at += kRecord) {
      auto piece = wire.subspan(at, std::min(kRecord, wire.size() - at));
      for (;;) {
        const auto r = layer->open(piece, std::span(plain).subspan(used));
        piece = piece.subspan(r.consumed);
        got += r.ready;
        used = r.status == RecordLayer::Opened::Status::need_input && layer->partial()
                   ? used + r.ready
                   : 0;
        if (r.status == RecordLayer::Opened::Status::need_input) break;
        if (r.status != RecordLayer::Opened::Status::need_buffer) {
          state.SkipWithError("not application data");
          return;
        }
      }
    }
    benchmark::DoNotOptimize(plain.data());
    if (got != kChunk) state.SkipWithError("short read");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_RecordLayerOpen);

// One SMTP reply sealed into a record, as after each pipelined group.
void BM_RecordLayerSeal(benchmark::State& state) {
  auto bench = record_bench(state, -2);  // INVALID_DEVID: the client's own crypto
  if (!bench) return;
  RecordLayer* layer = bench->layer.get();
  const std::string reply = "250 2.0.0 Ok: queued as 0123456789ABCDEFGHIJKLMN\r\n";  // 50 bytes
  std::string out;
  out.reserve(layer->sealed_size(reply.size()));
  for (auto _ : state) {
    out.clear();
    layer->seal(reply, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * reply.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RecordLayerSeal);

// The ceilings: AES-128-GCM over 16 KiB records with a 13-byte AAD, as a
// TLS record layer would call it, in libcrypto and in wolfCrypt.
void BM_AesGcm128Seal_libcrypto(benchmark::State& state) {
  std::vector<uint8_t> buf(kRecord), key(16, 7), iv(12, 9), aad(13, 1);
  uint8_t tag[16];
  for (auto _ : state) {
    for (size_t i = 0; i < kChunk / kRecord; ++i) {
      evp::aes_gcm_seal(key.data(), 16, iv.data(), 12, aad.data(), 13, buf.data(), kRecord,
                        buf.data(), tag, 16);
    }
    benchmark::DoNotOptimize(tag);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_AesGcm128Seal_libcrypto);

// One direction of the record layer's AEAD opening 16 KiB TLS 1.3 records
// (5-byte AAD, tag checked), by implementation: 0 libcrypto's EVP, 1
// ipsec-mb (what tls::make_record_aead picks where the CPU has VAES).
void BM_RecordAeadOpen(benchmark::State& state) {
  const auto make = state.range(0) ? mb::make_record_aead : evp::make_record_aead;
  const std::vector<uint8_t> key(16, 7), aad{23, 3, 3, 0x40, 0x11};
  std::vector<uint8_t> nonce(kRecordNonce, 9), record(kRecord + 1, 'x'), plain(record.size());
  uint8_t tag[kRecordTag];
  auto sealer = make(RecordCipher::aes_128_gcm, key, true);
  auto opener = make(RecordCipher::aes_128_gcm, key, false);
  if (!sealer || !opener) {
    state.SkipWithError("implementation not built in");
    return;
  }
  sealer->begin(nonce.data(), aad);
  sealer->update(record.data(), record.size(), record.data());
  sealer->seal_tag(tag);
  for (auto _ : state) {
    for (size_t i = 0; i < kChunk / kRecord; ++i) {
      opener->begin(nonce.data(), aad);
      opener->update(record.data(), record.size(), plain.data());
      if (!opener->open_tag(tag)) state.SkipWithError("tag");
    }
    benchmark::DoNotOptimize(plain.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_RecordAeadOpen)->ArgName("ipsec_mb")->Arg(0)->Arg(1);

void BM_AesGcm128Seal_wolfcrypt(benchmark::State& state) {
  std::vector<uint8_t> buf(kRecord), key(16, 7), iv(12, 9), aad(13, 1);
  uint8_t tag[16];
  Aes aes;
  wc_AesInit(&aes, nullptr, INVALID_DEVID);
  wc_AesGcmSetKey(&aes, key.data(), 16);
  for (auto _ : state) {
    for (size_t i = 0; i < kChunk / kRecord; ++i) {
      wc_AesGcmEncrypt(&aes, buf.data(), buf.data(), kRecord, iv.data(), 12, tag, 16, aad.data(),
                       13);
    }
    benchmark::DoNotOptimize(tag);
  }
  wc_AesFree(&aes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_AesGcm128Seal_wolfcrypt);

// One side of an X25519 exchange, as a TLS 1.3 server does it: a fresh key
// pair and the shared secret with the peer's share, through wolfCrypt's API
// with the offload's device (libcrypto) or without (wolfSSL's C code).
void BM_X25519KeygenAndSecret(benchmark::State& state) {
  const int dev = state.range(0) != 0 ? crypto_offload_device() : INVALID_DEVID;
  WC_RNG rng;
  wc_InitRng(&rng);
  curve25519_key peer;
  wc_curve25519_init(&peer);
  wc_curve25519_make_key(&rng, CURVE25519_KEYSIZE, &peer);
  byte secret[CURVE25519_KEYSIZE];
  for (auto _ : state) {
    curve25519_key key;
    wc_curve25519_init_ex(&key, nullptr, dev);
    word32 len = sizeof secret;
    if (wc_curve25519_make_key(&rng, CURVE25519_KEYSIZE, &key) != 0 ||
        wc_curve25519_shared_secret_ex(&key, &peer, secret, &len, EC25519_LITTLE_ENDIAN) != 0) {
      state.SkipWithError("x25519 failed");
    }
    wc_curve25519_free(&key);
    benchmark::DoNotOptimize(secret);
  }
  wc_curve25519_free(&peer);
  wc_FreeRng(&rng);
  state.SetLabel(dev == INVALID_DEVID ? "wolfssl" : "libcrypto");
}
BENCHMARK(BM_X25519KeygenAndSecret)->ArgName("offload")->Arg(0)->Arg(1);

// One update of state.range(0) bytes and a final, as a transcript hash or an
// HMAC half does them, on the offload's device or in wolfSSL alone.
template <class Obj, int (*Init)(Obj*, void*, int), int (*Update)(Obj*, const byte*, word32),
          int (*Final)(Obj*, byte*), void (*Free)(Obj*)>
void BM_HashUpdateFinal(benchmark::State& state) {
  const auto bytes = static_cast<size_t>(state.range(0));
  const int dev = state.range(1) != 0 ? crypto_offload_device() : INVALID_DEVID;
  std::vector<byte> data(bytes, 0x5a);
  byte digest[64];
  Obj obj;
  if (Init(&obj, nullptr, dev) != 0) state.SkipWithError("init");
  for (auto _ : state) {
    Update(&obj, data.data(), static_cast<word32>(data.size()));
    Final(&obj, digest);
    benchmark::DoNotOptimize(digest);
  }
  Free(&obj);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetLabel(dev == INVALID_DEVID ? "wolfssl" : "libcrypto");
}
BENCHMARK(
    BM_HashUpdateFinal<wc_Sha256, wc_InitSha256_ex, wc_Sha256Update, wc_Sha256Final, wc_Sha256Free>)
    ->Name("Sha256UpdateFinal")
    ->ArgNames({"bytes", "offload"})
    ->ArgsProduct({{64, 1024, 16384}, {0, 1}});
BENCHMARK(
    BM_HashUpdateFinal<wc_Sha384, wc_InitSha384_ex, wc_Sha384Update, wc_Sha384Final, wc_Sha384Free>)
    ->Name("Sha384UpdateFinal")
    ->ArgNames({"bytes", "offload"})
    ->ArgsProduct({{64, 1024, 16384}, {0, 1}});

// Server CPU per TLS 1.3 handshake: new session, ClientHello to Finished.
void BM_Tls13ServerHandshake(benchmark::State& state) {
  const auto kind = state.range(0) == 0 ? KeyKind::ecdsa_p256 : KeyKind::rsa_2048;
  const bool offload = state.range(2) != 0;
  auto ctx = make_context(kind, offload);
  std::vector<std::byte> out;
  // This thread's CPU time, not wall time: the machine is shared, and a
  // descheduled server is not a slower server.
  struct Clock {
    using duration = std::chrono::nanoseconds;
    static std::chrono::time_point<Clock, duration> now() {
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return std::chrono::time_point<Clock, duration>(
          duration(ts.tv_sec * 1000000000LL + ts.tv_nsec));
    }
  };
  const int group = state.range(1) == 0 ? WOLFSSL_ECC_SECP256R1 : WOLFSSL_ECC_X25519;
  const uint64_t hashes_before = crypto_offload_counts().hash;
  for (auto _ : state) {
    testing::MemClient client({});
    wolfSSL_UseKeyShare(client.ssl(), static_cast<word16>(group));
    Clock::duration server_time{};
    auto t0 = Clock::now();
    Session server(ctx, "bench");
    server_time += Clock::now() - t0;
    bool client_done = false;
    Handshake h = Handshake::in_progress;
    for (int round = 0; round < 8 && !(client_done && h == Handshake::done); ++round) {
      client_done = client.connect_step() || client_done;
      const auto hello = client.take_output();
      t0 = Clock::now();
      server.feed(hello);
      h = server.handshake();
      server.take_output(out);
      server_time += Clock::now() - t0;
      client.feed(out);
    }
    if (h != Handshake::done) state.SkipWithError("handshake failed");
    state.SetIterationTime(std::chrono::duration<double>(server_time).count());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  // Hash updates and finals the offload ran, per handshake (0 without it).
  state.counters["hash_ops"] =
      benchmark::Counter(static_cast<double>(crypto_offload_counts().hash - hashes_before),
                         benchmark::Counter::kAvgIterations);
  state.SetLabel(std::string(kind == KeyKind::ecdsa_p256 ? "ecdsa-p256" : "rsa-2048") +
                 (group == WOLFSSL_ECC_X25519 ? " x25519" : " p256-ecdhe") +
                 (offload ? " libcrypto" : " wolfssl-only"));
}
BENCHMARK(BM_Tls13ServerHandshake)
    ->ArgNames({"rsa", "x25519", "offload"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->UseManualTime();

}  // namespace
}  // namespace ringmx::tls

BENCHMARK_MAIN();
