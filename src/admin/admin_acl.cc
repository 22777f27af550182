// ACL 1.0 administration (mqadmin updateAclConfig, deleteAclConfig, updateGlobalWhiteAddr,
// clusterAclConfigVersion).
#include "admin_impl.h"

namespace ramjet::admin {

namespace req = protocol::request_code;

Status Admin::UpdateAclConfig(const std::string& addr,
                              const std::map<std::string, std::string>& fields) {
  std::vector<std::pair<std::string, std::string>> f(fields.begin(), fields.end());
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kUpdateAndCreateAclConfig, f));
  return Impl::Expect(r, "UPDATE_AND_CREATE_ACL_CONFIG on " + addr);
}

Result<std::string> Admin::AuthCall(const std::string& addr, int32_t code,
                                    const std::vector<std::pair<std::string, std::string>>& fields,
                                    std::string body) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, code, fields, std::move(body)));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "request " + std::to_string(code) + " on " + addr));
  return r.body;
}

Result<std::vector<std::string>> Admin::AllBrokerAddrs(const std::string& cluster) {
  RJ_ASSIGN_OR_RETURN(auto info, ClusterInfo());
  auto names = info.cluster_addr_table.find(cluster);
  if (names == info.cluster_addr_table.end()) {
    return Status::NotFound("no cluster " + cluster + " at the name server");
  }
  std::vector<std::string> out;
  for (const auto& name : names->second) {
    auto b = info.broker_addr_table.find(name);
    if (b == info.broker_addr_table.end()) continue;
    for (const auto& [id, addr] : b->second.broker_addrs) out.push_back(addr);
  }
  return out;
}

Status Admin::DeleteAclConfig(const std::string& addr, const std::string& access_key) {
  RJ_ASSIGN_OR_RETURN(auto r,
                      impl_->Call(addr, req::kDeleteAclConfig, {{"accessKey", access_key}}));
  return Impl::Expect(r, "DELETE_ACL_CONFIG on " + addr);
}

Status Admin::UpdateGlobalWhiteAddrs(const std::string& addr, const std::string& addrs) {
  RJ_ASSIGN_OR_RETURN(
      auto r, impl_->Call(addr, req::kUpdateGlobalWhiteAddrsConfig, {{"globalWhiteAddrs", addrs}}));
  return Impl::Expect(r, "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG on " + addr);
}

Result<std::map<std::string, std::string>> Admin::AclConfigVersion(const std::string& addr) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kGetBrokerClusterAclInfo, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_BROKER_CLUSTER_ACL_INFO on " + addr));
  std::map<std::string, std::string> out;
  for (const char* k :
       {"version", "allAclFileVersion", "brokerName", "brokerAddr", "clusterName"}) {
    out[k] = std::string(r.Find(k).value_or(""));
  }
  return out;
}

}  // namespace ramjet::admin
