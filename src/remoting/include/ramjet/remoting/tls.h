// TLS for remoting connections (OpenSSL over memory buffers), as RocketMQ's TlsHelper and
// TlsModeHandler do it with Netty:
//  - a server port in tlsMode `permissive` accepts TLS and plaintext clients, told apart by the
//    first byte (0x16 opens a TLS handshake record; a plaintext frame starts with its length,
//    and a frame of 0x16xxxxxx bytes is beyond any frame limit); `enforcing` refuses plaintext;
//    `disabled` never speaks TLS;
//  - without a configured certificate the server makes a self-signed one at start (RocketMQ's
//    tls.test.mode.enable), so clients with tls.enable connect to a default broker;
//  - client certificates: none / optional / require, verified against tlsServerTrustCertPath;
//    clients verify the server against tlsClientTrustCertPath only with tlsClientAuthServer
//    (RocketMQ's clients trust any server otherwise). Host names are not checked (RocketMQ
//    addresses are IPs); the chain and validity dates are.
//  - TLS 1.2 and 1.3 only; ciphers configurable (OpenSSL names; TLS_* names are 1.3 suites).
//
// Threading model: a TlsContext is immutable after creation and shared by all connections of an
// endpoint. A TlsSession belongs to one connection and is not thread-safe: the connection calls
// it under the lock that orders its writes, so records leave in the order they were sealed.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"
#include "ramjet/base/status.h"

struct ssl_st;
struct ssl_ctx_st;
struct bio_st;

namespace ramjet::remoting {

enum class TlsMode { kDisabled, kPermissive, kEnforcing };
enum class TlsClientAuth { kNone, kOptional, kRequire };

// "disabled" | "permissive" | "enforcing" (RocketMQ's tls.server.mode values).
Result<TlsMode> ParseTlsMode(std::string_view text);
// "none" | "optional" | "require" (tls.server.need.client.auth).
Result<TlsClientAuth> ParseTlsClientAuth(std::string_view text);
std::string_view TlsModeName(TlsMode mode);

struct TlsOptions {
  std::string cert_path;        // PEM chain; empty on a server: a self-signed one is made
  std::string key_path;         // PEM private key (PKCS#8 or traditional)
  std::string key_password;     // for an encrypted key; empty: none
  std::string trust_cert_path;  // PEM CA bundle to verify the peer with
  // Servers: whether clients must show a certificate (verified against trust_cert_path).
  TlsClientAuth client_auth = TlsClientAuth::kNone;
  // Clients: verify the server's chain against trust_cert_path (or the system's CAs).
  bool verify_server = false;
  std::string ciphers;  // comma or colon separated; empty: OpenSSL's defaults
  std::string protocols = "TLSv1.2,TLSv1.3";
};

class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> ForServer(const TlsOptions& options);
  static Result<std::shared_ptr<TlsContext>> ForClient(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool server() const { return server_; }
  // True when the server made its own certificate (no cert_path).
  bool self_signed() const { return self_signed_; }
  // Servers, for other TLS stacks on the same settings (gRPC): the certificate chain and the
  // (decrypted) private key as PEM, the PEM CAs of client certificates and the client_auth mode.
  const std::string& cert_chain_pem() const { return cert_chain_pem_; }
  const std::string& key_pem() const { return key_pem_; }
  const std::string& trust_pem() const { return trust_pem_; }
  TlsClientAuth client_auth() const { return client_auth_; }

 private:
  friend class TlsSession;
  TlsContext(ssl_ctx_st* ctx, bool server) : ctx_(ctx), server_(server) {}
  ssl_ctx_st* ctx_;
  bool server_;
  bool self_signed_ = false;
  std::string key_password_;
  std::string cert_chain_pem_;
  std::string key_pem_;
  std::string trust_pem_;
  TlsClientAuth client_auth_ = TlsClientAuth::kNone;
};

// One connection's TLS state. Ciphertext in, plaintext out and the reverse, all in memory; the
// connection moves the bytes to and from its socket.
class TlsSession {
 public:
  // Fails only when OpenSSL cannot allocate.
  static Result<std::unique_ptr<TlsSession>> Create(std::shared_ptr<TlsContext> context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Clients: writes the ClientHello to *wire.
  [[nodiscard]] Status StartHandshake(std::string* wire);
  // Bytes read from the peer: decrypted data is appended to *plain, bytes for the peer
  // (handshake messages, alerts, data queued during the handshake) to *wire. An error means the
  // connection must close; its text says why (e.g. "certificate has expired").
  [[nodiscard]] Status Receive(const char* data, size_t size, std::string* plain,
                               std::string* wire);
  // Application bytes to send: their records are appended to *wire, or kept until the
  // handshake ends.
  [[nodiscard]] Status Send(std::string_view plain, std::string* wire);
  bool established() const { return established_; }
  // The peer sent close_notify.
  bool peer_closed() const { return peer_closed_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once established.
  std::string Describe() const;
  // Application bytes a client may queue before its handshake ends.
  static constexpr size_t kMaxPendingBytes = 64u << 20;

 private:
  TlsSession(std::shared_ptr<TlsContext> context, ssl_st* ssl, bio_st* in, bio_st* out)
      : context_(std::move(context)), ssl_(ssl), in_(in), out_(out) {}
  void Drain(std::string* wire);
  Status Fail(std::string_view what, int ret);
  std::shared_ptr<TlsContext> context_;
  ssl_st* ssl_;
  bio_st* in_;           // owned by ssl_
  bio_st* out_;          // owned by ssl_
  std::string pending_;  // application bytes sent before the handshake ended
  bool established_ = false;
  bool peer_closed_ = false;
};

}  // namespace ramjet::remoting
