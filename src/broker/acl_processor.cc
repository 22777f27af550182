#include "acl_processor.h"

#include "ramjet/base/config.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;

bool AclProcessor::Enabled(const remoting::RequestContextPtr& ctx, int32_t failed_code) {
  if (acl_ != nullptr) return true;
  ctx->RespondCode(failed_code, "ACL is not enabled on this broker (aclEnable=false)");
  return false;
}

void AclProcessor::UpdateAccount(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx, rc::kUpdateAndCreateAclConfigFailed)) return;
  std::map<std::string, std::string> fields;
  for (const char* key : {"accessKey", "secretKey", "whiteRemoteAddress", "admin",
                          "defaultTopicPerm", "defaultGroupPerm", "topicPerms", "groupPerms"}) {
    if (auto v = ctx->request().Find(key)) fields[key] = std::string(*v);
  }
  if (Status s = acl_->UpsertAccount(fields); !s.ok()) {
    return ctx->RespondCode(rc::kUpdateAndCreateAclConfigFailed, std::string(s.message()));
  }
  ctx->RespondCode(rc::kSuccess, "");
}

void AclProcessor::DeleteAccount(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx, rc::kDeleteAclConfigFailed)) return;
  const std::string key(ctx->request().Find("accessKey").value_or(""));
  if (Status s = acl_->DeleteAccount(key); !s.ok()) {
    return ctx->RespondCode(rc::kDeleteAclConfigFailed, std::string(s.message()));
  }
  ctx->RespondCode(rc::kSuccess, "");
}

void AclProcessor::ClusterAclInfo(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx, rc::kSystemError)) return;
  const BrokerConfig& c = bc_.config();
  auto resp = protocol::RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  const std::string version = acl_->Version();
  resp.Set("version", version);
  resp.Set("allAclFileVersion", "{\"" + acl_->path() + "\":" + version + "}");
  resp.Set("brokerName", c.broker_name);
  resp.Set("brokerAddr", c.BrokerAddr());
  resp.Set("clusterName", c.broker_cluster_name);
  ctx->Respond(std::move(resp));
}

void AclProcessor::UpdateGlobalWhiteAddresses(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx, rc::kUpdateGlobalWhiteAddrsConfigFailed)) return;
  const std::string addrs(ctx->request().Find("globalWhiteAddrs").value_or(""));
  if (Status s = acl_->SetGlobalWhiteAddresses(SplitList(addrs, ',')); !s.ok()) {
    return ctx->RespondCode(rc::kUpdateGlobalWhiteAddrsConfigFailed, std::string(s.message()));
  }
  ctx->RespondCode(rc::kSuccess, "");
}

}  // namespace ramjet::broker
