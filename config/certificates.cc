// certificate.<name>.{cert, private-key}: inline PEM or file://PATH, read
// here (the only file I/O besides the configuration itself) and checked
// with wolfSSL so a broken pair fails at load, not at the first handshake.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "config/certificate_check.h"
#include "config/loader.h"

namespace ringmx::config {
namespace {

constexpr std::string_view kFileScheme = "file://";
// A PEM chain or key is a few KiB; anything this large is the wrong file.
constexpr size_t kMaxPemBytes = 1 << 20;

// Reads `path`, or returns what went wrong with the OS error.
std::optional<std::string> read_file(const std::filesystem::path& path, std::string& problem) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    problem = fmt::format("cannot read {}: {}", path.string(), std::strerror(errno));
    return std::nullopt;
  }
  std::string data;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem = fmt::format("cannot read {}: {}", path.string(), std::strerror(errno));
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxPemBytes) {
      problem = fmt::format("{} is larger than 1 MiB, so it is not a PEM file; check the path",
                            path.string());
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  return data;
}

struct Pem {
  std::string text;
  std::string ref;  // "file:///abs/path", or "" when inline
};

// One of cert / private-key: the PEM text and how it was written.
std::optional<Pem> read_pem(Section& s, std::string_view key, const std::filesystem::path& base,
                            bool is_secret) {
  std::string value;
  if (!s.string(key, value)) {
    if (!s.find(key))
      s.error(key, fmt::format("missing; write {} = \"file:///etc/ringmx/{}.pem\" (or inline PEM)",
                               key, key == "cert" ? "cert" : "key"));
    return std::nullopt;
  }
  const toml::node& node = *s.find(key);
  if (value == kRedacted) {
    s.error_at(node, key,
               "this value was redacted by --print-config; write the real value, preferably as "
               "file://PATH");
    return std::nullopt;
  }
  if (value.starts_with(kFileScheme)) {
    std::filesystem::path path(value.substr(kFileScheme.size()));
    if (path.empty()) {
      s.error_at(node, key,
                 "file:// has no path; write file:///absolute/path or file://relative/path");
      return std::nullopt;
    }
    if (path.is_relative()) path = base / path;
    path = path.lexically_normal();
    std::string problem;
    auto text = read_file(path, problem);
    if (!text) {
      s.error_at(node, key, problem + "; fix the path or the file's permissions");
      return std::nullopt;
    }
    return Pem{std::move(*text), std::string(kFileScheme) + path.string()};
  }
  if (value.find("-----BEGIN") == std::string::npos) {
    s.error_at(node, key,
               fmt::format("neither PEM nor a file reference; write {} = \"file:///path/to/file\" "
                           "or the PEM text starting with -----BEGIN",
                           key));
    return std::nullopt;
  }
  if (is_secret)
    s.warning_at(node, key,
                 "the private key is written inline, so anyone who can read the configuration "
                 "has it; move it to a file readable only by ringmx and write private-key = "
                 "\"file:///etc/ringmx/key.pem\"");
  return Pem{std::move(value), ""};
}

// The leaf's key type and expiry; an expired or soon expiring certificate
// is a warning, not an error: opportunistic TLS between MTAs still works
// with it, and refusing to start would take the MX down.
std::optional<CertificateFacts> check_certificate_facts(Section& s, const std::string& cert_pem) {
  auto facts = certificate_facts(cert_pem);
  if (!facts) return std::nullopt;
  std::string warning = expiry_warning(facts->not_after, std::chrono::system_clock::now());
  if (!warning.empty()) s.warning_at(*s.find("cert"), "cert", std::move(warning));
  return facts;
}

}  // namespace

std::map<std::string, Certificate> read_certificates(Section& table,
                                                     const std::filesystem::path& base_dir,
                                                     CertificateNames& names) {
  std::map<std::string, Certificate> out;
  for (auto& [name, s] : table.named_tables("one certificate")) {
    names.insert(name);
    auto cert = read_pem(s, "cert", base_dir, false);
    auto key = read_pem(s, "private-key", base_dir, true);
    s.finish();
    if (!cert || !key) continue;
    if (auto problem = check_certificate(cert->text, key->text)) {
      std::string_view where =
          problem->part == CertificateProblem::Part::cert ? "cert" : "private-key";
      s.error(where, problem->message);
      continue;
    }
    Certificate c;
    if (auto facts = check_certificate_facts(s, cert->text)) {
      c.key_type = facts->key_type;
      c.not_after = facts->not_after;
    }
    c.name = name;
    c.cert_pem = std::move(cert->text);
    c.key_pem = std::move(key->text);
    c.cert_ref = std::move(cert->ref);
    c.key_ref = std::move(key->ref);
    c.origin = {table.diagnostics().file(), s.where().begin.line, s.where().begin.column};
    out.emplace(name, std::move(c));
  }
  table.finish();
  return out;
}

}  // namespace ringmx::config
