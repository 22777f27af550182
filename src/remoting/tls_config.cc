#include "ramjet/remoting/tls_config.h"

#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::remoting {

void TlsConfig::Bind(ConfigBinder* b) {
  b->Bind("tlsMode", &mode,
          "TLS on the remoting ports: disabled, permissive (TLS and plaintext clients, told apart "
          "by their first byte; RocketMQ's default) or enforcing (plaintext connections closed)")
      .Refused();
  b->Bind("tlsServerCertPath", &server_cert_path,
          "PEM certificate chain of the server (empty: a self-signed certificate made at start, "
          "as RocketMQ's tls.test.mode.enable)")
      .Refused();
  b->Bind("tlsServerKeyPath", &server_key_path, "PEM private key of tlsServerCertPath").Refused();
  b->Bind("tlsServerKeyPassword", &server_key_password, "password of an encrypted server key")
      .Refused()
      .Secret();
  b->Bind("tlsServerNeedClientAuth", &server_need_client_auth,
          "client certificates: none, optional or require (verified against "
          "tlsServerTrustCertPath)")
      .Refused();
  b->Bind("tlsServerTrustCertPath", &server_trust_cert_path,
          "PEM CA certificates that client certificates must chain to")
      .Refused();
  b->Bind("tlsEnable", &enable,
          "this process's own connections (to name servers, masters, brokers) use TLS (RocketMQ's "
          "tls.enable)")
      .Refused();
  b->Bind("tlsClientCertPath", &client_cert_path,
          "PEM certificate shown to servers that ask for one")
      .Refused();
  b->Bind("tlsClientKeyPath", &client_key_path, "PEM private key of tlsClientCertPath").Refused();
  b->Bind("tlsClientKeyPassword", &client_key_password, "password of an encrypted client key")
      .Refused()
      .Secret();
  b->Bind("tlsClientAuthServer", &client_auth_server,
          "verify servers' certificates against tlsClientTrustCertPath (RocketMQ's clients trust "
          "any server otherwise)")
      .Refused();
  b->Bind("tlsClientTrustCertPath", &client_trust_cert_path,
          "PEM CA certificates servers must chain to (empty: the system's)")
      .Refused();
  b->Bind("tlsCiphers", &ciphers,
          "allowed ciphers, OpenSSL names separated by ',' or ':'; TLS_* names are TLS 1.3 "
          "suites (empty: OpenSSL's defaults)")
      .Refused();
  b->Bind("tlsProtocols", &protocols, "allowed protocol versions: TLSv1.2 and/or TLSv1.3")
      .Refused();
}

Status TlsConfig::Check() const {
  RJ_RETURN_IF_ERROR(ParseTlsMode(mode).status());
  RJ_RETURN_IF_ERROR(ParseTlsClientAuth(server_need_client_auth).status());
  EndpointOptions probe;
  return ApplyToClient(&probe);
}

Status TlsConfig::ApplyToServer(EndpointOptions* o, std::string_view what) const {
  RJ_ASSIGN_OR_RETURN(TlsMode m, ParseTlsMode(mode));
  o->tls_mode = m;
  if (m == TlsMode::kDisabled) return Status::OK();
  TlsOptions t;
  t.cert_path = server_cert_path;
  t.key_path = server_key_path;
  t.key_password = server_key_password;
  RJ_ASSIGN_OR_RETURN(t.client_auth, ParseTlsClientAuth(server_need_client_auth));
  t.trust_cert_path = server_trust_cert_path;
  t.ciphers = ciphers;
  t.protocols = protocols;
  RJ_ASSIGN_OR_RETURN(o->tls, TlsContext::ForServer(t));
  RJ_LOG(kInfo, "remoting", "%.*s: tlsMode %s, %s", static_cast<int>(what.size()), what.data(),
         std::string(TlsModeName(m)).c_str(),
         o->tls->self_signed() ? "self-signed certificate (set tlsServerCertPath for a real one)"
                               : server_cert_path.c_str());
  return Status::OK();
}

std::unique_ptr<TlsOptions> TlsConfig::ClientOptions(bool always) const {
  if (!enable && !always) return nullptr;
  auto t = std::make_unique<TlsOptions>();
  t->cert_path = client_cert_path;
  t->key_path = client_key_path;
  t->key_password = client_key_password;
  t->verify_server = client_auth_server;
  t->trust_cert_path = client_trust_cert_path;
  t->ciphers = ciphers;
  t->protocols = protocols;
  return t;
}

Status TlsConfig::ApplyToClient(EndpointOptions* o) const {
  auto t = ClientOptions();
  if (!t) return Status::OK();
  RJ_ASSIGN_OR_RETURN(o->tls, TlsContext::ForClient(*t));
  return Status::OK();
}

}  // namespace ramjet::remoting
