#include "ramjet/namesrv/namesrv.h"

#include <nlohmann/json.hpp>

#include "ramjet/base/clock.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::namesrv {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

void NamesrvConfig::Bind(ConfigBinder* b) {
  b->Bind("listenPort", &listen_port, "TCP port of the name server");
  b->Bind("listenAddress", &listen_address, "address to bind (0.0.0.0 = all)");
  b->Bind("kvConfigPath", &kv_config_path, "file persisting the KV config namespaces");
  b->Bind("brokerChannelExpiredMillis", &broker_channel_expired_millis,
          "a broker not re-registered for this long is removed from the routes");
  b->Bind("scanNotActiveBrokerInterval", &scan_not_active_broker_interval,
          "period of the broker liveness scan (ms)");
  b->Bind("orderMessageEnable", &order_message_enable,
          "serve orderTopicConf from KV namespace ORDER_TOPIC_CONFIG in routes");
  b->Bind("defaultThreadPoolNums", &default_thread_pool_nums, "request processing threads");
  b->Bind("serverWorkerThreads", &server_worker_threads, "network I/O threads");
  b->Bind("maxFrameBytes", &max_frame_bytes,
          "largest accepted frame; a longer length field closes the connection");
  limits.Bind(b);
  b->Ignore("rocketmqHome", "no ROCKETMQ_HOME layout is needed");
  b->Ignore("clusterTest", "test-cluster routing is not supported");
}

// ---------------------------------------------------------------------------------------------
// RouteInfoManager

RouteInfoManager::RegisterResult RouteInfoManager::RegisterBroker(
    const std::string& cluster, const std::string& broker_addr, const std::string& broker_name,
    int64_t broker_id, const std::string& ha_server_addr,
    const protocol::TopicConfigSerializeWrapper& topics, uint64_t connection_id, int64_t now_ms) {
  std::unique_lock l(mu_);
  cluster_addr_table_[cluster].insert(broker_name);
  auto& bd = broker_addr_table_[broker_name];
  bool first = bd.broker_addrs.empty();
  bd.cluster = cluster;
  bd.broker_name = broker_name;
  // One address has one id: a slave promoted to master changes its id.
  for (auto it = bd.broker_addrs.begin(); it != bd.broker_addrs.end();) {
    if (it->second == broker_addr && it->first != broker_id) {
      it = bd.broker_addrs.erase(it);
    } else {
      ++it;
    }
  }
  first = bd.broker_addrs.count(broker_id) == 0 || first;
  bd.broker_addrs[broker_id] = broker_addr;

  auto live = broker_live_table_.find(broker_addr);
  bool changed = live == broker_live_table_.end() ||
                 !(live->second.data_version == topics.data_version);
  if (broker_id == 0 && (changed || first)) {
    // Rebuild this broker's queue data from its topic table.
    for (auto& [topic, by_broker] : topic_queue_table_) by_broker.erase(broker_name);
    for (const auto& [name, tc] : topics.topic_config_table) {
      protocol::QueueData q;
      q.broker_name = broker_name;
      q.read_queue_nums = tc.read_queue_nums;
      q.write_queue_nums = tc.write_queue_nums;
      q.perm = tc.perm;
      q.topic_sys_flag = tc.topic_sys_flag;
      topic_queue_table_[name][broker_name] = q;
    }
    for (auto it = topic_queue_table_.begin(); it != topic_queue_table_.end();) {
      if (it->second.empty()) {
        it = topic_queue_table_.erase(it);
      } else {
        ++it;
      }
    }
  }
  auto& info = broker_live_table_[broker_addr];
  if (live == broker_live_table_.end()) {
    RJ_LOG(kInfo, "namesrv", "new broker registered: %s %s id=%lld cluster=%s",
           broker_name.c_str(), broker_addr.c_str(), static_cast<long long>(broker_id),
           cluster.c_str());
  }
  info.last_update_ms = now_ms;
  info.data_version = topics.data_version;
  info.connection_id = connection_id;
  info.ha_server_addr = ha_server_addr;

  RegisterResult result;
  if (broker_id != 0) {
    auto m = bd.broker_addrs.find(0);
    if (m != bd.broker_addrs.end()) {
      auto ml = broker_live_table_.find(m->second);
      if (ml != broker_live_table_.end()) {
        result.ha_server_addr = ml->second.ha_server_addr;
        result.master_addr = m->second;
      }
    }
  }
  return result;
}

