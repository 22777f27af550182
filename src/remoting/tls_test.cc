// TLS on remoting connections: permissive and enforcing servers, self-signed and CA-issued
// certificates, client certificates, verification failures, large and concurrent traffic.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::remoting {
namespace {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;

// A key and certificate; issued by `issuer` (null: self-signed), valid between the offsets (in
// seconds from now).
struct Cert {
  EVP_PKEY* key = nullptr;
  X509* x509 = nullptr;
  ~Cert() {
    X509_free(x509);
    EVP_PKEY_free(key);
  }
};

std::unique_ptr<Cert> Issue(const char* cn, const Cert* issuer, long from_s, long to_s, bool ca) {
  auto c = std::make_unique<Cert>();
  c->key = EVP_EC_gen("P-256");
  c->x509 = X509_new();
  static int serial = 1;
  X509_set_version(c->x509, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c->x509), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c->x509), from_s);
  X509_gmtime_adj(X509_getm_notAfter(c->x509), to_s);
  X509_set_pubkey(c->x509, c->key);
  X509_NAME* name = X509_get_subject_name(c->x509);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(c->x509, issuer ? X509_get_subject_name(issuer->x509) : name);
  if (ca) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints,
                                              const_cast<char*>("critical,CA:TRUE"));
    X509_add_ext(c->x509, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(c->x509, issuer ? issuer->key : c->key, EVP_sha256());
  return c;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("ramjet-tls-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    ca_ = Issue("test-ca", nullptr, -86400, 86400, true);
    other_ca_ = Issue("other-ca", nullptr, -86400, 86400, true);
    Write("ca.pem", *ca_, false);
    Write("other-ca.pem", *other_ca_, false);
    Write("server", *Issue("server", ca_.get(), -3600, 86400, false), true);
    Write("client", *Issue("client", ca_.get(), -3600, 86400, false), true);
    Write("expired", *Issue("expired", ca_.get(), -7 * 86400, -86400, false), true);
    Write("stranger", *Issue("stranger", other_ca_.get(), -3600, 86400, false), true);
  }
  void TearDown() override {
    if (client_) client_->Shutdown();
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  // name.pem (certificate) and, with key, name.key.
  void Write(const std::string& name, const Cert& c, bool key) {
    std::string cert_path = Path(name.ends_with(".pem") ? name : name + ".pem");
    FILE* f = std::fopen(cert_path.c_str(), "w");
    PEM_write_X509(f, c.x509);
    std::fclose(f);
    if (!key) return;
    f = std::fopen(Path(name + ".key").c_str(), "w");
    PEM_write_PrivateKey(f, c.key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }

  void StartServer(TlsMode mode, TlsOptions options) {
    EndpointOptions so;
    so.name = "tls-server";
    so.io_threads = 2;
    so.tls_mode = mode;
    auto ctx = TlsContext::ForServer(options);
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    so.tls = *ctx;
    server_ = std::make_unique<RemotingServer>(so);
    pool_ = std::make_unique<ThreadPool>("tls-pool", 2, 1000);
    server_->RegisterProcessor(
        1000,
        [](const RequestContextPtr& ctx) {
          RemotingCommand r = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
          r.Set("echo", ctx->request().GetString("v").value_or("?"));
          r.body = ctx->request().body;
          ctx->Respond(std::move(r));
        },
        pool_.get());
    ASSERT_TRUE(server_->Start({{"127.0.0.1", 0}}).ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  // A client; null options: plaintext.
  std::unique_ptr<RemotingClient> Client(const TlsOptions* options) {
    EndpointOptions co;
    co.name = "tls-client";
    if (options != nullptr) {
      auto ctx = TlsContext::ForClient(*options);
      EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
      if (ctx.ok()) co.tls = *ctx;
    }
    return std::make_unique<RemotingClient>(co, 2000);
  }
  Result<RemotingCommand> Echo(RemotingClient* c, const std::string& v, std::string body = {}) {
    RemotingCommand req = RemotingCommand::Request(1000);
    req.Set("v", v);
    req.body = std::move(body);
    return c->InvokeSync(addr_, std::move(req), 3000);
  }
  TlsOptions ServerOptions() const {
    TlsOptions o;
    o.cert_path = Path("server.pem");
    o.key_path = Path("server.key");
    return o;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Cert> ca_, other_ca_;
  std::unique_ptr<RemotingServer> server_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<RemotingClient> client_;
  std::string addr_;
};

TEST_F(TlsTest, PermissiveServesTlsAndPlaintextWithSelfSignedCertificate) {
  StartServer(TlsMode::kPermissive, TlsOptions{});
  TlsOptions co;  // RocketMQ's default client: trusts any server
  client_ = Client(&co);
  auto r = Echo(client_.get(), "over-tls");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->GetString("echo").value_or(""), "over-tls");
  auto plain = Client(nullptr);
  auto p = Echo(plain.get(), "plain");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->GetString("echo").value_or(""), "plain");
  plain->Shutdown();
}

TEST_F(TlsTest, EnforcingRefusesPlaintext) {
  StartServer(TlsMode::kEnforcing, ServerOptions());
  auto plain = Client(nullptr);
  auto p = Echo(plain.get(), "plain");
  EXPECT_FALSE(p.ok());
  plain->Shutdown();
  TlsOptions co;
  client_ = Client(&co);
  auto r = Echo(client_.get(), "tls");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->GetString("echo").value_or(""), "tls");
}

TEST_F(TlsTest, DisabledServerDoesNotSpeakTls) {
  StartServer(TlsMode::kDisabled, ServerOptions());
  TlsOptions co;
  client_ = Client(&co);
  EXPECT_FALSE(Echo(client_.get(), "tls").ok());
  auto plain = Client(nullptr);
  EXPECT_TRUE(Echo(plain.get(), "plain").ok());
  plain->Shutdown();
}

TEST_F(TlsTest, ClientVerifiesServerChain) {
  StartServer(TlsMode::kEnforcing, ServerOptions());
  TlsOptions trusting;
  trusting.verify_server = true;
  trusting.trust_cert_path = Path("ca.pem");
  client_ = Client(&trusting);
  EXPECT_TRUE(Echo(client_.get(), "trusted").ok());
  TlsOptions wrong_ca = trusting;
  wrong_ca.trust_cert_path = Path("other-ca.pem");
  auto refused = Client(&wrong_ca);
  EXPECT_FALSE(Echo(refused.get(), "untrusted").ok());
  refused->Shutdown();
}

TEST_F(TlsTest, RequiredClientCertificateMustBeValidAndTrusted) {
  TlsOptions so = ServerOptions();
  so.client_auth = TlsClientAuth::kRequire;
  so.trust_cert_path = Path("ca.pem");
  StartServer(TlsMode::kEnforcing, so);
  auto with_cert = [&](const std::string& name) {
    TlsOptions co;
    co.cert_path = Path(name + ".pem");
    co.key_path = Path(name + ".key");
    return Client(&co);
  };
  client_ = with_cert("client");
  auto ok = Echo(client_.get(), "good");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  for (const char* bad : {"expired", "stranger"}) {
    auto c = with_cert(bad);
    EXPECT_FALSE(Echo(c.get(), bad).ok()) << bad;
    c->Shutdown();
  }
  TlsOptions none;
  auto anonymous = Client(&none);
  EXPECT_FALSE(Echo(anonymous.get(), "no cert").ok());
  anonymous->Shutdown();
}

TEST_F(TlsTest, LargeBodiesAndConcurrentCallersKeepRecordOrder) {
  StartServer(TlsMode::kPermissive, ServerOptions());
  TlsOptions co;
  client_ = Client(&co);
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  auto r = Echo(client_.get(), "big", big);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, big);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string v = std::to_string(t) + "-" + std::to_string(i);
        auto e = Echo(client_.get(), v, std::string(1000 + i, 'x'));
        if (e.ok() && e->GetString("echo").value_or("") == v && e->body.size() == 1000u + i) {
          good.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 800);
}

TEST_F(TlsTest, GarbageAfterTlsRecordHeaderClosesOnlyThatConnection) {
  StartServer(TlsMode::kPermissive, ServerOptions());
  auto raw = Client(nullptr);
  // A "TLS record" of nonsense: the server closes it; others keep working.
  auto conn = raw->GetConnection(addr_);
  ASSERT_TRUE(conn.ok());
  (*conn)->SendRaw(std::string("\x16\x03\x01\x00\x05hello", 10));
  for (int i = 0; i < 50 && !(*conn)->closed(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE((*conn)->closed());
  raw->Shutdown();
  TlsOptions co;
  client_ = Client(&co);
  EXPECT_TRUE(Echo(client_.get(), "still up").ok());
}

TEST(TlsConfigTest, RejectsOldProtocolsAndBadFiles) {
  TlsOptions o;
  o.protocols = "TLSv1.1";
  EXPECT_FALSE(TlsContext::ForServer(o).ok());
  o.protocols = "TLSv1.3";
  EXPECT_TRUE(TlsContext::ForServer(o).ok());
  o.cert_path = "/nonexistent.pem";
  auto bad = TlsContext::ForServer(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/nonexistent.pem"), std::string::npos);
  TlsOptions need;
  need.client_auth = TlsClientAuth::kRequire;
  EXPECT_FALSE(TlsContext::ForServer(need).ok());  // no trust store for client certificates
  TlsOptions verify;
  verify.verify_server = true;  // without named CAs any public certificate would pass
  EXPECT_FALSE(TlsContext::ForClient(verify).ok());
  EXPECT_FALSE(ParseTlsMode("on").ok());
  EXPECT_EQ(*ParseTlsMode("enforcing"), TlsMode::kEnforcing);
  EXPECT_EQ(*ParseTlsClientAuth("optional"), TlsClientAuth::kOptional);
}

}  // namespace
}  // namespace ramjet::remoting
