// A wolfSSL client over in-memory buffers, and a pump that runs a handshake
// between it and a server Session without sockets: each side's output is
// handed to the other until neither makes progress.
#pragma once

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tls/session.h"

namespace ringmx::tls::testing {

struct ClientOptions {
  std::string sni = {};          // empty: no server_name extension
  int min_version = 0;           // WOLFSSL_TLSV1_2 / WOLFSSL_TLSV1_3; 0 = library default
  int max_version = 0;           // TLS1_2_VERSION / TLS1_3_VERSION; 0 = highest
  std::string cipher_list = {};  // wolfSSL names; empty = library default
  std::string trust_pem = {};    // CA to verify the server with; empty = no verification
  int dev_id = -2;               // wolfSSL_CTX_SetDevId; -2 (INVALID_DEVID) = wolfSSL's own crypto
};

class MemClient {
 public:
  explicit MemClient(const ClientOptions& options);
  ~MemClient();
  MemClient(const MemClient&) = delete;
  MemClient& operator=(const MemClient&) = delete;

  // Ciphertext from the server.
  void feed(std::span<const std::byte> bytes);
  // Ciphertext the client produced since the last call.
  std::vector<std::byte> take_output();

  // One connect step; true once established.
  bool connect_step();
  bool failed() const { return failed_; }
  int last_error() const { return last_error_; }

  // Encrypts into the output; decrypts from what was fed.
  void write(std::string_view plain);
  std::string read_all();

  WOLFSSL* ssl() const { return ssl_; }
  std::string version() const { return wolfSSL_get_version(ssl_); }
  std::string cipher() const;
  std::string peer_common_name() const;
  int peer_chain_length() const;

 private:
  static int recv_cb(WOLFSSL*, char* buf, int size, void* self);
  static int send_cb(WOLFSSL*, char* buf, int size, void* self);
  WOLFSSL_CTX* ctx_ = nullptr;
  WOLFSSL* ssl_ = nullptr;
  std::vector<std::byte> in_;
  size_t in_pos_ = 0;
  std::vector<std::byte> out_;
  bool failed_ = false;
  int last_error_ = 0;
};

enum class PumpResult { established, server_failed, client_failed, stalled };

// Runs the handshake to its end. After `established` both sides are done and
// every byte in flight has been delivered (including TLS 1.3 tickets, which
// stay queued at the client until it reads).
PumpResult pump(Session& server, MemClient& client);

std::span<const std::byte> as_bytes(std::string_view s);

}  // namespace ringmx::tls::testing
