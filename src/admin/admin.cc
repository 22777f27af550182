#include "ramjet/admin/admin.h"

#include <algorithm>

#include "admin_impl.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::admin {

namespace rc = protocol::response_code;
namespace req = protocol::request_code;

std::map<std::string, std::string> Masters(const protocol::TopicRouteData& route) {
  std::map<std::string, std::string> m;
  for (const auto& b : route.broker_datas) {
    auto a = b.broker_addrs.find(0);
    if (a != b.broker_addrs.end()) m[b.broker_name] = a->second;
  }
  return m;
}

Admin::Admin(const std::string& namesrv_addr, int timeout_ms, const acl::Credentials& credentials,
             std::shared_ptr<remoting::TlsContext> tls)
    : impl_(std::make_unique<Impl>(namesrv_addr, timeout_ms, credentials, std::move(tls))) {}
Admin::~Admin() = default;

Result<protocol::ClusterInfo> Admin::ClusterInfo() {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->CallNamesrv(req::kGetBrokerClusterInfo, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_BROKER_CLUSTER_INFO"));
  return protocol::ClusterInfo::Parse(r.body);
}

Result<std::vector<std::string>> Admin::TopicList() {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->CallNamesrv(req::kGetAllTopicListFromNameserver, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_ALL_TOPIC_LIST_FROM_NAMESERVER"));
  RJ_ASSIGN_OR_RETURN(auto list, protocol::TopicList::Parse(r.body));
  return std::vector<std::string>(list.topic_list.begin(), list.topic_list.end());
}

Result<protocol::TopicRouteData> Admin::TopicRoute(const std::string& topic) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->CallNamesrv(req::kGetRouteinfoByTopic, {{"topic", topic}}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_ROUTEINFO_BY_TOPIC"));
  return protocol::TopicRouteData::Parse(r.body);
}

Status Admin::PutKvConfig(const std::string& ns, const std::string& key, const std::string& value) {
  for (const auto& n : impl_->namesrvs_) {
    RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(n, req::kPutKvConfig,
                                            {{"namespace", ns}, {"key", key}, {"value", value}}));
    RJ_RETURN_IF_ERROR(Impl::Expect(r, "PUT_KV_CONFIG to " + n));
  }
  return Status::OK();
}

Result<std::map<std::string, int64_t>> Admin::SetBrokerWritePerm(const std::string& broker_name,
                                                                 bool wipe) {
  std::map<std::string, int64_t> out;
  for (const auto& n : impl_->namesrvs_) {
    RJ_ASSIGN_OR_RETURN(
        auto r, impl_->Call(n, wipe ? req::kWipeWritePermOfBroker : req::kAddWritePermOfBroker,
                            {{"brokerName", broker_name}}));
    RJ_RETURN_IF_ERROR(Impl::Expect(
        r, (wipe ? "WIPE_WRITE_PERM_OF_BROKER to " : "ADD_WRITE_PERM_OF_BROKER to ") + n));
    out[n] = r.GetInt64Or(wipe ? "wipeTopicCount" : "addTopicCount", 0);
  }
  return out;
}

Status Admin::ElectMaster(const std::string& broker_name, int64_t broker_id) {
  RJ_ASSIGN_OR_RETURN(auto info, ClusterInfo());
  auto group = info.broker_addr_table.find(broker_name);
  if (group == info.broker_addr_table.end())
    return Status::NotFound("no broker group " + broker_name);
  Status last = Status::Unavailable("no member of " + broker_name + " answered");
  for (const auto& [id, addr] : group->second.broker_addrs) {
    auto r = impl_->Call(addr, req::kControllerElectMaster,
                         {{"clusterName", group->second.cluster},
                          {"brokerName", broker_name},
                          {"brokerId", std::to_string(broker_id)}});
    if (!r.ok()) {
      last = r.status();
      continue;
    }
    return Impl::Expect(*r, "CONTROLLER_ELECT_MASTER to " + addr);
  }
  return last;
}

Status Admin::DeleteKvConfig(const std::string& ns, const std::string& key) {
  for (const auto& n : impl_->namesrvs_) {
    RJ_ASSIGN_OR_RETURN(auto r,
                        impl_->Call(n, req::kDeleteKvConfig, {{"namespace", ns}, {"key", key}}));
    RJ_RETURN_IF_ERROR(Impl::Expect(r, "DELETE_KV_CONFIG to " + n));
  }
  return Status::OK();
}

Result<std::map<std::string, std::string>> Admin::NamesrvConfig() {
  std::map<std::string, std::string> out;
  for (const auto& n : impl_->namesrvs_) {
    RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(n, req::kGetNamesrvConfig, {}));
    RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_NAMESRV_CONFIG from " + n));
    out[n] = r.body;
  }
  return out;
}

