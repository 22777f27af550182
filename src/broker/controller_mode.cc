#include "controller_mode.h"

#include <cstdlib>

#include "ramjet/base/logging.h"
#include "ramjet/controller/etcd_client.h"

namespace ramjet::broker {

Result<std::unique_ptr<controller::FailoverController>> JoinGroup(BrokerConfig* config) {
  controller::ControllerOptions o;
  RJ_ASSIGN_OR_RETURN(o.etcd_endpoints,
                      controller::EtcdClient::ParseEndpoints(config->controller_addr));
  o.cluster = config->broker_cluster_name;
  o.broker_name = config->broker_name;
  o.member_id = config->controller_member_id;
  o.addr = config->BrokerAddr();
  o.ha_addr = config->broker_ip2 + ":" + std::to_string(config->ha_listen_port);
  o.lease_ttl_s = config->controller_lease_ttl;
  o.housekeeping_ms = config->ha_housekeeping_interval;
  o.fallbehind_max = config->ha_slave_fallbehind_max;
  o.epoch_file = config->store.root_dir + "/config/controllerEpoch";
  if (const char* lease = std::getenv(kInheritedLeaseEnvName)) {
    o.inherited_lease = std::strtoll(lease, nullptr, 10);
    unsetenv(kInheritedLeaseEnvName);
  }
  auto c = std::make_unique<controller::FailoverController>(o);
  RJ_ASSIGN_OR_RETURN(controller::JoinDecision d, c->Join());
  if (d.master) {
    config->broker_id = 0;
    config->broker_role = config->controller_master_role;
    config->store.replica = false;
    config->ha_master_address.clear();
  } else {
    config->broker_id = config->controller_member_id;
    config->broker_role = "SLAVE";
    config->store.replica = true;
    config->ha_master_address = d.master_ha_addr;  // empty while the group has no master
    config->store.truncate_commit_log_at = d.truncate_to;
  }
  return c;
}

controller::FailoverController::Hooks ControllerHooks(BrokerContext* bc, Replication* replication,
                                                      RestartHook on_restart) {
  controller::FailoverController::Hooks h;
  h.max_offset = [bc] { return bc->store->MaxPhysicalOffset().value(); };
  // A candidate's term starts at the end of its last whole record (a replicated chunk may end
  // inside one; recovery after the restart cuts such a torn tail at the same place).
  h.stop_replica = [bc, replication] {
    if (replication->client()) replication->client()->Stop();
    bc->store->WaitDispatched(2000);
    return bc->store->Stats().dispatched.value();
  };
  h.replicas = [bc] {
    std::vector<controller::ReplicaView> out;
    if (bc->ha_master == nullptr) return out;
    for (const auto& s : bc->ha_master->Slaves())
      out.push_back({s.address, s.acked_offset, s.last_report_ms, s.caught_up_ms});
    return out;
  };
  h.set_ackers = [bc](std::vector<std::string> ips) {
    if (bc->ha_master != nullptr) bc->ha_master->SetAckers(std::move(ips));
  };
  h.restart = std::move(on_restart);
  return h;
}

Status AdoptReplicatedTopics(BrokerContext* bc) {
  std::map<std::string, int32_t> queues;
  for (const auto& [topic, qid] : bc->store->ListQueues()) {
    if (!bc->topics.Find(topic)) queues[topic] = std::max(queues[topic], qid + 1);
  }
  std::vector<protocol::TopicConfig> configs;
  for (const auto& [topic, n] : queues) {
    protocol::TopicConfig tc;
    tc.topic_name = topic;
    tc.read_queue_nums = tc.write_queue_nums = n;
    tc.perm = protocol::kPermRead | protocol::kPermWrite;
    configs.push_back(tc);
  }
  if (configs.empty()) return Status::OK();
  auto added = bc->topics.AddAllIfAbsent(configs);
  if (!added.ok()) return added.status();
  RJ_LOG(kInfo, "broker", "%d topics of the replicated log adopted on becoming master", *added);
  return Status::OK();
}

void AddControllerRuntimeInfo(const controller::FailoverController& c,
                              std::map<std::string, std::string>* t) {
  const controller::ControllerInfo info = c.Info();
  (*t)["controllerRole"] = info.role;
  (*t)["controllerEpoch"] = std::to_string(info.epoch);
  (*t)["controllerWritable"] = info.writable ? "true" : "false";
  if (info.sync_state_set) {
    std::string members;
    for (int64_t id : info.sync_state_set->members)
      members += (members.empty() ? "" : ",") + std::to_string(id);
    (*t)["syncStateSet"] = members;
    (*t)["syncStateSetEpoch"] = std::to_string(info.sync_state_set->epoch);
  }
}

}  // namespace ramjet::broker
