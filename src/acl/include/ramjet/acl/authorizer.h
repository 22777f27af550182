// ACL 2.0 enforcement (RocketMQ 5.3+ authenticationEnabled / authorizationEnabled): a request is
// authenticated against the users of an AuthStore (AccessKey = user name, the AclClientRPCHook
// signature made with the user's password; a disabled user is refused), then each resource it
// touches is decided against the user's policies (Super users pass). Texts and decisions as
// Apache 5.5.0 (docs/formats/acl2-facts.md), refusals answered NO_PERMISSION (16). Stricter than
// Apache: authorization implies authentication, and admin codes Apache leaves unmapped
// (UPDATE_BROKER_CONFIG, ...) need Update on Cluster:<cluster> (or a Super user).
// Thread-safety: immutable after construction; reads the store's snapshots.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ramjet/acl/auth_model.h"
#include "ramjet/acl/auth_store.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::acl {

struct AuthOptions {
  bool authentication = false;
  bool authorization = false;
  std::set<int32_t> authentication_whitelist;  // request codes that skip it
  std::set<int32_t> authorization_whitelist;
  std::string cluster_name;  // the Cluster:<name> resource of admin codes
};

// "34,35" -> {34, 35}; an item that is not a number is an error.
Result<std::set<int32_t>> ParseCodeList(std::string_view text);

// What a remoting request touches (resource, actions), as Apache's context builder decides.
Result<std::vector<AccessContext>> ContextsOf(const protocol::RemotingCommand& r,
                                              std::string_view cluster_name);
// ACL 1.0 resources (topic -> PUB/SUB/ANY, %RETRY%<group> -> ...) as ACL 2.0 contexts.
std::vector<AccessContext> ContextsOfResources(const std::map<std::string, uint8_t>& resources);

class Authorizer {
 public:
  Authorizer(const AuthStore* store, AuthOptions options)
      : store_(store), options_(std::move(options)) {}
  const AuthOptions& options() const { return options_; }

  // A remoting request from remote_address ("ip:port").
  Status Check(const protocol::RemotingCommand& r, const std::string& remote_address) const;
  // A 5.x gRPC call: its authorization and x-mq-date-time headers, and what it touches.
  Status CheckGrpc(std::string_view authorization, std::string_view date_time,
                   const std::string& peer_address,
                   const std::map<std::string, uint8_t>& resources) const;
  // The user a request is validly signed by (AccessKey and signature checked), if any.
  std::optional<User> Caller(const protocol::RemotingCommand& r) const;

 private:
  Result<User> Authenticate(const protocol::RemotingCommand& r) const;
  Status Authorize(const User* user, const std::string& subject,
                   const std::vector<AccessContext>& contexts, std::string_view ip) const;
  const AuthStore* store_;
  AuthOptions options_;
};

}  // namespace ramjet::acl