void RouteInfoManager::RemoveBrokerLocked(const std::string& broker_addr) {
  broker_live_table_.erase(broker_addr);
  for (auto bit = broker_addr_table_.begin(); bit != broker_addr_table_.end();) {
    auto& addrs = bit->second.broker_addrs;
    bool removed_master = false;
    for (auto it = addrs.begin(); it != addrs.end();) {
      if (it->second == broker_addr) {
        removed_master |= it->first == 0;
        it = addrs.erase(it);
      } else {
        ++it;
      }
    }
    if (addrs.empty()) {
      std::string name = bit->first;
      for (auto& [cluster, names] : cluster_addr_table_) names.erase(name);
      for (auto& [topic, by_broker] : topic_queue_table_) by_broker.erase(name);
      bit = broker_addr_table_.erase(bit);
    } else {
      ++bit;
    }
  }
  for (auto it = cluster_addr_table_.begin(); it != cluster_addr_table_.end();) {
    it = it->second.empty() ? cluster_addr_table_.erase(it) : std::next(it);
  }
  for (auto it = topic_queue_table_.begin(); it != topic_queue_table_.end();) {
    it = it->second.empty() ? topic_queue_table_.erase(it) : std::next(it);
  }
}

void RouteInfoManager::UnregisterBroker(const std::string& cluster, const std::string& broker_addr,
                                        const std::string& broker_name, int64_t broker_id) {
  std::unique_lock l(mu_);
  (void)cluster;
  (void)broker_name;
  (void)broker_id;
  RJ_LOG(kInfo, "namesrv", "broker unregistered: %s %s", broker_name.c_str(), broker_addr.c_str());
  RemoveBrokerLocked(broker_addr);
}

int RouteInfoManager::ScanNotActiveBrokers(int64_t now_ms, int64_t expire_ms) {
  std::unique_lock l(mu_);
  std::vector<std::string> dead;
  for (const auto& [addr, info] : broker_live_table_) {
    if (now_ms - info.last_update_ms > expire_ms) dead.push_back(addr);
  }
  for (const auto& a : dead) {
    RJ_LOG(kWarn, "namesrv", "broker %s expired: no registration for %lld ms", a.c_str(),
           static_cast<long long>(expire_ms));
    RemoveBrokerLocked(a);
  }
  return static_cast<int>(dead.size());
}

void RouteInfoManager::OnConnectionClosed(uint64_t connection_id) {
  std::unique_lock l(mu_);
  std::vector<std::string> gone;
  for (const auto& [addr, info] : broker_live_table_) {
    if (info.connection_id == connection_id) gone.push_back(addr);
  }
  for (const auto& a : gone) {
    RJ_LOG(kInfo, "namesrv", "broker %s removed: its connection closed", a.c_str());
    RemoveBrokerLocked(a);
  }
}

bool RouteInfoManager::IsBrokerTopicConfigChanged(const std::string& broker_addr,
                                                  const protocol::DataVersion& version) const {
  std::shared_lock l(mu_);
  auto it = broker_live_table_.find(broker_addr);
  return it == broker_live_table_.end() || !(it->second.data_version == version);
}

std::optional<protocol::DataVersion> RouteInfoManager::QueryBrokerDataVersion(
    const std::string& addr) const {
  std::shared_lock l(mu_);
  auto it = broker_live_table_.find(addr);
  if (it == broker_live_table_.end()) return std::nullopt;
  return it->second.data_version;
}

std::optional<protocol::TopicRouteData> RouteInfoManager::PickupTopicRouteData(
    const std::string& topic) const {
  std::shared_lock l(mu_);
  auto it = topic_queue_table_.find(topic);
  if (it == topic_queue_table_.end()) return std::nullopt;
  protocol::TopicRouteData route;
  for (const auto& [name, q] : it->second) {
    route.queue_datas.push_back(q);
    auto b = broker_addr_table_.find(name);
    if (b != broker_addr_table_.end()) route.broker_datas.push_back(b->second);
  }
  if (route.broker_datas.empty()) return std::nullopt;
  return route;
}

protocol::ClusterInfo RouteInfoManager::GetClusterInfo() const {
  std::shared_lock l(mu_);
  protocol::ClusterInfo c;
  c.broker_addr_table = broker_addr_table_;
  c.cluster_addr_table = cluster_addr_table_;
  return c;
}

