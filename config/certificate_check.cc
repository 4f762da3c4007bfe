#include "config/certificate_check.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <fmt/format.h>

#include <ctime>
#include <memory>
#include <mutex>

namespace ringmx::config {
namespace {

std::string wolfssl_error(int code) {
  char buf[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), buf, sizeof buf);
  return buf;
}

struct CtxDeleter {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
struct X509Deleter {
  void operator()(WOLFSSL_X509* x) const { wolfSSL_X509_free(x); }
};

// An EC key, freed on every path.
class EccKey {
 public:
  EccKey() { ok_ = wc_ecc_init(&key_) == 0; }
  ~EccKey() {
    if (ok_) wc_ecc_free(&key_);
  }
  EccKey(const EccKey&) = delete;
  EccKey& operator=(const EccKey&) = delete;
  ecc_key* get() { return ok_ ? &key_ : nullptr; }

 private:
  ecc_key key_;
  bool ok_;
};

// The uncompressed public point (X9.63) of `key`, or "" on failure.
std::string public_point(ecc_key* key) {
  unsigned char out[160];  // 1 + 2 * 66 bytes for P-521
  word32 len = sizeof out;
  if (wc_ecc_export_x963(key, out, &len) != 0) return {};
  return std::string(reinterpret_cast<char*>(out), len);
}

// wolfSSL 5.5.4 as Debian builds it accepts any EC key of the right curve in
// wolfSSL_CTX_check_private_key (it compares key types, not points), so for
// an EC key the public point is derived from the private scalar and compared
// with the leaf certificate's. nullopt: not an EC key (RSA is checked by
// wolfSSL itself).
std::optional<bool> ec_key_matches(std::string_view cert_pem, std::string_view key_pem) {
  std::string der(key_pem.size(), '\0');
  int der_len = wc_KeyPemToDer(
      reinterpret_cast<const unsigned char*>(key_pem.data()), static_cast<int>(key_pem.size()),
      reinterpret_cast<unsigned char*>(der.data()), static_cast<int>(der.size()), nullptr);
  if (der_len <= 0) return std::nullopt;
  EccKey priv;
  word32 idx = 0;
  if (!priv.get() || wc_EccPrivateKeyDecode(reinterpret_cast<const unsigned char*>(der.data()),
                                            &idx, priv.get(), static_cast<word32>(der_len)) != 0)
    return std::nullopt;
  if (wc_ecc_make_pub(priv.get(), nullptr) != 0) return false;

  std::unique_ptr<WOLFSSL_X509, X509Deleter> leaf(wolfSSL_X509_load_certificate_buffer(
      reinterpret_cast<const unsigned char*>(cert_pem.data()), static_cast<int>(cert_pem.size()),
      WOLFSSL_FILETYPE_PEM));
  if (!leaf) return false;
  unsigned char spki[4096];
  int spki_len = sizeof spki;
  if (wolfSSL_X509_get_pubkey_buffer(leaf.get(), spki, &spki_len) != WOLFSSL_SUCCESS) return false;
  EccKey pub;
  idx = 0;
  if (!pub.get() ||
      wc_EccPublicKeyDecode(spki, &idx, pub.get(), static_cast<word32>(spki_len)) != 0)
    return false;  // the certificate holds no EC key: an EC key cannot match it
  std::string a = public_point(priv.get()), b = public_point(pub.get());
  return !a.empty() && a == b;
}

}  // namespace

std::optional<CertificateProblem> check_certificate(std::string_view cert_pem,
                                                    std::string_view key_pem) {
  using Part = CertificateProblem::Part;
  // wolfSSL_Init is reference counted; one call for the life of the process
  // keeps its tables ready for the TLS layer too.
  static std::once_flag init;
  std::call_once(init, [] { wolfSSL_Init(); });

  std::unique_ptr<WOLFSSL_CTX, CtxDeleter> ctx(wolfSSL_CTX_new(wolfSSLv23_server_method()));
  if (!ctx)
    return CertificateProblem{Part::pair, "wolfSSL could not create a context (out of memory)"};

  if (cert_pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos)
    return CertificateProblem{
        Part::cert, "no \"-----BEGIN CERTIFICATE-----\" block; give the PEM certificate chain"};
  int rc = wolfSSL_CTX_use_certificate_chain_buffer(
      ctx.get(), reinterpret_cast<const unsigned char*>(cert_pem.data()),
      static_cast<long>(cert_pem.size()));
  if (rc != WOLFSSL_SUCCESS)
    return CertificateProblem{
        Part::cert,
        fmt::format("the certificate does not parse ({}); give a PEM certificate chain, "
                    "leaf first",
                    wolfssl_error(rc))};

  if (key_pem.find("ENCRYPTED") != std::string_view::npos)
    return CertificateProblem{Part::private_key,
                              "the private key is encrypted; store it unencrypted (readable by "
                              "ringmx only): openssl pkey -in KEY -out KEY.plain"};
  rc = wolfSSL_CTX_use_PrivateKey_buffer(ctx.get(),
                                         reinterpret_cast<const unsigned char*>(key_pem.data()),
                                         static_cast<long>(key_pem.size()), WOLFSSL_FILETYPE_PEM);
  if (rc != WOLFSSL_SUCCESS)
    return CertificateProblem{
        Part::private_key,
        fmt::format("the private key does not parse ({}); give an RSA or EC key in PEM",
                    wolfssl_error(rc))};

  constexpr std::string_view kMismatch =
      "the private key does not belong to the certificate; give the key the certificate was "
      "issued for";
  if (wolfSSL_CTX_check_private_key(ctx.get()) != WOLFSSL_SUCCESS ||
      ec_key_matches(cert_pem, key_pem) == false)
    return CertificateProblem{Part::pair, std::string(kMismatch)};
  return std::nullopt;
}

std::optional<CertificateFacts> certificate_facts(std::string_view cert_pem) {
  std::unique_ptr<WOLFSSL_X509, X509Deleter> leaf(wolfSSL_X509_load_certificate_buffer(
      reinterpret_cast<const unsigned char*>(cert_pem.data()), static_cast<int>(cert_pem.size()),
      WOLFSSL_FILETYPE_PEM));
  if (!leaf) return std::nullopt;
  CertificateFacts facts;
  // The key's OID sum (asn_public.h), not an EVP_PKEY_* constant.
  int key_oid = wolfSSL_X509_get_pubkey_type(leaf.get());
  facts.key_type = key_oid == RSAk     ? KeyType::rsa
                   : key_oid == ECDSAk ? KeyType::ec
                                       : KeyType::other;
  std::tm tm{};
  const WOLFSSL_ASN1_TIME* not_after = wolfSSL_X509_get_notAfter(leaf.get());
  if (not_after == nullptr || wolfSSL_ASN1_TIME_to_tm(not_after, &tm) != WOLFSSL_SUCCESS)
    return std::nullopt;
  facts.not_after = std::chrono::system_clock::from_time_t(::timegm(&tm));
  return facts;
}

std::string expiry_warning(std::chrono::system_clock::time_point not_after,
                           std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  auto day = floor<days>(not_after);
  year_month_day ymd{day};
  std::string date =
      fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  if (not_after <= now)
    return fmt::format(
        "the certificate expired on {}; clients that check it will refuse TLS, so "
        "renew it",
        date);
  if (not_after - now < days(30))
    return fmt::format("the certificate expires on {}, in less than 30 days; renew it", date);
  return {};
}

}  // namespace ringmx::config
