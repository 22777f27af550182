// The TLS keys of a broker or name server configuration, after RocketMQ's tls.* system
// properties (TlsSystemConfig), and how they become endpoint options. Thread-safety: plain
// values, filled during start-up.
#pragma once

#include <memory>
#include <string>

#include "ramjet/base/result.h"
#include "ramjet/base/status.h"
#include "ramjet/remoting/tls.h"

namespace ramjet {
class ConfigBinder;
}

namespace ramjet::remoting {

struct EndpointOptions;

struct TlsConfig {
  std::string mode = "permissive";               // tlsMode (tls.server.mode; RocketMQ's default)
  std::string server_cert_path;                  // tlsServerCertPath (empty: self-signed at start)
  std::string server_key_path;                   // tlsServerKeyPath
  std::string server_key_password;               // tlsServerKeyPassword
  std::string server_need_client_auth = "none";  // tlsServerNeedClientAuth
  std::string server_trust_cert_path;            // tlsServerTrustCertPath
  bool enable = false;                           // tlsEnable: our own connections use TLS
  std::string client_cert_path;                  // tlsClientCertPath
  std::string client_key_path;                   // tlsClientKeyPath
  std::string client_key_password;               // tlsClientKeyPassword
  bool client_auth_server = false;               // tlsClientAuthServer
  std::string client_trust_cert_path;            // tlsClientTrustCertPath
  std::string ciphers;                           // tlsCiphers
  std::string protocols = "TLSv1.2,TLSv1.3";     // tlsProtocols

  void Bind(ConfigBinder* binder);
  // Mode names, and that the client side (when tlsEnable) loads.
  [[nodiscard]] Status Check() const;
  // The server side of the ports: tls_mode and a server context (made here; a self-signed
  // certificate is logged as such). `what` names the server in log lines.
  [[nodiscard]] Status ApplyToServer(EndpointOptions* options, std::string_view what) const;
  // Outgoing connections: a client context when tlsEnable, else nothing.
  [[nodiscard]] Status ApplyToClient(EndpointOptions* options) const;
  // The client side as options (for clients built elsewhere); null when tlsEnable is off, unless
  // `always` (a client that must reach this process's own enforcing ports: the dashboard).
  std::unique_ptr<TlsOptions> ClientOptions(bool always = false) const;
};

}  // namespace ramjet::remoting
