// The ACL 2.0 administration requests, AUTH_CREATE_USER (3001) to AUTH_LIST_ACL (3010), with
// Apache 5.5.0's headers, bodies, semantics and texts (docs/formats/acl2-facts.md): users
// (UserInfo bodies; a Super user is created, changed or deleted only by a Super caller) and
// their ACLs (AclInfo bodies; create and update both merge). The caller has passed the
// authorizer (Update or Get on Cluster:<cluster>, or a Super user). Stricter than Apache: with
// ACL 2.0 off (no authenticationEnabled/authorizationEnabled) every such request is refused,
// so users cannot be planted while nothing checks them.
// Threading: on the admin executor; AuthStore serializes edits.
#pragma once

#include "ramjet/acl/auth_store.h"
#include "ramjet/acl/authorizer.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::broker {

class AuthProcessor {
 public:
  // store and auth may be null (ACL 2.0 off). REQUIRES: both outlive the processor.
  AuthProcessor(acl::AuthStore* store, const acl::Authorizer* auth) : store_(store), auth_(auth) {}
  void CreateUser(const remoting::RequestContextPtr& ctx);
  void UpdateUser(const remoting::RequestContextPtr& ctx);
  void DeleteUser(const remoting::RequestContextPtr& ctx);
  void GetUser(const remoting::RequestContextPtr& ctx);
  void ListUsers(const remoting::RequestContextPtr& ctx);
  void UpsertAcl(const remoting::RequestContextPtr& ctx);  // AUTH_CREATE_ACL and AUTH_UPDATE_ACL
  void DeleteAcl(const remoting::RequestContextPtr& ctx);
  void GetAcl(const remoting::RequestContextPtr& ctx);
  void ListAcls(const remoting::RequestContextPtr& ctx);

 private:
  bool Enabled(const remoting::RequestContextPtr& ctx);
  bool CallerIsSuper(const remoting::RequestContextPtr& ctx) const;
  // Status -> answer: PermissionDenied 16, InvalidArgument 29, others 1 (Apache's texts).
  static void Answer(const remoting::RequestContextPtr& ctx, const Status& s,
                     std::string body = {});

  acl::AuthStore* const store_;
  const acl::Authorizer* const auth_;
};

}  // namespace ramjet::broker
