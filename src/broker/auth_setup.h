// ACL 2.0 at broker start: the users and ACLs file (<storePathRootDir>/config/auth.json), the
// initial Super users (initAuthenticationUser, innerClientAuthenticationCredentials; created
// only when absent, as Apache), the optional import of plain_acl.yml (migrateAuthFromV1Enabled),
// and the authorizer every request passes.
#pragma once

#include <memory>

#include "ramjet/acl/auth_store.h"
#include "ramjet/acl/authorizer.h"
#include "ramjet/acl/signature.h"
#include "ramjet/broker/broker.h"

namespace ramjet::broker {

struct AuthSetup {
  std::unique_ptr<acl::AuthStore> store;
  std::unique_ptr<acl::Authorizer> authorizer;
};

Result<AuthSetup> SetUpAuth(const BrokerConfig& config);

}  // namespace ramjet::broker
