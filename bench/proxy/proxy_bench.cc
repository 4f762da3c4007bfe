// PROXY header parsing speed: v1 and v2 headers as HAProxy sends them,
// each followed by the client's first SMTP bytes (parse must stop at the
// header end), plus the per-read cost of a header arriving in pieces.
#include <arpa/inet.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "protocols/proxy/crc32c.h"
#include "protocols/proxy/proxy.h"

namespace {

using namespace std::string_literals;
using ringmx::proxy::parse;
using ringmx::proxy::Status;

const std::string kSmtp = "EHLO client.example\r\n";

std::string v2_ipv4(std::string tlvs = "") {
  std::string s = "\r\n\r\n\0\r\nQUIT\n\x21\x11"s;
  std::size_t len = 12 + tlvs.size();
  s += static_cast<char>(len >> 8);
  s += static_cast<char>(len & 0xff);
  std::string block(12, '\0');
  inet_pton(AF_INET, "192.0.2.10", block.data());
  inet_pton(AF_INET, "198.51.100.1", block.data() + 4);
  block[8] = '\x9c', block[9] = '\x40', block[11] = 25;
  return s + block + tlvs;
}

std::string v2_ipv6() {
  std::string s = "\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24"s;
  std::string block(36, '\0');
  inet_pton(AF_INET6, "2001:db8::7", block.data());
  inet_pton(AF_INET6, "2001:db8::1", block.data() + 16);
  block[35] = 25;
  return s + block;
}

void run(benchmark::State& state, const std::string& input) {
  for (auto _ : state) {
    ringmx::proxy::Result r = parse(input);
    benchmark::DoNotOptimize(r);
    if (r.status != Status::complete) state.SkipWithError("header did not parse");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(input.size()));
}

void BM_V1Tcp4(benchmark::State& state) {
  run(state, "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n" + kSmtp);
}
void BM_V1Tcp6(benchmark::State& state) {
  run(state, "PROXY TCP6 2001:db8:85a3::8a2e:370:7334 2001:db8::1 40000 25\r\n" + kSmtp);
}
void BM_V1Unknown(benchmark::State& state) {
  run(state, "PROXY UNKNOWN\r\n" + kSmtp);
}
void BM_V2Ipv4(benchmark::State& state) {
  run(state, v2_ipv4() + kSmtp);
}
void BM_V2Ipv6(benchmark::State& state) {
  run(state, v2_ipv6() + kSmtp);
}
// HAProxy send-proxy-v2-ssl: ALPN, SSL TLV with version and cipher, unique id.
void BM_V2Ipv4Tlvs(benchmark::State& state) {
  std::string tlvs = "\x01\x00\x02h2"s +                      // ALPN
                     "\x20\x00\x21\x01\x00\x00\x00\x00"s +    // SSL, 33 bytes
                     "\x21\x00\x07TLSv1.3"s +                 //   version
                     "\x23\x00\x0fTLS_AES_128_GCM"s +         //   cipher
                     "\x05\x00\x20"s + std::string(32, 'u');  // unique id
  run(state, v2_ipv4(tlvs) + kSmtp);
}

// HAProxy proxy-v2-options unique-id,crc32c: the checksum is verified
// over the whole header.
void BM_V2Ipv4Crc32c(benchmark::State& state) {
  std::string h = v2_ipv4("\x05\x00\x20"s + std::string(32, 'u') + "\x03\x00\x04\0\0\0\0"s);
  std::uint32_t crc =
      ringmx::proxy::crc32c_final(ringmx::proxy::crc32c_update(ringmx::proxy::crc32c_init, h));
  for (int i = 0; i < 4; ++i)
    h[h.size() - 4 + i] = static_cast<char>(crc >> (24 - 8 * i));
  run(state, h + kSmtp);
}

// The header arriving one byte per read, re-parsed from the start each
// time as the runtime does: the cost of a pathological split.
void BM_V1ByteByByte(benchmark::State& state) {
  std::string input = "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n";
  for (auto _ : state) {
    ringmx::proxy::Result r;
    for (std::size_t n = 1; n <= input.size(); ++n) {
      r = parse(std::span<const char>(input.data(), n));
      benchmark::DoNotOptimize(r);
    }
    if (r.status != Status::complete) state.SkipWithError("header did not parse");
  }
  state.SetItemsProcessed(state.iterations());
}

// Baselines, measured in the same run for the ratios in the report: the
// floor of finding the line end, and the naive parse many servers ship
// (sscanf into buffers, then inet_pton on each address).
void BM_BaselineFindCrlf(benchmark::State& state) {
  std::string input = "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n" + kSmtp;
  for (auto _ : state) {
    const void* p = std::memchr(input.data(), '\r', input.size());
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BaselineSscanfV1Tcp4(benchmark::State& state) {
  std::string input = "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n" + kSmtp;
  for (auto _ : state) {
    char proto[8], src[46], dst[46];
    unsigned sport = 0, dport = 0;
    int n = 0;
    int fields = std::sscanf(input.c_str(), "PROXY %7s %45s %45s %u %u\r\n%n", proto, src, dst,
                             &sport, &dport, &n);
    in_addr s{}, d{};
    bool ok = fields == 5 && inet_pton(AF_INET, src, &s) == 1 && inet_pton(AF_INET, dst, &d) == 1;
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(d);
    if (!ok) state.SkipWithError("baseline did not parse");
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_BaselineFindCrlf);
BENCHMARK(BM_BaselineSscanfV1Tcp4);
BENCHMARK(BM_V1Tcp4);
BENCHMARK(BM_V1Tcp6);
BENCHMARK(BM_V1Unknown);
BENCHMARK(BM_V2Ipv4);
BENCHMARK(BM_V2Ipv6);
BENCHMARK(BM_V2Ipv4Tlvs);
BENCHMARK(BM_V2Ipv4Crc32c);
BENCHMARK(BM_V1ByteByByte);

}  // namespace

BENCHMARK_MAIN();
