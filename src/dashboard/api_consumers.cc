// Consumers and producers pages: groups with their lag per queue, connections, subscription and
// consume settings; create / update / delete; offset resets.
#include "api.h"
#include "json_views.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/system_topics.h"

namespace ramjet::dashboard {

namespace {

Json ConfigJson(const protocol::SubscriptionGroupConfigBody& g) {
  return Json{{"groupName", g.group_name},
              {"consumeEnable", g.consume_enable},
              {"consumeFromMinEnable", g.consume_from_min_enable},
              {"consumeBroadcastEnable", g.consume_broadcast_enable},
              {"consumeMessageOrderly", g.consume_message_orderly},
              {"retryQueueNums", g.retry_queue_nums},
              {"retryMaxTimes", g.retry_max_times},
              {"brokerId", g.broker_id},
              {"whichBrokerWhenConsumeSlowly", g.which_broker_when_consume_slowly},
              {"notifyConsumerIdsChangedEnable", g.notify_consumer_ids_changed_enable}};
}

Json ConnectionJson(const admin::ConsumerConnectionInfo& c) {
  return Json{{"clients", c.connections},
              {"subscriptions", c.subscriptions},
              {"consumeType", c.consume_type},
              {"messageModel", c.message_model},
              {"consumeFromWhere", c.consume_from_where}};
}

}  // namespace

Result<std::map<std::string, GroupLag>> Api::GroupLags(bool with_system) const {
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  std::map<std::string, GroupLag> out;
  for (const auto& [name, data] : info.broker_addr_table) {
    auto master = data.broker_addrs.find(0);
    if (master == data.broker_addrs.end()) continue;
    const std::string& addr = master->second;
    RJ_ASSIGN_OR_RETURN(auto offsets, admin_->ConsumerOffsets(addr));
    // Groups consuming one topic share its queues' max offsets: one GET_MAX_OFFSET per queue.
    std::map<std::pair<std::string, int32_t>, int64_t> max_offsets;
    for (const auto& [key, queues] : offsets) {
      const size_t at = key.find('@');
      if (at == std::string::npos) continue;
      const std::string topic = key.substr(0, at);
      const std::string group = key.substr(at + 1);
      if (!with_system && protocol::IsSystemGroup(group)) continue;
      GroupLag& g = out[group];
      g.topics.insert(topic);
      for (const auto& [queue_id, committed] : queues) {
        auto cached = max_offsets.find({topic, queue_id});
        if (cached == max_offsets.end()) {
          auto max = admin_->MaxOffset(addr, topic, queue_id);
          cached = max_offsets.emplace(std::make_pair(topic, queue_id), max.ok() ? *max : -1).first;
        }
        const int64_t broker_offset = cached->second >= 0 ? cached->second : committed;
        const int64_t lag = std::max<int64_t>(0, broker_offset - committed);
        g.lag += lag;
        g.queues.push_back({{"topic", topic},
                            {"brokerName", name},
                            {"queueId", queue_id},
                            {"brokerOffset", broker_offset},
                            {"consumerOffset", committed},
                            {"lag", lag}});
      }
    }
  }
  return out;
}

Result<ApiReply> Api::Consumers(const ApiCall& c) const {
  const bool all = c.Param("all") == "1";
  RJ_ASSIGN_OR_RETURN(auto lags, GroupLags(all));
  std::map<std::string, protocol::SubscriptionGroupConfigBody> configs;
  RJ_ASSIGN_OR_RETURN(auto masters, AllMasters());
  for (const auto& addr : masters) {
    RJ_ASSIGN_OR_RETURN(auto groups, admin_->SubscriptionGroups(addr));
    configs.insert(groups.begin(), groups.end());
  }
  std::set<std::string> names;
  for (const auto& [g, l] : lags) names.insert(g);
  for (const auto& [g, cfg] : configs) {
    if (all || !protocol::IsSystemGroup(g)) names.insert(g);
  }
  Json groups = Json::array();
  for (const auto& g : names) {
    auto conn = admin_->ConsumerConnection(g);
    Json row = {{"group", g},
                {"online", conn.ok() ? conn->connections.size() : 0},
                {"lag", lags.count(g) ? lags[g].lag : 0},
                {"topics", lags.count(g) ? Json(lags[g].topics) : Json::array()}};
    const protocol::SubscriptionGroupConfigBody cfg =
        configs.count(g) ? configs[g] : protocol::SubscriptionGroupConfigBody{};
    row["retryMaxTimes"] = cfg.retry_max_times;
    row["consumeBroadcastEnable"] = cfg.consume_broadcast_enable;
    row["consumeMessageOrderly"] = cfg.consume_message_orderly;
    row["consumeEnable"] = cfg.consume_enable;
    groups.push_back(std::move(row));
  }
  return ApiReply(Json{{"groups", groups}});
}

Result<ApiReply> Api::Consumer(const ApiCall& c) const {
  const std::string& group = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  Json config = nullptr;
  RJ_ASSIGN_OR_RETURN(auto masters, AllMasters());
  for (const auto& addr : masters) {
    RJ_ASSIGN_OR_RETURN(auto groups, admin_->SubscriptionGroups(addr));
    if (auto it = groups.find(group); it != groups.end()) config = ConfigJson(it->second);
  }
  RJ_ASSIGN_OR_RETURN(auto lags, GroupLags(true));
  auto lag = lags.find(group);
  auto conn = admin_->ConsumerConnection(group);
  if (config.is_null() && lag == lags.end() && !conn.ok()) {
    return Status::NotFound("no consumer group " + group);
  }
  return ApiReply(Json{{"group", group},
                       {"config", config},
                       {"connection", conn.ok() ? ConnectionJson(*conn) : Json(nullptr)},
                       {"progress", lag == lags.end() ? Json::array() : lag->second.queues},
                       {"lag", lag == lags.end() ? 0 : lag->second.lag}});
}

Result<ApiReply> Api::UpdateConsumer(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(std::string group, StringField(c.body, "group", true));
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  RJ_ASSIGN_OR_RETURN(auto masters, AllMasters());
  if (masters.empty()) return Status::NotFound("no master broker");
  for (const auto& addr : masters) {
    // An update changes the fields sent; the others keep what the broker has (RocketMQ's
    // defaults for a new group).
    RJ_ASSIGN_OR_RETURN(auto groups, admin_->SubscriptionGroups(addr));
    protocol::SubscriptionGroupConfigBody g;
    if (auto it = groups.find(group); it != groups.end()) g = it->second;
    g.group_name = group;
    RJ_ASSIGN_OR_RETURN(int64_t retry,
                        IntField(c.body, "retryMaxTimes", g.retry_max_times, -1, 64));
    g.retry_max_times = static_cast<int32_t>(retry);
    RJ_ASSIGN_OR_RETURN(g.consume_broadcast_enable,
                        BoolField(c.body, "consumeBroadcastEnable", g.consume_broadcast_enable));
    RJ_ASSIGN_OR_RETURN(g.consume_message_orderly,
                        BoolField(c.body, "consumeMessageOrderly", g.consume_message_orderly));
    RJ_ASSIGN_OR_RETURN(g.consume_enable, BoolField(c.body, "consumeEnable", g.consume_enable));
    RJ_RETURN_IF_ERROR(admin_->UpdateSubGroup(addr, ConfigJson(g).dump()));
  }
  return ApiReply(Json{{"group", group}});
}

Result<ApiReply> Api::DeleteConsumer(const ApiCall& c) const {
  const std::string& group = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  RJ_ASSIGN_OR_RETURN(auto masters, AllMasters());
  for (const auto& addr : masters) RJ_RETURN_IF_ERROR(admin_->DeleteSubGroup(addr, group, true));
  return ApiReply(Json{{"deleted", group}});
}

Result<ApiReply> Api::ResetOffset(const ApiCall& c) const {
  const std::string& group = c.args[0];
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  RJ_ASSIGN_OR_RETURN(std::string topic, StringField(c.body, "topic", true));
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(topic));
  RJ_ASSIGN_OR_RETURN(int64_t ts, IntField(c.body, "timestamp", -1, -1, INT64_MAX));
  RJ_ASSIGN_OR_RETURN(auto offsets, admin_->ResetOffsetByTime(group, topic, ts, true));
  Json out = Json::object();
  for (const auto& [queue, offset] : offsets) out[std::to_string(queue)] = offset;
  return ApiReply(Json{{"offsets", out}});
}

Result<ApiReply> Api::Producers(const ApiCall& c) const {
  const std::string topic = c.Param("topic");
  const std::string group = c.Param("group");
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  std::vector<std::string> masters;
  if (topic.empty()) {
    RJ_ASSIGN_OR_RETURN(masters, AllMasters());
  } else {
    RJ_RETURN_IF_ERROR(ValidateTopicName(topic));
    RJ_ASSIGN_OR_RETURN(auto route, admin_->TopicRoute(topic));
    for (const auto& b : route.broker_datas) {
      if (auto m = b.broker_addrs.find(0); m != b.broker_addrs.end()) masters.push_back(m->second);
    }
  }
  std::map<std::string, Json> by_client;
  for (const auto& addr : masters) {
    auto conns = admin_->ProducerConnections(addr, group);
    if (!conns.ok()) continue;  // the group has no producer on that broker
    for (const auto& row : *conns) by_client[row.at("clientId")] = row;
  }
  Json list = Json::array();
  for (auto& [id, row] : by_client) list.push_back(std::move(row));
  return ApiReply(Json{{"connections", list}});
}

}  // namespace ramjet::dashboard
