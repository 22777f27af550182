#include "ramjet/remoting/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace ramjet::remoting {

namespace {

// The oldest error OpenSSL queued on this thread (the cause), then clears the queue.
std::string TakeOpenSslError() {
  unsigned long first = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (first == 0) return {};
  const char* reason = ERR_reason_error_string(first);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  return buf;
}

Status SslError(std::string_view what) {
  std::string why = TakeOpenSslError();
  return Status::InvalidArgument(std::string(what) + (why.empty() ? "" : ": " + why));
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ':' || c == ' ') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

Status ApplyProtocols(SSL_CTX* ctx, std::string_view protocols) {
  int lo = 0;
  int hi = 0;
  for (const std::string& p : SplitList(protocols)) {
    int v = 0;
    if (p == "TLSv1.2") {
      v = TLS1_2_VERSION;
    } else if (p == "TLSv1.3") {
      v = TLS1_3_VERSION;
    } else {
      return Status::InvalidArgument("tlsProtocols: '" + p +
                                     "' is not supported (TLSv1.2 and TLSv1.3 only)");
    }
    lo = lo == 0 ? v : std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo == 0) return Status::InvalidArgument("tlsProtocols names no protocol");
  if (SSL_CTX_set_min_proto_version(ctx, lo) != 1 || SSL_CTX_set_max_proto_version(ctx, hi) != 1) {
    return SslError("tlsProtocols");
  }
  return Status::OK();
}

Status ApplyCiphers(SSL_CTX* ctx, std::string_view ciphers) {
  std::string list12;
  std::string suites13;
  for (const std::string& c : SplitList(ciphers)) {
    std::string& into = c.starts_with("TLS_") ? suites13 : list12;
    if (!into.empty()) into += ':';
    into += c;
  }
  if (!list12.empty() && SSL_CTX_set_cipher_list(ctx, list12.c_str()) != 1) {
    return SslError("tlsCiphers '" + list12 + "'");
  }
  if (!suites13.empty() && SSL_CTX_set_ciphersuites(ctx, suites13.c_str()) != 1) {
    return SslError("tlsCiphers '" + suites13 + "'");
  }
  return Status::OK();
}

int PasswordCallback(char* buf, int size, int /*rwflag*/, void* userdata) {
  const auto* password = static_cast<const std::string*>(userdata);
  int n = std::min(size, static_cast<int>(password->size()));
  std::memcpy(buf, password->data(), static_cast<size_t>(n));
  return n;
}

// A P-256 key and a certificate for it signed by itself, valid from a day ago for a year.
Status UseSelfSigned(SSL_CTX* ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return SslError("self-signed certificate: key");
  X509* cert = X509_new();
  bool ok = cert != nullptr && X509_set_version(cert, 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert), -86400) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400) != nullptr &&
            X509_set_pubkey(cert, key) == 1;
  if (ok) {
    X509_NAME* name = X509_get_subject_name(cert);
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>("ramjet"), -1, -1,
                                    0) == 1 &&
         X509_set_issuer_name(cert, name) == 1 && X509_sign(cert, key, EVP_sha256()) > 0 &&
         SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok ? Status::OK() : SslError("self-signed certificate");
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int): OpenSSL's type
  std::string out(data != nullptr && n > 0 ? data : "", n > 0 ? static_cast<size_t>(n) : 0);
  BIO_free(bio);
  return out;
}

// The context's certificate chain and key as PEM (unencrypted).
Status ExportPem(SSL_CTX* ctx, std::string* chain, std::string* key) {
  BIO* c = BIO_new(BIO_s_mem());
  BIO* k = BIO_new(BIO_s_mem());
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  STACK_OF(X509)* extra = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &extra);
  bool ok = c != nullptr && k != nullptr && leaf != nullptr && PEM_write_bio_X509(c, leaf) == 1 &&
            PEM_write_bio_PrivateKey(k, SSL_CTX_get0_privatekey(ctx), nullptr, nullptr, 0, nullptr,
                                     nullptr) == 1;
  for (int i = 0; ok && extra != nullptr && i < sk_X509_num(extra); ++i) {
    ok = PEM_write_bio_X509(c, sk_X509_value(extra, i)) == 1;
  }
  if (!ok) {
    BIO_free(c);
    BIO_free(k);
    return SslError("exporting the server certificate");
  }
  *chain = BioText(c);
  *key = BioText(k);
  return Status::OK();
}

