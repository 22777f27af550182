// The ACL 1.0 administration requests (only admin accounts get here: the ACL check before every
// processor refuses the others): UPDATE_AND_CREATE_ACL_CONFIG (50), DELETE_ACL_CONFIG (51),
// GET_BROKER_CLUSTER_ACL_INFO (52), UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53). They edit the
// broker's plain_acl.yml through AclValidator, which checks the new file before it replaces the
// old one. Without aclEnable they fail with a remark saying so.
// Threading: on the admin executor; AclValidator serializes edits.
#pragma once

#include "broker_context.h"
#include "ramjet/acl/acl_validator.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::broker {

class AclProcessor {
 public:
  // acl may be null (aclEnable=false). REQUIRES: bc and acl outlive the processor.
  AclProcessor(BrokerContext* bc, acl::AclValidator* acl) : bc_(*bc), acl_(acl) {}
  void UpdateAccount(const remoting::RequestContextPtr& ctx);
  void DeleteAccount(const remoting::RequestContextPtr& ctx);
  void ClusterAclInfo(const remoting::RequestContextPtr& ctx);
  void UpdateGlobalWhiteAddresses(const remoting::RequestContextPtr& ctx);

 private:
  // False (and answered with failed_code) when ACL is off.
  bool Enabled(const remoting::RequestContextPtr& ctx, int32_t failed_code);

  BrokerContext& bc_;
  acl::AclValidator* const acl_;
};

}  // namespace ramjet::broker
