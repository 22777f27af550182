#include "ramjet/namesrv/namesrv.h"

#include <atomic>
#include <mutex>

#include "namesrv_auth.h"
#include "namesrv_metrics.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/names.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/metrics/http_server.h"
#include "ramjet/metrics/rpc_latency.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/config_files.h"
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
          "a broker not re-registered for this long is removed from the routes")
      .Runtime();
  b->Bind("scanNotActiveBrokerInterval", &scan_not_active_broker_interval,
          "period of the broker liveness scan (ms)");
  b->Bind("orderMessageEnable", &order_message_enable,
          "serve orderTopicConf from KV namespace ORDER_TOPIC_CONFIG in routes")
      .Runtime();
  b->Bind("defaultThreadPoolNums", &default_thread_pool_nums, "request processing threads");
  b->Bind("serverWorkerThreads", &server_worker_threads, "network I/O threads");
  b->Bind("maxFrameBytes", &max_frame_bytes,
          "largest accepted frame; a longer length field closes the connection");
  limits.Bind(b);
  tls.Bind(b);
  b->Bind("clusterAccessKey", &cluster_access_key,
          "the cluster credential: when set (with clusterSecretKey), registering or unregistering "
          "a broker and every other request that changes routes or KV config must be signed with "
          "it (brokers sign with their own clusterAccessKey; ramjet-admin with RAMJET_ACCESS_KEY)")
      .Refused();
  b->Bind("clusterSecretKey", &cluster_secret_key, "secret key of clusterAccessKey")
      .Refused()
      .Secret();
  b->Bind("metricsPromExporterPort", &metrics_prom_exporter_port,
          "HTTP port of the Prometheus endpoint /metrics (-1 = off, 0 = any free port); when the "
          "port is taken the name server logs an error and runs without it")
      .Range(-1, 65535)
      .Refused();
  b->Ignore("rocketmqHome", "no ROCKETMQ_HOME layout is needed");
  b->Ignore("clusterTest", "test-cluster routing is not supported");
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
    auto file = protocol::KvConfigFile::Decode(*text);
    if (!file.ok())
      return Status::Corruption(path_ + " is " + std::string(file.status().message()));
    table_ = std::move(file->config_table);
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
  Status PersistLocked() { return WriteFileAtomic(path_, protocol::KvConfigFile{table_}.Encode()); }
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
    RJ_RETURN_IF_ERROR(config_.tls.Check());
    RJ_RETURN_IF_ERROR(kv_.Load());
    remoting::EndpointOptions o;
    config_.limits.ApplyTo(&o);
    o.name = "namesrv";
    o.io_threads = std::max(1, config_.server_worker_threads);
    o.max_frame_bytes = static_cast<size_t>(config_.max_frame_bytes);
    o.version = protocol::kVersionV4_9_8;
    RJ_RETURN_IF_ERROR(config_.tls.ApplyToServer(&o, "namesrv"));
    if (!config_.cluster_access_key.empty()) {
      if (config_.cluster_secret_key.empty()) {
        return Status::InvalidArgument("clusterAccessKey needs clusterSecretKey");
      }
      o.authorize = ClusterAuthorizer({config_.cluster_access_key, config_.cluster_secret_key, ""});
    }
    if (config_.metrics_prom_exporter_port >= 0) {
      o.on_response = [this](int32_t request, int32_t response, int64_t micros) {
        rpc_.OnResponse(request, response, micros);
      };
    }
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
                                                       broker_channel_expired_millis_.load());
                        });
    StartMetricsServer();
    started_ = true;
    return Status::OK();
  }

  // The Prometheus endpoint (a taken port is logged; the name server runs without it).
  void StartMetricsServer() {
    if (config_.metrics_prom_exporter_port < 0) return;
    auto http = std::make_unique<metrics::HttpServer>();
    const std::string node = config_.listen_address + ":" + std::to_string(server_->port());
    http->Get("/metrics", [this, node] {
      return metrics::HttpServer::Reply(RenderMetrics(routes_, rpc_, node));
    });
    if (Status s = http->Start(config_.listen_address, config_.metrics_prom_exporter_port);
        !s.ok()) {
      RJ_LOG(kError, "namesrv", "%s: no Prometheus endpoint (set metricsPromExporterPort)",
             s.ToString().c_str());
      return;
    }
    http_ = std::move(http);
  }

  void Shutdown() override {
    if (!started_) return;
    started_ = false;
    scheduler_.Stop();
    if (http_) http_->Stop();
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
    On(req::kUpdateNamesrvConfig, &Controller::UpdateConfig);
    On(req::kWipeWritePermOfBroker, &Controller::WipeWritePerm);
    On(req::kAddWritePermOfBroker, &Controller::AddWritePerm);
    On(req::kGetSystemTopicListFromNs, &Controller::GetSystemTopics);
  }

  // WIPE_WRITE_PERM_OF_BROKER (205) answers wipeTopicCount; ADD_WRITE_PERM_OF_BROKER (327)
  // answers addTopicCount.
  void WipeWritePerm(const RequestContextPtr& ctx) { SetWritePerm(ctx, false, "wipeTopicCount"); }
  void AddWritePerm(const RequestContextPtr& ctx) { SetWritePerm(ctx, true, "addTopicCount"); }
  void SetWritePerm(const RequestContextPtr& ctx, bool writable, const char* count_key) {
    auto name = ctx->request().GetString("brokerName");
    if (!name.ok()) return Fail(ctx, name.status());
    int n = routes_.SetWritePermOfBroker(*name, writable);
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.Set(count_key, static_cast<int64_t>(n));
    ctx->Respond(std::move(resp));
  }

  void GetSystemTopics(const RequestContextPtr& ctx) {
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = routes_.GetSystemTopicList().ToJson();
    ctx->Respond(std::move(resp));
  }

  // UPDATE_NAMESRV_CONFIG: the body is properties text. Keys whose table row says runtime
  // (orderMessageEnable, brokerChannelExpiredMillis) change at once; every other key is refused
  // (edit the file given with -c and restart). All keys are checked before anything changes.
  void UpdateConfig(const RequestContextPtr& ctx) {
    auto pairs = ParseProperties(ctx->request().body);
    if (!pairs.ok() || pairs->empty()) {
      return ctx->RespondCode(rc::kSystemError,
                              "updateNamesrvConfig: the body must be key=value lines");
    }
    std::lock_guard<std::mutex> l(config_mu_);
    NamesrvConfig next = config_;
    ConfigBinder b;
    next.Bind(&b);
    for (const auto& [k, v] : *pairs) {
      if (b.PolicyOf(k) != UpdatePolicy::kRuntime) {
        return ctx->RespondCode(rc::kSystemError,
                                "updateNamesrvConfig: " + EscapeForLog(k) +
                                    (b.Has(k) ? " cannot be changed at runtime; edit the name "
                                                "server's configuration file and restart it"
                                              : " is not a name server key"));
      }
      if (Status s = b.Set(k, v); !s.ok()) {
        return ctx->RespondCode(rc::kSystemError,
                                "updateNamesrvConfig: " + std::string(s.message()));
      }
    }
    if (next.broker_channel_expired_millis < 1000) {
      return ctx->RespondCode(rc::kSystemError,
                              "updateNamesrvConfig: brokerChannelExpiredMillis must be >= 1000");
    }
    config_ = next;
    order_message_enable_.store(next.order_message_enable);
    broker_channel_expired_millis_.store(next.broker_channel_expired_millis);
    RJ_LOG(kInfo, "namesrv", "configuration updated by %s", ctx->remote_address().c_str());
    ctx->RespondCode(rc::kSuccess);
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
        return ctx->RespondCode(rc::kSystemError,
                                "bad register body: " + std::string(body.status().message()));
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
                              "No topic route info in name server for the topic: " + *topic +
                                  std::string(protocol::kFaqSuffix));
    }
    if (order_message_enable_.load()) {
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
      return ctx->RespondCode(rc::kQueryNotFound,
                              "No config item, Namespace: " + *ns + " Key: " + *key);
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
    NamesrvConfig copy;
    {
      std::lock_guard<std::mutex> l(config_mu_);
      copy = config_;
    }
    copy.Bind(&b);
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = b.Dump();
    ctx->Respond(std::move(resp));
  }

  std::mutex config_mu_;  // guards config_ after Start (UPDATE_NAMESRV_CONFIG)
  NamesrvConfig config_;
  // The keys that change at runtime, read without the lock.
  std::atomic<bool> order_message_enable_{config_.order_message_enable};
  std::atomic<int64_t> broker_channel_expired_millis_{config_.broker_channel_expired_millis};
  KvConfig kv_;
  RouteInfoManager routes_;
  Scheduler scheduler_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<remoting::ThreadPool> pool_;
  metrics::RpcLatency rpc_;                    // fed by server_'s response observer
  std::unique_ptr<metrics::HttpServer> http_;  // /metrics (null: off or its port taken)
  bool started_ = false;
};

}  // namespace

Result<std::unique_ptr<NamesrvController>> NamesrvController::Start(NamesrvConfig config) {
  auto c = std::make_unique<Controller>(std::move(config));
  RJ_RETURN_IF_ERROR(c->Start());
  return std::unique_ptr<NamesrvController>(std::move(c));
}

}  // namespace ramjet::namesrv
