// Every bound the management HTTP engine enforces, declared once.
#pragma once

#include <cstddef>

namespace ringmx::http {

// Header lines per request (Host, User-Agent, Accept, Authorization... a
// Prometheus scrape sends 5). A fixed array in Request, so compile-time.
// Over it: 431 and close.
inline constexpr std::size_t kMaxHeaders = 32;

struct Limits {
  // Request line plus header lines, CRLFs and the empty line included.
  // Over it: 431 (Request Header Fields Too Large) and close, without
  // waiting for the rest.
  std::size_t max_header_bytes = 8 * 1024;
  // Content-Length of a request body. None of the endpoints reads a body,
  // so this only has to let a client's empty or small POST through.
  // Over it: 413 (Content Too Large) and close, before the body arrives.
  std::size_t max_body_bytes = 4 * 1024;
  // Response bytes one call may produce. A client pipelining a thousand
  // GET /metrics in one read would otherwise make the session build
  // megabytes at once. Past it the session stops answering, holds the
  // rest of the input (within max_header_bytes + max_body_bytes), and
  // asks for Session::resume() once the output has been sent.
  std::size_t max_output_bytes = 1024 * 1024;
};

}  // namespace ringmx::http