protocol::TopicList RouteInfoManager::GetAllTopicList() const {
  std::shared_lock l(mu_);
  protocol::TopicList t;
  for (const auto& [topic, q] : topic_queue_table_) t.topic_list.insert(topic);
  return t;
}

protocol::TopicList RouteInfoManager::GetTopicsByCluster(const std::string& cluster) const {
  std::shared_lock l(mu_);
  protocol::TopicList t;
  auto c = cluster_addr_table_.find(cluster);
  if (c == cluster_addr_table_.end()) return t;
  for (const auto& [topic, by_broker] : topic_queue_table_) {
    for (const auto& [name, q] : by_broker) {
      if (c->second.count(name)) t.topic_list.insert(topic);
    }
  }
  return t;
}

void RouteInfoManager::DeleteTopic(const std::string& topic, const std::string& cluster) {
  std::unique_lock l(mu_);
  if (cluster.empty()) {
    topic_queue_table_.erase(topic);
    return;
  }
  auto it = topic_queue_table_.find(topic);
  auto c = cluster_addr_table_.find(cluster);
  if (it == topic_queue_table_.end() || c == cluster_addr_table_.end()) return;
  for (const auto& name : c->second) it->second.erase(name);
  if (it->second.empty()) topic_queue_table_.erase(it);
}

// ---------------------------------------------------------------------------------------------
// KV config

