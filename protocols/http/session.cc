#include "protocols/http/session.h"

#include <netinet/in.h>

#include <cstring>

#include "protocols/http/router.h"

namespace ringmx::http {

Session::Session(Backend& backend, SessionConfig config)
    : backend_(backend), token_(config.auth_token), config_(config) {
  // config_ must not keep a view of the caller's string; token_ is the
  // session's own copy, which also keeps the Session safely movable.
  config_.auth_token = {};
}

Output Session::feed(std::span<const char> bytes) {
  Output out;
  if (closing_) {
    // Everything after a closing response is ignored; say so again in case
    // the runtime asks.
    out.close = true;
    out.reason = close_reason_;
    return out;
  }
  if (awaiting_reload_ || output_full_) {
    hold(bytes);
    out.awaiting_reload = awaiting_reload_;
    out.resume_after_send = output_full_;
    return out;
  }
  input_.append(bytes.data(), bytes.size());
  bool line_end = std::memchr(bytes.data(), '\n', bytes.size()) != nullptr;
  bool worth_parsing = wanted_bytes_ != 0 ? input_.size() >= wanted_bytes_
                                          : !wants_line_end_ || line_end ||
                                                input_.size() >= config_.limits.max_header_bytes;
  if (worth_parsing) serve(out);
  return out;
}

void Session::hold(std::span<const char> bytes) {
  std::size_t bound = config_.limits.max_header_bytes + config_.limits.max_body_bytes;
  std::size_t room = input_.size() < bound ? bound - input_.size() : 0;
  if (bytes.size() > room) overflowed_ = true;
  input_.append(bytes.data(), std::min(bytes.size(), room));
}

Output Session::resume() {
  Output out;
  if (!output_full_) return out;
  output_full_ = false;
  serve(out);
  return out;
}

Output Session::reload_finished(const ReloadResult& result) {
  Output out;
  if (!awaiting_reload_) return out;
  awaiting_reload_ = false;
  bool keep_alive = reload_keep_alive_ && !overflowed_;
  reply(out, reload_response(result), keep_alive, reload_minor_version_, false,
        overflowed_ ? "pipelined input over the limit" : "request not keep-alive");
  serve(out);
  return out;
}

void Session::reply(Output& out, const Response& response, bool keep_alive, int minor_version,
                    bool head_only, std::string_view close_reason) {
  Persistence persistence = !keep_alive          ? Persistence::close
                            : minor_version == 0 ? Persistence::keep_alive_http10
                                                 : Persistence::keep_alive;
  append_response(out.send, response, persistence, head_only);
  ++requests_;
  if (!keep_alive) {
    closing_ = true;
    close_reason_ = close_reason;
    input_.clear();
  }
}

void Session::serve(Output& out) {
  std::size_t done = 0;  // bytes of input_ answered in this call
  Access access{token_, config_.peer_is_loopback};
  while (!closing_ && !awaiting_reload_) {
    if (out.send.size() >= config_.limits.max_output_bytes) {
      output_full_ = done < input_.size();
      break;
    }
    std::span<const char> rest(input_.data() + done, input_.size() - done);
    Request request;
    ParseResult parsed = parse_request(rest, config_.limits, request);
    if (parsed.status == ParseStatus::need_more) {
      wanted_bytes_ = parsed.wanted;  // counted from rest, which becomes input_[0]
      wants_line_end_ = parsed.wanted == 0 && !rest.empty();
      break;
    }
    wanted_bytes_ = 0;
    wants_line_end_ = false;
    if (parsed.status == ParseStatus::error) {
      // The framing is lost: answer and close (reply() clears input_).
      Response r;
      r.status = parsed.error_status;
      r.body = std::string(parsed.reason) + "\n";
      reply(out, r, false, 1, false, parsed.reason);
      done = 0;
      break;
    }
    Routed routed = route(request, backend_, access);
    done += parsed.consumed;
    if (!routed.response) {
      awaiting_reload_ = true;
      reload_keep_alive_ = request.keep_alive;
      reload_minor_version_ = request.minor_version;
      break;
    }
    reply(out, *routed.response, request.keep_alive, request.minor_version,
          request.method == "HEAD", "request not keep-alive");
    if (closing_) done = 0;
  }
  input_.erase(0, done);
  if (overflowed_ && !closing_ && !awaiting_reload_ && !output_full_) {
    // Everything held has been answered; what was dropped cannot be.
    closing_ = true;
    close_reason_ = "pipelined input over the limit";
    input_.clear();
  }
  out.close = closing_;
  out.resume_after_send = output_full_;
  out.reason = closing_ ? close_reason_ : std::string_view();
  out.awaiting_reload = awaiting_reload_;
}

bool is_loopback(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    return (ntohl(a.sin_addr.s_addr) >> 24) == 127;
  }
  if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_LOOPBACK(&a.sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a.sin6_addr) && a.sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace ringmx::http
