#include "tls/self_signed.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include "core/log/log.h"

namespace ringmx::tls {
namespace {

constexpr int kValidDays = 365;
constexpr size_t kDerMax = 4096;  // a P-256 leaf with two SANs is ~500 bytes
constexpr size_t kPemMax = 2 * kDerMax;

std::string wc_error(std::string_view what, int rc) {
  return fmt::format("{}: {} ({})", what, wc_GetErrorString(rc), rc);
}

// DER tag-length prefix; every length here is below 128 except the outer
// sequence of a long hostname, so both short and one-byte long forms.
void push_tlv(std::vector<unsigned char>& out, unsigned char tag, std::string_view value) {
  out.push_back(tag);
  if (value.size() >= 128) {
    out.push_back(0x81);
  }
  out.push_back(static_cast<unsigned char>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

// subjectAltName's GeneralNames: SEQUENCE OF [2] IA5String dNSName. wolfSSL
// copies Cert::altNames verbatim into the extension's OCTET STRING.
std::vector<unsigned char> dns_alt_names(std::string_view hostname) {
  std::vector<unsigned char> names;
  push_tlv(names, 0x82, hostname);
  if (hostname != "localhost") push_tlv(names, 0x82, "localhost");
  std::vector<unsigned char> seq;
  push_tlv(seq, 0x30, std::string_view(reinterpret_cast<const char*>(names.data()), names.size()));
  return seq;
}

// Writes via a temporary name then rename(2), so a crash never leaves a
// truncated key where the server would load it.
std::optional<std::string> write_private_file(const std::filesystem::path& path,
                                              std::string_view bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("{}: {}", tmp.string(), std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fmt::format("{}: {}", tmp.string(), std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  // fchmod as well as the open mode: a umask could only narrow it, but an
  // old .tmp left by a crash keeps its own mode through O_TRUNC.
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fmt::format("{}: {}", tmp.string(), std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fmt::format("{}: {}", path.string(), std::strerror(err));
  }
  return std::nullopt;
}

struct Rng {
  WC_RNG rng{};
  int rc = wc_InitRng(&rng);
  ~Rng() {
    if (rc == 0) wc_FreeRng(&rng);
  }
};

struct EccKey {
  ecc_key key{};
  int rc = wc_ecc_init(&key);
  ~EccKey() {
    if (rc == 0) wc_ecc_free(&key);
  }
};

struct Pair {
  std::string cert_pem;
  std::string key_pem;
};

std::string to_pem(const unsigned char* der, int der_len, int type) {
  std::string pem(kPemMax, '\0');
  const int n = wc_DerToPem(der, static_cast<word32>(der_len), reinterpret_cast<byte*>(pem.data()),
                            kPemMax, type);
  if (n <= 0) return {};
  pem.resize(static_cast<size_t>(n));
  return pem;
}

std::optional<std::string> make_pair(std::string_view hostname, Pair& out) {
  if (hostname.empty() || hostname.size() >= CTC_NAME_SIZE) {
    return fmt::format("hostname {:?} must be 1 to {} bytes", hostname, CTC_NAME_SIZE - 1);
  }
  Rng rng;
  if (rng.rc != 0) return wc_error("random generator", rng.rc);
  EccKey key;
  if (key.rc != 0) return wc_error("ecc key init", key.rc);
  if (int rc = wc_ecc_make_key_ex(&rng.rng, 32, &key.key, ECC_SECP256R1); rc != 0) {
    return wc_error("P-256 key generation", rc);
  }

  // Cert carries a 16 KiB altNames buffer: too big for a shard's stack.
  auto cert = std::make_unique<Cert>();
  if (int rc = wc_InitCert(cert.get()); rc != 0) return wc_error("certificate init", rc);
  cert->daysValid = kValidDays;
  cert->sigType = CTC_SHA256wECDSA;
  cert->isCA = 0;
  std::memcpy(cert->subject.commonName, hostname.data(), hostname.size());
  std::strncpy(cert->subject.org, "ringmx self-signed", CTC_NAME_SIZE - 1);
  // RFC 5280 4.1.2.2: positive, at most 20 octets, unpredictable.
  cert->serialSz = 16;
  if (int rc = wc_RNG_GenerateBlock(&rng.rng, cert->serial, 16); rc != 0) {
    return wc_error("serial", rc);
  }
  cert->serial[0] &= 0x7f;
  cert->serial[0] |= 0x01;
  const auto alt = dns_alt_names(hostname);
  std::memcpy(cert->altNames, alt.data(), alt.size());
  cert->altNamesSz = static_cast<int>(alt.size());
  if (int rc = wc_SetKeyUsage(cert.get(), "digitalSignature"); rc != 0) {
    return wc_error("key usage", rc);
  }
  if (int rc = wc_SetExtKeyUsage(cert.get(), "serverAuth"); rc != 0) {
    return wc_error("extended key usage", rc);
  }
  if (int rc = wc_SetSubjectKeyIdFromPublicKey_ex(cert.get(), ECC_TYPE, &key.key); rc != 0) {
    return wc_error("subject key id", rc);
  }

  std::vector<unsigned char> der(kDerMax);
  int rc = wc_MakeCert_ex(cert.get(), der.data(), kDerMax, ECC_TYPE, &key.key, &rng.rng);
  if (rc < 0) return wc_error("certificate body", rc);
  rc = wc_SignCert_ex(cert->bodySz, cert->sigType, der.data(), kDerMax, ECC_TYPE, &key.key,
                      &rng.rng);
  if (rc < 0) return wc_error("certificate signature", rc);
  out.cert_pem = to_pem(der.data(), rc, CERT_TYPE);

  rc = wc_EccKeyToDer(&key.key, der.data(), kDerMax);
  if (rc < 0) return wc_error("key encoding", rc);
  out.key_pem = to_pem(der.data(), rc, ECC_PRIVATEKEY_TYPE);
  // The DER copy of the private key must not outlive this function.
  std::memset(der.data(), 0, der.size());
  if (out.cert_pem.empty() || out.key_pem.empty()) return std::string("PEM encoding failed");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ensure_self_signed(const std::filesystem::path& dir,
                                              std::string_view hostname) {
  const auto cert_path = dir / "cert.pem";
  const auto key_path = dir / "key.pem";
  std::error_code ec;
  const bool have_cert = std::filesystem::exists(cert_path, ec);
  const bool have_key = std::filesystem::exists(key_path, ec);
  if (have_cert && have_key) return std::nullopt;
  if (have_cert != have_key) {
    return fmt::format("{} exists but {} does not; remove it or supply the other half",
                       (have_cert ? cert_path : key_path).string(),
                       (have_cert ? key_path : cert_path).string());
  }
  // A directory made here holds a private key: only the owner may list it.
  if (std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) return fmt::format("{}: {}", dir.string(), ec.message());

  Pair pair;
  if (auto err = make_pair(hostname, pair)) return err;
  // Key first, so a certificate on disk always has its key beside it; a crash
  // between the renames leaves a lone key.pem, which the check above reports.
  if (auto err = write_private_file(key_path, pair.key_pem)) return err;
  if (auto err = write_private_file(cert_path, pair.cert_pem)) return err;
  log::info("tls.self_signed", "dir={} hostname={} key=ecdsa-p256 days={}",
            log::quote(dir.string()), log::quote(hostname), kValidDays);
  return std::nullopt;
}

}  // namespace ringmx::tls
