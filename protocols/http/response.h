// HTTP/1.1 response serialisation: the one place response bytes are made.
#pragma once

#include <string>
#include <string_view>

namespace ringmx::http {

inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

struct Response {
  int status = 200;
  std::string_view content_type = kTextPlain;
  std::string body;
  // Extra header lines, each ending in CRLF ("Allow: GET, HEAD\r\n").
  std::string_view extra_headers;
};

// How the response ends the exchange.
enum class Persistence {
  close,              // "Connection: close"; the runtime closes after sending
  keep_alive,         // HTTP/1.1 default: no Connection header
  keep_alive_http10,  // "Connection: keep-alive", which an HTTP/1.0 client needs
};

// "OK", "Not Found"...; "" for a code this engine never sends.
std::string_view reason_phrase(int status);

// Appends the status line, Content-Type, Content-Length, the Connection
// header `persistence` calls for, extra headers, and the body unless
// `head_only` (HEAD keeps the Content-Length of the GET body).
void append_response(std::string& out, const Response& response, Persistence persistence,
                     bool head_only);

}  // namespace ringmx::http
