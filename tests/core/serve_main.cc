// ringmx-core-serve --config FILE: the runtime alone, for the integration
// tests (independent of the CLI in core/main.cc).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "config/config.h"
#include "core/server.h"
#include "tls/ktls.h"

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--config") != 0) {
    std::fprintf(stderr, "usage: %s --config FILE\n", argv[0]);
    return 2;
  }
  // RINGMX_TEST_KTLS_PLAIN=1 (with RINGMX_KTLS=try): every kTLS hand-off
  // "succeeds" without touching the socket, so kernel mode's I/O (multishot
  // recvmsg, plain replies, close_notify by sendmsg) runs over plain TCP
  // against a client that speaks plaintext after its handshake.
  if (const char* v = std::getenv("RINGMX_TEST_KTLS_PLAIN"); v != nullptr && v[0] == '1')
    ringmx::tls::set_ktls_installer_for_tests(
        [](int, const ringmx::tls::KtlsParams&) -> std::optional<ringmx::tls::KtlsInstallError> {
          return std::nullopt;
        });
  ringmx::config::LoadResult r = ringmx::config::load_file(argv[2]);
  if (!r.ok()) {
    for (const auto& e : r.errors)
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  return ringmx::core::run_server(*r.config, argv[2]);
}
