// libFuzzer target for the management HTTP engine: the request parser on
// the raw input, and a whole session fed the input in pieces whose sizes
// come from the input itself, with a backend that sometimes leaves the
// reload pending. Besides "no crash, no UB" it checks what the runtime
// relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

#include "protocols/http/request.h"
#include "protocols/http/session.h"

namespace {

class FuzzBackend : public ringmx::http::Backend {
 public:
  bool async_reload = false;
  std::string metrics_text() override { return "up 1\n"; }
  std::string not_ready() override { return {}; }
  std::string config_text() override { return "[server]\n"; }
  std::optional<ringmx::http::ReloadResult> reload() override {
    if (async_reload) return std::nullopt;
    return ringmx::http::ReloadResult{false, "x"};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ringmx::http;
  std::span<const char> in(reinterpret_cast<const char*>(data), size);

  Limits limits;
  limits.max_header_bytes = 512;  // small, so the fuzzer reaches the bounds
  limits.max_body_bytes = 64;
  limits.max_output_bytes = 200;  // about two responses
  Request request;
  ParseResult r = parse_request(in, limits, request);
  if (r.status == ParseStatus::complete) {
    if (r.consumed == 0 || r.consumed > size) std::abort();
    if (request.body.size() > limits.max_body_bytes) std::abort();
    // Deciding "complete" needs no byte after the request.
    ParseResult again = parse_request(in.first(r.consumed), limits, request);
    if (again.status != ParseStatus::complete || again.consumed != r.consumed) std::abort();
  } else if (r.status == ParseStatus::error) {
    if (r.error_status < 400 || r.error_status > 505 || r.reason.empty()) std::abort();
  } else if (size >= limits.max_header_bytes + limits.max_body_bytes) {
    std::abort();  // need_more never beyond what one request may take
  }

  if (size == 0) return 0;
  FuzzBackend backend;
  backend.async_reload = (data[0] & 1) != 0;
  Session session(backend, {.auth_token = (data[0] & 2) ? "tok" : "",
                            .peer_is_loopback = (data[0] & 4) != 0,
                            .limits = limits});
  std::size_t pos = 1;
  std::size_t step = 1 + (data[0] >> 3) * (data[0] >> 3);  // 1 to 962 bytes per read
  bool closed = false;
  auto check = [&](const Output& out) {
    if (closed && !out.send.empty()) std::abort();  // nothing after close
    if (!out.send.empty() && !out.send.starts_with("HTTP/1.1 ")) std::abort();
    closed = closed || out.close;
  };
  while (pos < size) {
    std::size_t n = std::min(step, size - pos);
    Output out = session.feed(in.subspan(pos, n));
    pos += n;
    check(out);
    // Sometimes resume or finish the reload at once, sometimes only after
    // more input, so that holding input while paused is exercised too.
    while (true) {
      if (out.resume_after_send && (pos & 2) == 0) {
        out = session.resume();
        if (out.send.empty() && out.resume_after_send) std::abort();  // no progress
        check(out);
      } else if (out.awaiting_reload && (pos & 1)) {
        out = session.reload_finished(ReloadResult{true, ""});
        if (!out.send.starts_with("HTTP/1.1 200 ")) std::abort();
        check(out);
      } else {
        break;
      }
    }
  }
  return 0;
}
