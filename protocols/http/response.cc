#include "protocols/http/response.h"

#include <fmt/format.h>

#include <iterator>

namespace ringmx::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

void append_response(std::string& out, const Response& response, Persistence persistence,
                     bool head_only) {
  std::string_view connection;
  switch (persistence) {
    case Persistence::close:
      connection = "Connection: close\r\n";
      break;
    case Persistence::keep_alive:
      break;
    case Persistence::keep_alive_http10:
      connection = "Connection: keep-alive\r\n";
      break;
  }
  // Management answers are never to be cached by a proxy in between.
  fmt::format_to(std::back_inserter(out),
                 "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                 "Cache-Control: no-store\r\n{}{}\r\n",
                 response.status, reason_phrase(response.status), response.content_type,
                 response.body.size(), connection, response.extra_headers);
  if (!head_only) out += response.body;
}

}  // namespace ringmx::http
