#include "tests/tls/test_certs.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

namespace ringmx::tls::testing {
namespace {

void check(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + " failed: " + std::to_string(rc));
}

struct Key {
  KeyKind kind;
  ecc_key ecc{};
  RsaKey rsa{};
  Key(KeyKind k, WC_RNG& rng) : kind(k) {
    if (kind == KeyKind::ecdsa_p256) {
      check(wc_ecc_init(&ecc), "ecc init");
      check(wc_ecc_make_key_ex(&rng, 32, &ecc, ECC_SECP256R1), "ecc keygen");
    } else {
      check(wc_InitRsaKey(&rsa, nullptr), "rsa init");
      check(wc_MakeRsaKey(&rsa, 2048, WC_RSA_EXPONENT, &rng), "rsa keygen");
    }
  }
  ~Key() {
    if (kind == KeyKind::ecdsa_p256) {
      wc_ecc_free(&ecc);
    } else {
      wc_FreeRsaKey(&rsa);
    }
  }
  int type() const { return kind == KeyKind::ecdsa_p256 ? ECC_TYPE : RSA_TYPE; }
  void* ptr() { return kind == KeyKind::ecdsa_p256 ? static_cast<void*>(&ecc) : &rsa; }
  int sig() const { return kind == KeyKind::ecdsa_p256 ? CTC_SHA256wECDSA : CTC_SHA256wRSA; }
  std::string pem() {
    std::vector<unsigned char> der(4096);
    int n = kind == KeyKind::ecdsa_p256 ? wc_EccKeyToDer(&ecc, der.data(), der.size())
                                        : wc_RsaKeyToDer(&rsa, der.data(), der.size());
    check(n, "key to der");
    std::string out(8192, '\0');
    int m = wc_DerToPem(der.data(), n, reinterpret_cast<byte*>(out.data()), out.size(),
                        kind == KeyKind::ecdsa_p256 ? ECC_PRIVATEKEY_TYPE : PRIVATEKEY_TYPE);
    check(m, "key pem");
    out.resize(m);
    return out;
  }
};

std::string der_to_pem(const std::vector<unsigned char>& der, int n) {
  std::string out(8192, '\0');
  int m = wc_DerToPem(der.data(), n, reinterpret_cast<byte*>(out.data()), out.size(), CERT_TYPE);
  check(m, "cert pem");
  out.resize(m);
  return out;
}

std::vector<unsigned char> san(std::string_view name) {
  std::vector<unsigned char> v{0x30, static_cast<unsigned char>(name.size() + 2), 0x82,
                               static_cast<unsigned char>(name.size())};
  v.insert(v.end(), name.begin(), name.end());
  return v;
}

// Signs `cert` for `subject_key` with `signer` (itself when self-signed).
std::string sign(Cert& cert, Key& subject_key, Key& signer, WC_RNG& rng, int& der_len,
                 std::vector<unsigned char>& der) {
  der.assign(8192, 0);
  cert.sigType = signer.sig();
  check(wc_MakeCert_ex(&cert, der.data(), der.size(), subject_key.type(), subject_key.ptr(), &rng),
        "make cert");
  der_len = wc_SignCert_ex(cert.bodySz, cert.sigType, der.data(), der.size(), signer.type(),
                           signer.ptr(), &rng);
  check(der_len, "sign cert");
  return der_to_pem(der, der_len);
}

struct Rng {
  WC_RNG rng{};
  Rng() { check(wc_InitRng(&rng), "rng"); }
  ~Rng() { wc_FreeRng(&rng); }
};

void name_cert(Cert& cert, std::string_view name) {
  check(wc_InitCert(&cert), "init cert");
  cert.daysValid = 30;
  std::strncpy(cert.subject.commonName, std::string(name).c_str(), CTC_NAME_SIZE - 1);
  auto alt = san(name);
  std::memcpy(cert.altNames, alt.data(), alt.size());
  cert.altNamesSz = static_cast<int>(alt.size());
}

}  // namespace

Pem make_self_signed(KeyKind kind, std::string_view name) {
  static std::map<std::pair<int, std::string>, Pem> cache;
  auto id = std::make_pair(static_cast<int>(kind), std::string(name));
  if (auto it = cache.find(id); it != cache.end()) return it->second;
  Rng rng;
  Key key(kind, rng.rng);
  auto cert = std::make_unique<Cert>();
  name_cert(*cert, name);
  std::vector<unsigned char> der;
  int n = 0;
  Pem pem{sign(*cert, key, key, rng.rng, n, der), key.pem()};
  cache.emplace(id, pem);
  return pem;
}

Chain make_chain(KeyKind kind, std::string_view name) {
  Rng rng;
  Key ca_key(kind, rng.rng);
  auto ca = std::make_unique<Cert>();
  name_cert(*ca, "ringmx test CA");
  ca->isCA = 1;
  std::vector<unsigned char> ca_der;
  int ca_len = 0;
  const std::string ca_pem = sign(*ca, ca_key, ca_key, rng.rng, ca_len, ca_der);

  Key leaf_key(kind, rng.rng);
  auto leaf = std::make_unique<Cert>();
  name_cert(*leaf, name);
  leaf->selfSigned = 0;
  check(wc_SetIssuerBuffer(leaf.get(), ca_der.data(), ca_len), "issuer");
  std::vector<unsigned char> der;
  int n = 0;
  const std::string leaf_pem = sign(*leaf, leaf_key, ca_key, rng.rng, n, der);
  return {leaf_pem + ca_pem, leaf_key.pem(), ca_pem};
}

config::Certificate certificate(std::string name, const Pem& pem) {
  config::Certificate c;
  c.name = std::move(name);
  c.cert_pem = pem.cert;
  c.key_pem = pem.key;
  return c;
}

ContextResult one_certificate_context(KeyKind kind, std::string_view host) {
  std::map<std::string, config::Certificate> certs;
  certs["c"] = certificate("c", make_self_signed(kind, host));
  config::TlsSettings settings;
  settings.enable = true;
  settings.certificate.assign(1, 'c');  // not = "c": GCC 12 -Wrestrict false positive (PR 105329)
  return ServerContext::build("smtp", settings, certs);
}

}  // namespace ringmx::tls::testing
