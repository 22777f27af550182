// RocketMQ ACL 1.0 request signatures (AclClientRPCHook / PlainAccessValidator): a client adds
// AccessKey (and SecurityToken) to a request's extFields, then Signature = Base64(HmacSHA1(
// secretKey, the extFields' values in key order, Signature left out, as UTF-8, then the body)).
// The server recomputes it over what it received, also leaving out _UNIQUE_KEY_QUERY.
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "ramjet/protocol/remoting_command.h"

namespace ramjet::acl {

inline constexpr char kAccessKeyField[] = "AccessKey";
inline constexpr char kSignatureField[] = "Signature";
inline constexpr char kSecurityTokenField[] = "SecurityToken";

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string security_token;  // optional
  bool empty() const { return access_key.empty(); }
};

// The 20 raw bytes of HmacSHA1(key = secret, data).
std::string HmacSha1(std::string_view data, std::string_view secret);
// AclSigner.calSignature: Base64(HmacSHA1(key = secret, data)).
std::string CalSignature(std::string_view data, std::string_view secret);

// The bytes a signature covers. server_side: as PlainAccessValidator reads them (without
// _UNIQUE_KEY_QUERY); otherwise as AclClientRPCHook writes them.
std::string SignedContent(const protocol::RemotingCommand& r, bool server_side);
// CalSignature(SignedContent(r, server_side), secret), without copying the body.
std::string SignatureOf(const protocol::RemotingCommand& r, bool server_side,
                        std::string_view secret);

// AclClientRPCHook.doBeforeRequest: adds AccessKey, SecurityToken (when set) and Signature.
void Sign(protocol::RemotingCommand* r, const Credentials& c);

// Equality of two signatures in time independent of where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Whether r carries c's access key and a valid signature made with c's secret (constant-time
// comparison). The cluster credential of name servers and brokers (clusterAccessKey).
bool SignedBy(const protocol::RemotingCommand& r, const Credentials& c);

}  // namespace ramjet::acl
