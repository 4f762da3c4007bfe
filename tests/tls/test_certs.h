// Certificates made in the test process with wolfSSL's generator, so no key
// material is committed and every run gets fresh keys.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tls/context.h"

namespace ringmx::tls::testing {

enum class KeyKind { ecdsa_p256, rsa_2048 };

struct Pem {
  std::string cert;
  std::string key;
};

// A self-signed leaf with CN = SAN = `name`. RSA keys are cached per name
// (generation takes a while).
Pem make_self_signed(KeyKind kind, std::string_view name);

// A leaf for `name` signed by a fresh CA: cert is "leaf PEM + CA PEM" (leaf
// first), ca is the CA alone.
struct Chain {
  std::string cert;
  std::string key;
  std::string ca;
};
Chain make_chain(KeyKind kind, std::string_view name);

config::Certificate certificate(std::string name, const Pem& pem);

// A server context with the TLS defaults whose only certificate, "c", is a
// self-signed one of `kind` for `host`.
ContextResult one_certificate_context(KeyKind kind, std::string_view host = "mx.example.org");

}  // namespace ringmx::tls::testing