Result<std::vector<std::string>> Admin::MasterAddrs(const std::string& cluster) {
  RJ_ASSIGN_OR_RETURN(auto info, ClusterInfo());
  auto c = info.cluster_addr_table.find(cluster);
  if (c == info.cluster_addr_table.end()) {
    return Status::NotFound("cluster " + cluster + " is not known to the name server");
  }
  std::vector<std::string> out;
  for (const auto& name : c->second) {
    auto b = info.broker_addr_table.find(name);
    if (b == info.broker_addr_table.end()) continue;
    auto m = b->second.broker_addrs.find(0);
    if (m != b->second.broker_addrs.end()) out.push_back(m->second);
  }
  return out;
}

Status Admin::UpdateTopic(const std::string& addr, const protocol::TopicConfig& t) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kUpdateAndCreateTopic,
                                          {{"topic", t.topic_name},
                                           {"defaultTopic", "TBW102"},
                                           {"readQueueNums", std::to_string(t.read_queue_nums)},
                                           {"writeQueueNums", std::to_string(t.write_queue_nums)},
                                           {"perm", std::to_string(t.perm)},
                                           {"topicFilterType", t.topic_filter_type},
                                           {"topicSysFlag", std::to_string(t.topic_sys_flag)},
                                           {"order", t.order ? "true" : "false"}}));
  return Impl::Expect(r, "UPDATE_AND_CREATE_TOPIC on " + addr);
}

Status Admin::DeleteTopic(const std::string& cluster, const std::string& topic) {
  RJ_ASSIGN_OR_RETURN(auto masters, MasterAddrs(cluster));
  for (const auto& a : masters) {
    RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(a, req::kDeleteTopicInBroker, {{"topic", topic}}));
    RJ_RETURN_IF_ERROR(Impl::Expect(r, "DELETE_TOPIC_IN_BROKER on " + a));
  }
  for (const auto& n : impl_->namesrvs_) {
    RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(n, req::kDeleteTopicInNamesrv,
                                            {{"topic", topic}, {"clusterName", cluster}}));
    RJ_RETURN_IF_ERROR(Impl::Expect(r, "DELETE_TOPIC_IN_NAMESRV on " + n));
  }
  return Status::OK();
}

namespace {

// The "connectionSet" of a ProducerConnection or ConsumerConnection body: the fields of each
// client as text, named as in the body (clientAddr, clientId, language, version).
std::vector<std::map<std::string, std::string>> ConnectionRows(
    const std::vector<protocol::ConnectionInfo>& set) {
  std::vector<std::map<std::string, std::string>> out;
  out.reserve(set.size());
  for (const auto& c : set) {
    out.push_back({{"clientAddr", c.client_addr},
                   {"clientId", c.client_id},
                   {"language", std::string(protocol::LanguageName(c.language))},
                   {"version", std::to_string(c.version)}});
  }
  return out;
}
}  // namespace

Result<std::vector<QueueStatus>> Admin::TopicStatus(const std::string& topic) {
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(topic));
  auto masters = Masters(route);
  std::vector<QueueStatus> out;
  for (const auto& q : route.queue_datas) {
    auto addr = masters.find(q.broker_name);
    if (addr == masters.end()) continue;
    for (int i = 0; i < q.read_queue_nums; ++i) {
      QueueStatus s;
      s.queue = {topic, q.broker_name, i};
      auto qi = std::to_string(i);
      RJ_ASSIGN_OR_RETURN(auto mn, impl_->Call(addr->second, req::kGetMinOffset,
                                               {{"topic", topic}, {"queueId", qi}}));
      RJ_ASSIGN_OR_RETURN(auto mx, impl_->Call(addr->second, req::kGetMaxOffset,
                                               {{"topic", topic}, {"queueId", qi}}));
      RJ_RETURN_IF_ERROR(Impl::Expect(mn, "GET_MIN_OFFSET on " + addr->second));
      RJ_RETURN_IF_ERROR(Impl::Expect(mx, "GET_MAX_OFFSET on " + addr->second));
      s.min_offset = mn.GetInt64Or("offset", 0);
      s.max_offset = mx.GetInt64Or("offset", 0);
      if (s.max_offset > s.min_offset) {
        auto last = MessageAtOffset(s.queue, s.max_offset - 1);
        if (last.ok()) s.last_update_ms = last->store_timestamp;
      }
      out.push_back(s);
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> Admin::BrokerRuntimeInfo(const std::string& addr) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kGetBrokerRuntimeInfo, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_BROKER_RUNTIME_INFO on " + addr));
  RJ_ASSIGN_OR_RETURN(auto t, protocol::KVTable::Parse(r.body));
  return t.table;
}

Result<std::string> Admin::BrokerConfig(const std::string& addr) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kGetBrokerConfig, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_BROKER_CONFIG on " + addr));
  return r.body;
}

