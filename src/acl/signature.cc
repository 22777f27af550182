#include "ramjet/acl/signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <string>
#include <unordered_map>

#include "ramjet/base/base64.h"

namespace ramjet::acl {

std::string HmacSha1(std::string_view data, std::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string CalSignature(std::string_view data, std::string_view secret) {
  return Base64Encode(HmacSha1(data, secret));
}

std::string SignedContent(const protocol::RemotingCommand& r, bool server_side) {
  std::string out;
  for (const auto& [k, v] : r.ext_fields) {  // sorted by key, as Java's TreeMap of Strings
    if (k == kSignatureField) continue;
    if (server_side && k == "_UNIQUE_KEY_QUERY") continue;
    out += v;
  }
  out += r.body;
  return out;
}

namespace {

// An HMAC-SHA1 context keyed with `secret`, ready for updates. Keying (a digest fetch and the
// key's pads) costs more than signing a message, so each thread keeps one keyed template per
// secret (bounded) and every signature starts from a copy of it.
EVP_MAC_CTX* KeyedCopy(std::string_view secret) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  struct Templates {
    std::unordered_map<std::string, EVP_MAC_CTX*> by_secret;
    ~Templates() {
      for (auto& [k, ctx] : by_secret) EVP_MAC_CTX_free(ctx);
    }
  };
  thread_local Templates t;
  if (mac == nullptr) return nullptr;
  auto it = t.by_secret.find(std::string(secret));
  if (it == t.by_secret.end()) {
    if (t.by_secret.size() >= 64) {
      for (auto& [k, ctx] : t.by_secret) EVP_MAC_CTX_free(ctx);
      t.by_secret.clear();
    }
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    if (ctx == nullptr || EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(secret.data()),
                                       secret.size(), params) != 1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    it = t.by_secret.emplace(std::string(secret), ctx).first;
  }
  return EVP_MAC_CTX_dup(it->second);
}

}  // namespace

std::string SignatureOf(const protocol::RemotingCommand& r, bool server_side,
                        std::string_view secret) {
  EVP_MAC_CTX* ctx = KeyedCopy(secret);
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  bool ok = ctx != nullptr;
  for (const auto& [k, v] : r.ext_fields) {
    if (!ok) break;
    if (k == kSignatureField || (server_side && k == "_UNIQUE_KEY_QUERY")) continue;
    ok = EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(v.data()), v.size()) == 1;
  }
  ok = ok &&
       EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(r.body.data()), r.body.size()) ==
           1 &&
       EVP_MAC_final(ctx, out, &len, sizeof(out)) == 1;
  EVP_MAC_CTX_free(ctx);
  if (!ok) return CalSignature(SignedContent(r, server_side), secret);  // never expected
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

void Sign(protocol::RemotingCommand* r, const Credentials& c) {
  r->Set(kAccessKeyField, c.access_key);
  if (!c.security_token.empty()) r->Set(kSecurityTokenField, c.security_token);
  r->ext_fields.erase(kSignatureField);
  r->Set(kSignatureField, SignatureOf(*r, false, c.secret_key));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool SignedBy(const protocol::RemotingCommand& r, const Credentials& c) {
  if (c.empty() || r.Find(kAccessKeyField).value_or("") != c.access_key) return false;
  const std::string_view got = r.Find(kSignatureField).value_or("");
  const std::string want = SignatureOf(r, true, c.secret_key);
  return ConstantTimeEquals(got, want);
}

}  // namespace ramjet::acl