// The certificate chain and its key (key_path empty: in the chain's file); side names the keys
// in errors ("tlsServer" / "tlsClient").
Status UseCertificate(SSL_CTX* ctx, const TlsOptions& o, const std::string& side) {
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_path.c_str()) != 1) {
    return SslError(side + "CertPath " + o.cert_path);
  }
  const std::string& key = o.key_path.empty() ? o.cert_path : o.key_path;
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return SslError(side + "KeyPath " + key);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return SslError(side + "KeyPath does not match " + side + "CertPath");
  }
  return Status::OK();
}

Result<SSL_CTX*> NewContext(bool server, const TlsOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return SslError("SSL_CTX_new");
  Status s = ApplyProtocols(ctx, o.protocols);
  if (s.ok()) s = ApplyCiphers(ctx, o.ciphers);
  if (!s.ok()) {
    SSL_CTX_free(ctx);
    return s;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (server) {
    // Without it OpenSSL aborts any resumed session once client certificates are verified
    // (a Java client reconnecting after an idle close offers its ticket).
    static constexpr unsigned char kSessionContext[] = "ramjet";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  }
  return ctx;
}

}  // namespace

Result<TlsMode> ParseTlsMode(std::string_view text) {
  if (text == "disabled") return TlsMode::kDisabled;
  if (text == "permissive") return TlsMode::kPermissive;
  if (text == "enforcing") return TlsMode::kEnforcing;
  return Status::InvalidArgument("tlsMode must be disabled, permissive or enforcing");
}

Result<TlsClientAuth> ParseTlsClientAuth(std::string_view text) {
  if (text == "none") return TlsClientAuth::kNone;
  if (text == "optional") return TlsClientAuth::kOptional;
  if (text == "require") return TlsClientAuth::kRequire;
  return Status::InvalidArgument("tlsServerNeedClientAuth must be none, optional or require");
}

std::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kDisabled:
      return "disabled";
    case TlsMode::kPermissive:
      return "permissive";
    case TlsMode::kEnforcing:
      return "enforcing";
  }
  return "?";
}

Result<std::shared_ptr<TlsContext>> TlsContext::ForServer(const TlsOptions& o) {
  RJ_ASSIGN_OR_RETURN(SSL_CTX * raw, NewContext(true, o));
  std::shared_ptr<TlsContext> c(new TlsContext(raw, true));
  SSL_CTX* ctx = c->ctx_;
  c->key_password_ = o.key_password;
  SSL_CTX_set_default_passwd_cb(ctx, PasswordCallback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, &c->key_password_);
  if (o.cert_path.empty()) {
    RJ_RETURN_IF_ERROR(UseSelfSigned(ctx));
    c->self_signed_ = true;
  } else {
    RJ_RETURN_IF_ERROR(UseCertificate(ctx, o, "tlsServer"));
  }
  if (o.client_auth != TlsClientAuth::kNone) {
    if (o.trust_cert_path.empty()) {
      return Status::InvalidArgument(
          "tlsServerNeedClientAuth needs tlsServerTrustCertPath (the CAs of client certificates)");
    }
    if (SSL_CTX_load_verify_locations(ctx, o.trust_cert_path.c_str(), nullptr) != 1) {
      return SslError("tlsServerTrustCertPath " + o.trust_cert_path);
    }
    int mode = SSL_VERIFY_PEER;
    if (o.client_auth == TlsClientAuth::kRequire) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    std::ifstream in(o.trust_cert_path);
    std::stringstream text;
    text << in.rdbuf();
    c->trust_pem_ = text.str();
  }
  c->client_auth_ = o.client_auth;
  RJ_RETURN_IF_ERROR(ExportPem(ctx, &c->cert_chain_pem_, &c->key_pem_));
  return c;
}