Result<std::string> Admin::UpdateBrokerConfig(const std::string& addr, const std::string& key,
                                              const std::string& value) {
  if (key.empty()) return Status::InvalidArgument("a key is needed (-k)");
  RJ_ASSIGN_OR_RETURN(auto r,
                      impl_->Call(addr, req::kUpdateBrokerConfig, {}, key + "=" + value + "\n"));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "UPDATE_BROKER_CONFIG on " + addr));
  return r.remark.value_or("");
}

Result<std::vector<ConsumerProgressRow>> Admin::ConsumerProgress(const std::string& group,
                                                                 const std::string& topic) {
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(topic));
  auto masters = Masters(route);
  std::vector<ConsumerProgressRow> out;
  for (const auto& q : route.queue_datas) {
    auto addr = masters.find(q.broker_name);
    if (addr == masters.end()) continue;
    for (int i = 0; i < q.read_queue_nums; ++i) {
      ConsumerProgressRow row;
      row.queue = {topic, q.broker_name, i};
      auto qi = std::to_string(i);
      RJ_ASSIGN_OR_RETURN(auto mx, impl_->Call(addr->second, req::kGetMaxOffset,
                                               {{"topic", topic}, {"queueId", qi}}));
      RJ_RETURN_IF_ERROR(Impl::Expect(mx, "GET_MAX_OFFSET on " + addr->second));
      row.broker_offset = mx.GetInt64Or("offset", 0);
      RJ_ASSIGN_OR_RETURN(auto co, impl_->Call(addr->second, req::kQueryConsumerOffset,
                                               {{"consumerGroup", group},
                                                {"topic", topic},
                                                {"queueId", qi},
                                                {"setZeroIfNotFound", "false"}}));
      if (co.code != rc::kQueryNotFound) {  // not found: the group never committed here
        RJ_RETURN_IF_ERROR(Impl::Expect(co, "QUERY_CONSUMER_OFFSET on " + addr->second));
      }
      row.consumer_offset = co.code == rc::kSuccess ? co.GetInt64Or("offset", -1) : -1;
      out.push_back(row);
    }
  }
  return out;
}

Result<ConsumerConnectionInfo> Admin::ConsumerConnection(const std::string& group) {
  if (group.empty()) return Status::InvalidArgument("a consumer group is needed (-g)");
  auto route = TopicRoute("%RETRY%" + group);
  if (!route.ok()) {
    return Status::NotFound("the consumer group[" + group + "] not online (no route for %RETRY%" +
                            group + ")");
  }
  Status last = Status::NotFound("the consumer group[" + group + "] not online");
  for (const auto& [name, addr] : Masters(*route)) {
    auto r = impl_->Call(addr, req::kGetConsumerConnectionList, {{"consumerGroup", group}});
    if (!r.ok()) {
      last = r.status();
      continue;
    }
    if (r->code != rc::kSuccess) {
      last =
          Status::NotFound("CODE " + std::to_string(r->code) + " DESC: " + r->remark.value_or(""));
      continue;
    }
    auto body = protocol::ConsumerConnectionBody::Decode(r->body);
    if (!body.ok()) {
      return Status::Corruption("bad consumer connection body from " + addr + ": " +
                                std::string(body.status().message()));
    }
    ConsumerConnectionInfo info;
    info.connections = ConnectionRows(body->connection_set);
    for (const auto& [topic, sd] : body->subscription_table) {
      info.subscriptions[topic] = sd.sub_string;
    }
    info.consume_type = protocol::ConsumeTypeName(body->consume_type);
    info.message_model = protocol::MessageModelName(body->message_model);
    info.consume_from_where = protocol::ConsumeFromWhereName(body->consume_from_where);
    return info;
  }
  return last;
}