namespace {

class KvConfig {
 public:
  explicit KvConfig(std::string path) : path_(std::move(path)) {}
  Status Load() {
    auto text = ReadFileToString(path_);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) return Status::OK();
      return text.status();
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::Corruption(path_ + " is not a JSON object");
    }
    auto t = j.find("configTable");
    if (t == j.end() || !t->is_object()) return Status::OK();
    for (auto& [ns, kv] : t->items()) {
      if (!kv.is_object()) continue;
      for (auto& [k, v] : kv.items()) {
        if (v.is_string()) table_[ns][k] = v.get<std::string>();
      }
    }
    return Status::OK();
  }
  Status Put(const std::string& ns, const std::string& k, const std::string& v) {
    std::lock_guard<std::mutex> l(mu_);
    table_[ns][k] = v;
    return PersistLocked();
  }
  Status Delete(const std::string& ns, const std::string& k) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = table_.find(ns);
    if (it == table_.end()) return Status::OK();
    it->second.erase(k);
    if (it->second.empty()) table_.erase(it);
    return PersistLocked();
  }
  std::optional<std::string> Get(const std::string& ns, const std::string& k) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = table_.find(ns);
    if (it == table_.end()) return std::nullopt;
    auto v = it->second.find(k);
    if (v == it->second.end()) return std::nullopt;
    return v->second;
  }
  std::optional<std::map<std::string, std::string>> List(const std::string& ns) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = table_.find(ns);
    if (it == table_.end()) return std::nullopt;
    return it->second;
  }

 private:
  Status PersistLocked() {
    nlohmann::json j{{"configTable", table_}};
    return WriteFileAtomic(path_, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  std::string path_;
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> table_;
};

class Controller : public NamesrvController {
 public:
  explicit Controller(NamesrvConfig config)
      : config_(std::move(config)), kv_(config_.kv_config_path), scheduler_("namesrv-sched") {}
  ~Controller() override { Shutdown(); }

  Status Start() {
    RJ_RETURN_IF_ERROR(config_.limits.Check());
    RJ_RETURN_IF_ERROR(kv_.Load());
    remoting::EndpointOptions o;
    config_.limits.ApplyTo(&o);
    o.name = "namesrv";
    o.io_threads = std::max(1, config_.server_worker_threads);
    o.max_frame_bytes = static_cast<size_t>(config_.max_frame_bytes);
    o.version = protocol::kVersionV4_9_8;
    server_ = std::make_unique<remoting::RemotingServer>(o);
    pool_ = std::make_unique<remoting::ThreadPool>(
        "namesrv-proc", std::max(1, config_.default_thread_pool_nums), 10000);
    Register();
    server_->AddCloseListener(
        [this](const remoting::ConnectionPtr& c) { routes_.OnConnectionClosed(c->id()); });
    RJ_RETURN_IF_ERROR(server_->Start({{config_.listen_address, config_.listen_port}}));
    scheduler_.RunEvery(std::min<int64_t>(5000, config_.scan_not_active_broker_interval),
                        config_.scan_not_active_broker_interval, [this] {
                          routes_.ScanNotActiveBrokers(NowMillis(),
                                                       config_.broker_channel_expired_millis);
                        });
    started_ = true;
    return Status::OK();
  }

  void Shutdown() override {
    if (!started_) return;
    started_ = false;
    scheduler_.Stop();
    server_->Shutdown();
    pool_->Shutdown();
  }
  int port() const override { return server_->port(); }
  RouteInfoManager& routes() override { return routes_; }

 private:
  void On(int32_t code, void (Controller::*fn)(const RequestContextPtr&)) {
    server_->RegisterProcessor(
        code, [this, fn](const RequestContextPtr& ctx) { (this->*fn)(ctx); }, pool_.get());
  }

  void Register() {
    On(req::kRegisterBroker, &Controller::RegisterBroker);
    On(req::kUnregisterBroker, &Controller::UnregisterBroker);
    On(req::kGetRouteinfoByTopic, &Controller::GetRoute);
    On(req::kGetBrokerClusterInfo, &Controller::GetClusterInfo);
    On(req::kGetAllTopicListFromNameserver, &Controller::GetAllTopics);
    On(req::kGetTopicsByCluster, &Controller::GetTopicsByCluster);
    On(req::kDeleteTopicInNamesrv, &Controller::DeleteTopic);
    On(req::kPutKvConfig, &Controller::PutKv);
    On(req::kGetKvConfig, &Controller::GetKv);
    On(req::kDeleteKvConfig, &Controller::DeleteKv);
    On(req::kGetKvlistByNamespace, &Controller::GetKvList);
    On(req::kQueryDataVersion, &Controller::QueryDataVersion);
    On(req::kGetNamesrvConfig, &Controller::GetConfig);
  }

  static void Fail(const RequestContextPtr& ctx, const Status& s) {
    ctx->RespondCode(rc::kSystemError, std::string(s.message()));
  }

  void RegisterBroker(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto name = r.GetString("brokerName");
    auto addr = r.GetString("brokerAddr");
    auto cluster = r.GetString("clusterName");
    auto id = r.GetInt64("brokerId");
    for (const Status* s : {&name.status(), &addr.status(), &cluster.status(), &id.status()}) {
      if (!s->ok()) return Fail(ctx, *s);
    }
    int64_t crc = r.GetInt64Or("bodyCrc32", 0);
    if (crc != 0 && static_cast<int64_t>(Crc32(r.body) & 0x7FFFFFFF) != crc) {
      return ctx->RespondCode(rc::kSystemError, "crc32 not match");
    }
    protocol::TopicConfigSerializeWrapper topics;
    if (!r.body.empty()) {
      auto body = protocol::RegisterBrokerBody::Parse(r.body, r.GetBool("compressed"));
      if (!body.ok()) {
        return ctx->RespondCode(rc::kSystemError, "bad register body: " +
                                                      std::string(body.status().message()));
      }
      topics = std::move(body->topic_config_wrapper);
    }
    auto res = routes_.RegisterBroker(*cluster, *addr, *name, *id,
                                      std::string(r.Find("haServerAddr").value_or("")), topics,
                                      ctx->connection()->id(), NowMillis());
    RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
    if (!res.master_addr.empty()) {
      resp.Set("masterAddr", res.master_addr);
      resp.Set("haServerAddr", res.ha_server_addr);
    }
    if (auto order = kv_.List("ORDER_TOPIC_CONFIG")) {
      protocol::KVTable t;
      t.table = *order;
      resp.body = t.ToJson();
    }
    ctx->Respond(std::move(resp));
  }

  void UnregisterBroker(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto addr = r.GetString("brokerAddr");
    if (!addr.ok()) return Fail(ctx, addr.status());
    routes_.UnregisterBroker(std::string(r.Find("clusterName").value_or("")), *addr,
                             std::string(r.Find("brokerName").value_or("")),
                             r.GetInt64Or("brokerId", 0));
    ctx->RespondCode(rc::kSuccess);
  }

  void GetRoute(const RequestContextPtr& ctx) {
    auto topic = ctx->request().GetString("topic");
    if (!topic.ok()) return Fail(ctx, topic.status());
    auto route = routes_.PickupTopicRouteData(*topic);
    if (!route) {
      return ctx->RespondCode(rc::kTopicNotExist,
                              "No topic route info in name server for the topic: " + *topic);
    }
    if (config_.order_message_enable) {
      if (auto conf = kv_.Get("ORDER_TOPIC_CONFIG", *topic)) route->order_topic_conf = *conf;
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = route->ToJson();
    ctx->Respond(std::move(resp));
  }

  void GetClusterInfo(const RequestContextPtr& ctx) {
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = routes_.GetClusterInfo().ToJson();
    ctx->Respond(std::move(resp));
  }

  void GetAllTopics(const RequestContextPtr& ctx) {
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = routes_.GetAllTopicList().ToJson();
    ctx->Respond(std::move(resp));
  }

  void GetTopicsByCluster(const RequestContextPtr& ctx) {
    auto cluster = ctx->request().GetString("cluster");
    if (!cluster.ok()) return Fail(ctx, cluster.status());
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = routes_.GetTopicsByCluster(*cluster).ToJson();
    ctx->Respond(std::move(resp));
  }

  void DeleteTopic(const RequestContextPtr& ctx) {
    auto topic = ctx->request().GetString("topic");
    if (!topic.ok()) return Fail(ctx, topic.status());
    routes_.DeleteTopic(*topic, std::string(ctx->request().Find("clusterName").value_or("")));
    ctx->RespondCode(rc::kSuccess);
  }

  void PutKv(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto ns = r.GetString("namespace");
    auto key = r.GetString("key");
    auto value = r.GetString("value");
    for (const Status* s : {&ns.status(), &key.status(), &value.status()}) {
      if (!s->ok()) return Fail(ctx, *s);
    }
    Status s = kv_.Put(*ns, *key, *value);
    if (!s.ok()) return Fail(ctx, s);
    ctx->RespondCode(rc::kSuccess);
  }

  void GetKv(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto ns = r.GetString("namespace");
    auto key = r.GetString("key");
    if (!ns.ok()) return Fail(ctx, ns.status());
    if (!key.ok()) return Fail(ctx, key.status());
    auto v = kv_.Get(*ns, *key);
    if (!v) {
      return ctx->RespondCode(rc::kQueryNotFound, "No config item, Namespace: " + *ns +
                                                      " Key: " + *key);
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
    resp.Set("value", *v);
    ctx->Respond(std::move(resp));
  }

  void DeleteKv(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto ns = r.GetString("namespace");
    auto key = r.GetString("key");
    if (!ns.ok()) return Fail(ctx, ns.status());
    if (!key.ok()) return Fail(ctx, key.status());
    Status s = kv_.Delete(*ns, *key);
    if (!s.ok()) return Fail(ctx, s);
    ctx->RespondCode(rc::kSuccess);
  }

  void GetKvList(const RequestContextPtr& ctx) {
    auto ns = ctx->request().GetString("namespace");
    if (!ns.ok()) return Fail(ctx, ns.status());
    auto list = kv_.List(*ns);
    if (!list) {
      return ctx->RespondCode(rc::kQueryNotFound, "No config item, Namespace: " + *ns);
    }
    protocol::KVTable t;
    t.table = *list;
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = t.ToJson();
    ctx->Respond(std::move(resp));
  }

  void QueryDataVersion(const RequestContextPtr& ctx) {
    auto addr = ctx->request().GetString("brokerAddr");
    if (!addr.ok()) return Fail(ctx, addr.status());
    auto dv = protocol::DataVersion::Parse(ctx->request().body);
    if (!dv.ok()) return Fail(ctx, dv.status());
    bool changed = routes_.IsBrokerTopicConfigChanged(*addr, *dv);
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.Set("changed", std::string(changed ? "true" : "false"));
    if (auto mine = routes_.QueryBrokerDataVersion(*addr)) resp.body = mine->ToJson();
    ctx->Respond(std::move(resp));
  }

  void GetConfig(const RequestContextPtr& ctx) {
    ConfigBinder b;
    NamesrvConfig copy = config_;
    copy.Bind(&b);
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = b.Dump();
    ctx->Respond(std::move(resp));
  }

  NamesrvConfig config_;
  KvConfig kv_;
  RouteInfoManager routes_;
  Scheduler scheduler_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<remoting::ThreadPool> pool_;
  bool started_ = false;
};

}  // namespace

Result<std::unique_ptr<NamesrvController>> NamesrvController::Start(NamesrvConfig config) {
  auto c = std::make_unique<Controller>(std::move(config));
  RJ_RETURN_IF_ERROR(c->Start());
  return std::unique_ptr<NamesrvController>(std::move(c));
}

}  // namespace ramjet::namesrv
