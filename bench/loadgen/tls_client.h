// A wolfSSL client session over memory buffers: the ring loop puts received
// ciphertext in with feed(), takes ciphertext to send from wire_output(), and
// moves plaintext with read()/write(). wolfSSL's custom I/O callbacks read
// and write those buffers, so wolfSSL never touches the socket.
//
// Once the handshake is done, records go through ringmx's own record layer
// (tls/record_layer.h, as the server does): wolfSSL's keys and sequence
// numbers move there, and AES-GCM runs in ipsec-mb or libcrypto rather than
// Debian's wolfSSL, which has no AES-NI (a 10 MiB body over STARTTLS was
// limited by the client's sealing). `records()` says which one a session
// uses; wolfSSL keeps them when the suite has no record layer here.
//
// Certificates are NOT verified (WOLFSSL_VERIFY_NONE): this is a benchmark
// client for loopback servers with throw-away certificates, and it must
// never be used to carry mail.
#pragma once

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/record_layer.h"

namespace ringmx::loadgen {

// One per worker thread (a WOLFSSL_CTX is shared by that worker's sessions),
// made and destroyed on that thread.
class TlsContext {
 public:
  TlsContext();
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  WOLFSSL_CTX* get() const { return ctx_; }

 private:
  WOLFSSL_CTX* ctx_ = nullptr;
};

class TlsClient {
 public:
  enum class Result { done, want_more, failed };

  TlsClient(const TlsContext& context, std::string_view sni);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Ciphertext from the socket.
  void feed(std::string_view ciphertext) { wire_in_.append(ciphertext); }
  // Drives the handshake with what was fed; call again after each feed.
  Result handshake();
  bool established() const { return established_; }
  // Records are sealed and opened by tls::RecordLayer, not wolfSSL.
  bool records() const { return records_ != nullptr; }
  // Decrypts what was fed and appends the plaintext to `out`.
  Result read(std::string& out);
  // Encrypts `plaintext` into wire_output().
  Result write(std::string_view plaintext);
  // Queues close_notify (after 221): a TLS server may wait for it before
  // it closes the connection.
  void shutdown();
  // Ciphertext to send; the driver takes it (swap or clear).
  std::string& wire_output() { return wire_out_; }
  // wolfSSL's reason for the last failure, for the error key.
  std::string last_error() const;

 private:
  static int on_recv(WOLFSSL* ssl, char* buf, int size, void* self);
  void start_records();
  Result read_records(std::string& out);
  static int on_send(WOLFSSL* ssl, char* buf, int size, void* self);

  WOLFSSL* ssl_ = nullptr;
  bool established_ = false;
  int last_error_ = 0;
  std::string wire_in_;
  std::size_t wire_in_used_ = 0;
  std::string wire_out_;
  std::unique_ptr<tls::RecordLayer> records_;
  std::vector<char> plain_;    // one record's plaintext: RecordLayer::kMaxPlaintext
  std::size_t plain_at_ = 0;   // where a record half-way in continues in plain_
  std::string records_error_;  // the record layer's reason, for last_error()
};

}  // namespace ringmx::loadgen
