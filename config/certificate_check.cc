#include "config/certificate_check.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <fmt/format.h>

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

  if (wolfSSL_CTX_check_private_key(ctx.get()) != WOLFSSL_SUCCESS)
    return CertificateProblem{Part::pair,
                              "the private key does not belong to the certificate; give the key "
                              "the certificate was issued for"};
  return std::nullopt;
}

}  // namespace ringmx::config
