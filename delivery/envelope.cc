#include "delivery/envelope.h"

#include <string_view>

#include "delivery/record.h"

namespace ringmx::delivery {
namespace {

// Field tags; FORMAT.md "Envelope fields". Never reuse a number.
enum Tag : uint8_t {
  kQueueId = 1,
  kReceivedAt = 2,
  kListener = 3,
  kClient = 4,
  kHelo = 5,
  kTls = 6,
  kMailFrom = 7,
  kMailParams = 8,
  kRcptTo = 9,
  kRcptParams = 10,  // parameters of the rcpt-to just before it
  kSize = 11,        // 8 bytes
};

void field(std::string& out, Tag tag, std::string_view value) {
  out.push_back(static_cast<char>(tag));
  append_u32(out, static_cast<uint32_t>(value.size()));
  out.append(value);
}

}  // namespace

void encode_envelope(const Envelope& env, std::string& out) {
  field(out, kQueueId, env.queue_id);
  field(out, kReceivedAt, env.received_at);
  field(out, kListener, env.listener);
  field(out, kClient, env.client);
  field(out, kHelo, env.helo);
  field(out, kTls, env.tls);
  field(out, kMailFrom, env.mail_from);
  field(out, kMailParams, env.mail_params);
  for (const Recipient& r : env.rcpt_to) {
    field(out, kRcptTo, r.address);
    if (!r.params.empty()) field(out, kRcptParams, r.params);
  }
  char size[8];
  put_u64(size, env.size);
  field(out, kSize, std::string_view(size, 8));
}

std::optional<Envelope> decode_envelope(std::span<const char> bytes) {
  Envelope env;
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 5) return std::nullopt;
    auto tag = static_cast<uint8_t>(bytes[pos]);
    uint32_t len = get_u32(bytes.data() + pos + 1);
    pos += 5;
    if (len > bytes.size() - pos) return std::nullopt;
    std::string value(bytes.data() + pos, len);
    pos += len;
    switch (tag) {
      case kQueueId:
        env.queue_id = std::move(value);
        break;
      case kReceivedAt:
        env.received_at = std::move(value);
        break;
      case kListener:
        env.listener = std::move(value);
        break;
      case kClient:
        env.client = std::move(value);
        break;
      case kHelo:
        env.helo = std::move(value);
        break;
      case kTls:
        env.tls = std::move(value);
        break;
      case kMailFrom:
        env.mail_from = std::move(value);
        break;
      case kMailParams:
        env.mail_params = std::move(value);
        break;
      case kRcptTo:
        env.rcpt_to.push_back({std::move(value), {}});
        break;
      case kRcptParams:
        if (env.rcpt_to.empty()) return std::nullopt;
        env.rcpt_to.back().params = std::move(value);
        break;
      case kSize:
        if (len != 8) return std::nullopt;
        env.size = get_u64(value.data());
        break;
      default:
        break;  // a field from a newer writer
    }
  }
  return env;
}

}  // namespace ringmx::delivery