Result<std::vector<std::map<std::string, std::string>>> Admin::ProducerConnections(
    const std::string& addr, const std::string& group) {
  RJ_ASSIGN_OR_RETURN(
      auto r, impl_->Call(addr, req::kGetProducerConnectionList, {{"producerGroup", group}}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_PRODUCER_CONNECTION_LIST"));
  auto body = protocol::ProducerConnectionBody::Decode(r.body);
  if (!body.ok()) {
    return Status::Corruption("bad producer connection body: " +
                              std::string(body.status().message()));
  }
  return ConnectionRows(body->connection_set);
}

Status Admin::UpdateSubGroup(const std::string& addr, const std::string& config_json) {
  RJ_ASSIGN_OR_RETURN(auto r,
                      impl_->Call(addr, req::kUpdateAndCreateSubscriptionGroup, {}, config_json));
  return Impl::Expect(r, "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on " + addr);
}

Status Admin::DeleteSubGroup(const std::string& addr, const std::string& group,
                             bool remove_offset) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kDeleteSubscriptionGroup,
                                          {{"groupName", group},
                                           {"removeOffset", remove_offset ? "true" : "false"}}));
  return Impl::Expect(r, "DELETE_SUBSCRIPTIONGROUP on " + addr);
}

Result<client::MessageExt> Admin::ViewMessageByOffsetId(const std::string& id) {
  RJ_ASSIGN_OR_RETURN(auto decoded, message::DecodeOffsetMessageId(id));
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(decoded.first.ToString(), req::kViewMessageById,
                                          {{"offset", std::to_string(decoded.second)}}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "VIEW_MESSAGE_BY_ID"));
  RJ_ASSIGN_OR_RETURN(auto msgs, client::DecodeMessages(r.body));
  if (msgs.empty()) return Status::NotFound("no message with id " + id);
  return msgs[0];
}

Result<std::vector<protocol::TraceRecord>> Admin::QueryMsgTrace(const std::string& msg_id,
                                                                const std::string& trace_topic) {
  RJ_ASSIGN_OR_RETURN(auto messages, QueryByKey(trace_topic, msg_id, false, 64));
  std::vector<protocol::TraceRecord> records;
  for (const auto& m : messages) {
    for (auto& t : protocol::DecodeTraceData(m.body)) {
      if (t.msg_id == msg_id) records.push_back(std::move(t));
    }
  }
  std::map<std::string, int64_t> before;  // request id -> SubBefore time
  for (const auto& t : records) {
    if (t.type == "SubBefore") before[t.request_id] = t.timestamp;
  }
  auto order = [&](const protocol::TraceRecord& t) {
    return t.timestamp > 0 ? t.timestamp : before[t.request_id];
  };
  std::stable_sort(records.begin(), records.end(),
                   [&](const auto& x, const auto& y) { return order(x) < order(y); });
  return records;
}

Result<std::vector<client::MessageExt>> Admin::QueryByKey(const std::string& topic,
                                                          const std::string& key, bool unique,
                                                          int max_num) {
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(topic));
  std::vector<client::MessageExt> out;
  for (const auto& [name, addr] : Masters(route)) {
    std::vector<std::pair<std::string, std::string>> f = {
        {"topic", topic},
        {"key", key},
        {"maxNum", std::to_string(max_num)},
        {"beginTimestamp", "0"},
        {"endTimestamp", std::to_string(NowMillis() + 1000)}};
    if (unique) f.emplace_back("_UNIQUE_KEY_QUERY", "true");
    RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kQueryMessage, f));
    if (r.code != rc::kSuccess) continue;
    RJ_ASSIGN_OR_RETURN(auto msgs, client::DecodeMessages(r.body));
    for (auto& m : msgs) {
      // The index matches hashes: keep real matches only.
      bool match = unique ? m.Property("UNIQ_KEY") == key : false;
      if (!unique) {
        for (const auto& k : SplitList(m.keys(), ' ')) match |= (k == key);
      }
      if (match) out.push_back(std::move(m));
    }
  }
  if (out.empty()) return Status::NotFound("no message found for key " + key);
  return out;
}

Result<std::map<int32_t, int64_t>> Admin::ResetOffsetByTime(const std::string& group,
                                                            const std::string& topic,
                                                            int64_t timestamp_ms, bool force) {
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(topic));
  std::map<int32_t, int64_t> out;
  for (const auto& [name, addr] : Masters(route)) {
    RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kInvokeBrokerToResetOffset,
                                            {{"topic", topic},
                                             {"group", group},
                                             {"timestamp", std::to_string(timestamp_ms)},
                                             {"isForce", force ? "true" : "false"}}));
    RJ_RETURN_IF_ERROR(Impl::Expect(r, "INVOKE_BROKER_TO_RESET_OFFSET on " + addr));
    // A broker that answers in fastjson's form (object keys) reports no offsets here.
    auto body = protocol::ResetOffsetBody::Decode(r.body);
    if (!body.ok()) continue;
    for (const auto& [mq, offset] : body->offset_table) out[mq.queue_id] = offset;
  }
  return out;
}

}  // namespace ramjet::admin