Result<std::shared_ptr<TlsContext>> TlsContext::ForClient(const TlsOptions& o) {
  RJ_ASSIGN_OR_RETURN(SSL_CTX * raw, NewContext(false, o));
  std::shared_ptr<TlsContext> c(new TlsContext(raw, false));
  SSL_CTX* ctx = c->ctx_;
  c->key_password_ = o.key_password;
  SSL_CTX_set_default_passwd_cb(ctx, PasswordCallback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, &c->key_password_);
  if (!o.cert_path.empty()) RJ_RETURN_IF_ERROR(UseCertificate(ctx, o, "tlsClient"));
  if (o.verify_server) {
    // Host names are not checked (brokers are addressed by IP), so the system's public CAs would
    // let any certificate holder pass: the CAs must be named.
    if (o.trust_cert_path.empty()) {
      return Status::InvalidArgument(
          "tlsClientAuthServer needs tlsClientTrustCertPath (the CAs of the servers)");
    }
    if (SSL_CTX_load_verify_locations(ctx, o.trust_cert_path.c_str(), nullptr) != 1) {
      return SslError("tlsClientTrustCertPath " + o.trust_cert_path);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return c;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<TlsSession>> TlsSession::Create(std::shared_ptr<TlsContext> context) {
  SSL* ssl = SSL_new(context->ctx_);
  if (ssl == nullptr) return SslError("SSL_new");
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl);
    return SslError("BIO_new");
  }
  SSL_set_bio(ssl, in, out);  // ssl owns both from here
  if (context->server()) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  return std::unique_ptr<TlsSession>(new TlsSession(std::move(context), ssl, in, out));
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::Drain(std::string* wire) {
  char buf[16384];
  while (BIO_ctrl_pending(out_) > 0) {
    int n = BIO_read(out_, buf, sizeof(buf));
    if (n <= 0) break;
    wire->append(buf, static_cast<size_t>(n));
  }
}

Status TlsSession::Fail(std::string_view what, int ret) {
  int err = SSL_get_error(ssl_, ret);
  std::string why = TakeOpenSslError();
  long verify = SSL_get_verify_result(ssl_);  // NOLINT(google-runtime-int): OpenSSL's type
  if (verify != X509_V_OK) {
    why += std::string(why.empty() ? "" : " (") + X509_verify_cert_error_string(verify) +
           (why.empty() ? "" : ")");
  }
  if (why.empty()) why = err == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "error";
  return Status::PermissionDenied(std::string(what) + ": " + why);
}

Status TlsSession::StartHandshake(std::string* wire) {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r != 1) {
    int err = SSL_get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      Drain(wire);
      return Fail("TLS handshake", r);
    }
  } else {
    established_ = true;
  }
  Drain(wire);
  return Status::OK();
}

Status TlsSession::Receive(const char* data, size_t size, std::string* plain, std::string* wire) {
  ERR_clear_error();
  if (size > 0 && BIO_write(in_, data, static_cast<int>(size)) != static_cast<int>(size)) {
    return Status::Internal("TLS: buffering received bytes failed");
  }
  if (!established_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        Drain(wire);  // the alert that tells the peer why
        return Fail("TLS handshake", r);
      }
      Drain(wire);
      return Status::OK();
    }
    established_ = true;
    if (!pending_.empty()) {
      std::string queued = std::move(pending_);
      pending_.clear();
      RJ_RETURN_IF_ERROR(Send(queued, wire));
    }
  }
  char buf[16384];
  for (;;) {
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      plain->append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      break;
    }
    Drain(wire);
    return Fail("TLS", n);
  }
  Drain(wire);
  return Status::OK();
}

Status TlsSession::Send(std::string_view plain, std::string* wire) {
  if (!established_) {
    if (pending_.size() + plain.size() > kMaxPendingBytes) {
      return Status::Unavailable("TLS handshake not finished and " +
                                 std::to_string(pending_.size()) + " bytes already waiting");
    }
    pending_.append(plain);
    return Status::OK();
  }
  ERR_clear_error();
  while (!plain.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(plain.size(), 1u << 30));
    int n = SSL_write(ssl_, plain.data(), chunk);
    if (n <= 0) return Fail("TLS write", n);
    plain.remove_prefix(static_cast<size_t>(n));
  }
  Drain(wire);
  return Status::OK();
}

std::string TlsSession::Describe() const {
  if (!established_) return "handshaking";
  return std::string(SSL_get_version(ssl_)) + " " +
         SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_));
}

}  // namespace ramjet::remoting
