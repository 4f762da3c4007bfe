#include "tls/key_match.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/openssl/pem.h>

#include <memory>
#include <vector>

namespace ringmx::tls {
namespace {

struct Free {
  void operator()(WOLFSSL_BIO* p) const { wolfSSL_BIO_free(p); }
  void operator()(WOLFSSL_EVP_PKEY* p) const { wolfSSL_EVP_PKEY_free(p); }
  void operator()(WOLFSSL_X509* p) const { wolfSSL_X509_free(p); }
  void operator()(WOLFSSL_EVP_MD_CTX* p) const { wolfSSL_EVP_MD_CTX_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

constexpr std::string_view kProbe = "ringmx key/certificate pairing probe";

}  // namespace

bool key_matches_certificate(std::string_view cert_pem, std::string_view key_pem) {
  Owned<WOLFSSL_BIO> key_bio(
      wolfSSL_BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (!key_bio) return false;
  Owned<WOLFSSL_EVP_PKEY> priv(
      wolfSSL_PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  Owned<WOLFSSL_X509> leaf(wolfSSL_X509_load_certificate_buffer(
      reinterpret_cast<const unsigned char*>(cert_pem.data()), static_cast<int>(cert_pem.size()),
      WOLFSSL_FILETYPE_PEM));
  if (!priv || !leaf) return false;
  Owned<WOLFSSL_EVP_PKEY> pub(wolfSSL_X509_get_pubkey(leaf.get()));
  if (!pub) return false;

  std::vector<unsigned char> sig(1024);
  size_t sig_len = sig.size();
  {
    Owned<WOLFSSL_EVP_MD_CTX> md(wolfSSL_EVP_MD_CTX_new());
    if (!md ||
        wolfSSL_EVP_DigestSignInit(md.get(), nullptr, wolfSSL_EVP_sha256(), nullptr, priv.get()) !=
            1 ||
        wolfSSL_EVP_DigestSignUpdate(md.get(), kProbe.data(), kProbe.size()) != 1 ||
        wolfSSL_EVP_DigestSignFinal(md.get(), sig.data(), &sig_len) != 1) {
      return false;
    }
  }
  Owned<WOLFSSL_EVP_MD_CTX> md(wolfSSL_EVP_MD_CTX_new());
  return md &&
         wolfSSL_EVP_DigestVerifyInit(md.get(), nullptr, wolfSSL_EVP_sha256(), nullptr,
                                      pub.get()) == 1 &&
         wolfSSL_EVP_DigestVerifyUpdate(md.get(), kProbe.data(), kProbe.size()) == 1 &&
         wolfSSL_EVP_DigestVerifyFinal(md.get(), sig.data(), sig_len) == 1;
}

}  // namespace ringmx::tls
