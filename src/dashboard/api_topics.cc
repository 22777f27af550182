// Topics page: the topic table of every master, status per queue, route, consumers of a topic,
// create / update / delete and test messages.
#include "api.h"
#include "json_views.h"
#include "ramjet/base/config.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/system_topics.h"

namespace ramjet::dashboard {

std::string TopicTypeOf(const std::string& topic, const protocol::ClusterInfo& cluster) {
  if (topic.starts_with(protocol::kRetryGroupTopicPrefix)) return "RETRY";
  if (topic.starts_with(protocol::kDlqGroupTopicPrefix)) return "DLQ";
  for (const auto& [name, data] : cluster.broker_addr_table) {
    if (protocol::IsSystemTopic(topic, data.cluster, name)) return "SYSTEM";
  }
  for (const auto& [name, brokers] : cluster.cluster_addr_table) {
    if (protocol::IsSystemTopic(topic, name, "")) return "SYSTEM";
  }
  return protocol::IsSystemTopic(topic, "", "") ? "SYSTEM" : "NORMAL";
}

Result<std::vector<std::string>> Api::AllMasters() const {
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  std::vector<std::string> out;
  for (const auto& [name, data] : info.broker_addr_table) {
    if (auto m = data.broker_addrs.find(0); m != data.broker_addrs.end()) out.push_back(m->second);
  }
  return out;
}

Result<client::Producer*> Api::StartedProducer() const {
  MutexLock l(&producer_mu_);
  if (!producer_started_) {
    RJ_RETURN_IF_ERROR(producer_->Start());
    producer_started_ = true;
  }
  return producer_;
}

Result<ApiReply> Api::Topics(const ApiCall&) const {
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  std::map<std::string, Json> topics;
  for (const auto& [name, data] : info.broker_addr_table) {
    auto master = data.broker_addrs.find(0);
    if (master == data.broker_addrs.end()) continue;
    RJ_ASSIGN_OR_RETURN(auto configs, admin_->TopicConfigs(master->second));
    for (const auto& [topic, c] : configs) {
      Json& t = topics[topic];
      if (t.is_null()) {
        t = {{"topic", topic},
             {"type", TopicTypeOf(topic, info)},
             {"readQueueNums", c.read_queue_nums},
             {"writeQueueNums", c.write_queue_nums},
             {"perm", c.perm},
             {"order", c.order},
             {"brokers", Json::array()}};
      }
      t["brokers"].push_back(name);
    }
  }
  Json list = Json::array();
  for (auto& [name, t] : topics) list.push_back(std::move(t));
  return ApiReply(Json{{"topics", list}});
}

Result<ApiReply> Api::TopicStatus(const ApiCall& c) const {
  const std::string& topic = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(topic));
  RJ_ASSIGN_OR_RETURN(auto queues, admin_->TopicStatus(topic));
  Json rows = Json::array();
  for (const auto& q : queues) {
    rows.push_back({{"brokerName", q.queue.broker_name},
                    {"queueId", q.queue.queue_id},
                    {"minOffset", q.min_offset},
                    {"maxOffset", q.max_offset},
                    {"lastUpdate", q.last_update_ms}});
  }
  return ApiReply(Json{{"topic", topic}, {"queues", rows}});
}

Result<ApiReply> Api::TopicRoute(const ApiCall& c) const {
  const std::string& topic = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(topic));
  RJ_ASSIGN_OR_RETURN(auto route, admin_->TopicRoute(topic));
  return ApiReply(Json{{"topic", topic}, {"route", Json::parse(route.ToJson())}});
}

Result<ApiReply> Api::TopicConsumers(const ApiCall& c) const {
  const std::string& topic = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(topic));
  RJ_ASSIGN_OR_RETURN(auto lags, GroupLags(true));
  Json groups = Json::array();
  for (const auto& [group, g] : lags) {
    if (!g.topics.count(topic)) continue;
    Json queues = Json::array();
    int64_t lag = 0;
    for (const auto& q : g.queues) {
      if (q["topic"] != topic) continue;
      lag += q["lag"].get<int64_t>();
      queues.push_back(q);
    }
    groups.push_back({{"group", group}, {"lag", lag}, {"queues", queues}});
  }
  return ApiReply(Json{{"topic", topic}, {"groups", groups}});
}

Result<ApiReply> Api::CreateTopic(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(std::string topic, StringField(c.body, "topic", true));
  RJ_RETURN_IF_ERROR(ValidateTopicName(topic));
  protocol::TopicConfig config;
  config.topic_name = topic;
  RJ_ASSIGN_OR_RETURN(int64_t read, IntField(c.body, "readQueueNums", 8, 1, 1024));
  RJ_ASSIGN_OR_RETURN(int64_t write, IntField(c.body, "writeQueueNums", read, 1, 1024));
  RJ_ASSIGN_OR_RETURN(int64_t perm, IntField(c.body, "perm", 6, 0, 7));
  RJ_ASSIGN_OR_RETURN(config.order, BoolField(c.body, "order", false));
  config.read_queue_nums = static_cast<int32_t>(read);
  config.write_queue_nums = static_cast<int32_t>(write);
  config.perm = static_cast<int32_t>(perm);
  RJ_ASSIGN_OR_RETURN(std::string cluster, StringField(c.body, "cluster", false));
  std::vector<std::string> masters;
  if (cluster.empty()) {
    RJ_ASSIGN_OR_RETURN(masters, AllMasters());
  } else {
    RJ_ASSIGN_OR_RETURN(masters, admin_->MasterAddrs(cluster));
  }
  if (masters.empty()) return Status::NotFound("no master broker to create the topic on");
  for (const auto& addr : masters) RJ_RETURN_IF_ERROR(admin_->UpdateTopic(addr, config));
  return ApiReply(Json{{"topic", topic}, {"brokers", masters}});
}

Result<ApiReply> Api::DeleteTopic(const ApiCall& c) const {
  const std::string& topic = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateTopicName(topic));
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  if (TopicTypeOf(topic, info) == "SYSTEM") {
    return Status::InvalidArgument("the system topic " + topic + " cannot be deleted");
  }
  for (const auto& [cluster, names] : info.cluster_addr_table) {
    RJ_RETURN_IF_ERROR(admin_->DeleteTopic(cluster, topic));
  }
  return ApiReply(Json{{"deleted", topic}});
}

Result<ApiReply> Api::SendMessage(const ApiCall& c) const {
  const std::string& topic = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateTopicName(topic));
  RJ_ASSIGN_OR_RETURN(std::string body, StringField(c.body, "body", true));
  RJ_ASSIGN_OR_RETURN(std::string tags, StringField(c.body, "tags", false));
  RJ_ASSIGN_OR_RETURN(std::string keys, StringField(c.body, "keys", false));
  client::Message m(topic, tags, body);
  if (!keys.empty()) m.keys = SplitList(keys, ' ');
  RJ_ASSIGN_OR_RETURN(client::Producer * producer, StartedProducer());
  RJ_ASSIGN_OR_RETURN(auto r, producer->Send(m));
  return ApiReply(Json{{"msgId", r.msg_id},
                       {"offsetMsgId", r.offset_msg_id},
                       {"brokerName", r.queue.broker_name},
                       {"queueId", r.queue.queue_id},
                       {"queueOffset", r.queue_offset},
                       {"status", std::string(client::SendStatusName(r.status))}});
}

}  // namespace ramjet::dashboard
