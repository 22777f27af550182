// The broker's composition root: builds the context, the services and the processors, wires
// them with callbacks, registers every request code on its executor, and runs the periodic
// tasks. It handles no request itself (the processors do; see docs/architecture.md).
#include "ramjet/broker/broker.h"

#include <atomic>
#include <charconv>

#include "acl_processor.h"
#include "admin_processor.h"
#include "admin_stats_processor.h"
#include "assignment_processor.h"
#include "auth_processor.h"
#include "auth_setup.h"
#include "broker_context.h"
#include "broker_metrics.h"
#include "client_processor.h"
#include "consumer_offset_processor.h"
#include "controller_mode.h"
#include "grpc_service.h"
#include "namesrv_registrar.h"
#include "pop_processor.h"
#include "pop_service.h"
#include "pull_processor.h"
#include "query_processor.h"
#include "ramjet/acl/acl_validator.h"
#include "ramjet/acl/signature.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/names.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/message/record.h"
#include "ramjet/metrics/http_server.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"
#include "recall.h"
#include "replication.h"
#include "reply_processor.h"
#include "schedule_service.h"
#include "send_processor.h"
#include "system_topics.h"
#include "timer_service.h"
#include "transaction_processor.h"
#include "transaction_service.h"

namespace ramjet::broker {
namespace {

using remoting::RequestContextPtr;
namespace req = protocol::request_code;

// The broker's hooks into the store. Consume-queue entries of the schedule and timer topics carry
// the delivery time instead of a tag hash. The answers one group commit completes leave corked:
// one send() per connection instead of one per answer.
BrokerConfig WithStoreHooks(BrokerConfig config) {
  config.store.run_completions = [](const std::function<void()>& calls) {
    remoting::WriteCork cork;
    calls();
  };
  config.store.tags_code_override =
      [levels = config.delay_level_ms](const message::RecordView& r) -> std::optional<int64_t> {
    if (r.topic == kTimerTopic) {
      std::string_view v = message::FindProperty(r.properties, "TIMER_OUT_MS");
      int64_t at = 0;
      std::from_chars(v.data(), v.data() + v.size(), at);
      return at;
    }
    if (r.topic != kScheduleTopic || levels.empty()) return std::nullopt;
    size_t level = static_cast<size_t>(std::clamp<int64_t>(r.queue_id + 1, 1, levels.size()));
    return r.store_timestamp + levels[level - 1];
  };
  return config;
}

std::unique_ptr<remoting::ThreadPool> Pool(const char* name, int threads, int cap) {
  return std::make_unique<remoting::ThreadPool>(std::string("b-") + name, std::max(1, threads),
                                                static_cast<size_t>(std::max(1, cap)));
}

class Broker : public BrokerController {
 public:
  Broker(BrokerConfig config, std::unique_ptr<controller::FailoverController> controller,
         RestartHook on_restart)
      : bc_(WithStoreHooks(std::move(config))), registrar_(&bc_), scheduler_("broker-sched") {
    controller_ = std::move(controller);
    on_restart_ = std::move(on_restart);
    bc_.controller = controller_.get();
    bc_.set_on_topics_changed([this] { registrar_.Trigger(); });
    registrar_.set_on_registered([this](const std::string& master, const std::string& ha) {
      if (replication_) replication_->OnRegistered(master, ha);
    });
  }
  ~Broker() override { Shutdown(); }

  Status Start() {
    RJ_RETURN_IF_ERROR(CreateDirectories(config().store.root_dir + "/config"));
    RJ_RETURN_IF_ERROR(bc_.LoadMetadata());
    auto store = store::MessageStore::Open(config().store);
    if (!store.ok()) return store.status();
    bc_.store = std::move(store).value();
    RJ_RETURN_IF_ERROR(AddSystemTopics());
    if (controller_ && !config().IsSlave()) RJ_RETURN_IF_ERROR(AdoptReplicatedTopics(&bc_));
    RJ_RETURN_IF_ERROR(StartServices());
    replication_ = std::make_unique<Replication>(&bc_, schedule_.get());
    RJ_RETURN_IF_ERROR(replication_->Start());
    MakePools();
    RJ_RETURN_IF_ERROR(StartServer());
    // Before the service threads: the transaction checker reads grpc_ (a check-back may go to
    // a gRPC producer), and starting the thread afterwards orders that read after the write.
    RJ_RETURN_IF_ERROR(StartGrpc());
    StartMetricsServer();
    registrar_.Start();
    started_ = true;
    if (!config().IsSlave()) {  // a slave's store takes only its master's bytes
      schedule_->Start();
      transactions_->Start();
      timers_->Start();
    }
    registrar_.RegisterNow();
    ScheduleTasks();
    if (controller_) {
      RJ_RETURN_IF_ERROR(
          controller_->Start(ControllerHooks(&bc_, replication_.get(), on_restart_)));
    }
    return Status::OK();
  }

  void Shutdown() override {
    // The controller keeps the lease while the broker shuts down, and stops last.
    if (controller_) controller_->Quiesce();
    struct StopController {
      controller::FailoverController* c;
      ~StopController() {
        if (c) c->Stop();
      }
    } stop_controller{controller_.get()};
    if (!started_) {
      if (replication_) replication_->Stop();
      if (bc_.store) bc_.store->Shutdown().IgnoreError();
      bc_.store.reset();
      return;
    }
    started_ = false;
    scheduler_.Stop();
    registrar_.Shutdown();
    if (http_) http_->Stop();
    grpc_arrivals_.store(nullptr, std::memory_order_release);
    if (grpc_) grpc_->Stop();
    server_->Shutdown();
    if (pop_processor_) pop_processor_->Stop();
    if (pop_) pop_->Stop();
    for (auto* p :
         {&send_pool_, &pull_pool_, &query_pool_, &admin_pool_, &client_pool_, &consumer_pool_}) {
      (*p)->Shutdown();
    }
    replication_->Stop();
    schedule_->Stop();
    transactions_->Stop();
    timers_->Stop();
    PersistOffsets();
    Status s = bc_.store->Shutdown();
    if (!s.ok()) RJ_LOG(kError, "broker", "store shutdown: %s", s.ToString().c_str());
    RJ_LOG(kInfo, "broker", "broker %s shut down", config().broker_name.c_str());
  }

  int port() const override { return server_->port(0); }
  const BrokerConfig& config() const override { return bc_.config(); }

 private:
  Status AddSystemTopics();
  Status StartServices();
  void MakePools();
  Status StartServer();
  Status StartGrpc();
  void StartMetricsServer();
  void RegisterProcessors();
  void ScheduleTasks();
  void AddRuntimeInfo(std::map<std::string, std::string>* t) const;
  void PersistOffsets() {
    Status s = bc_.offsets.Persist();
    if (!s.ok()) RJ_LOG(kError, "broker", "persisting consumer offsets: %s", s.ToString().c_str());
  }
  // Registers handler for code on executor (null: the I/O thread); only_listener as in
  // Endpoint::RegisterProcessor.
  template <typename P>
  void On(int32_t code, P* processor, void (P::*fn)(const RequestContextPtr&),
          remoting::ThreadPool* executor, int only_listener = -1) {
    server_->RegisterProcessor(
        code, [processor, fn](const RequestContextPtr& ctx) { (processor->*fn)(ctx); }, executor,
        only_listener);
  }

  BrokerContext bc_;
  NamesrvRegistrar registrar_;
  std::unique_ptr<ScheduleService> schedule_;
  std::unique_ptr<TransactionService> transactions_;
  std::unique_ptr<TimerService> timers_;
  std::unique_ptr<Replication> replication_;
  std::unique_ptr<controller::FailoverController> controller_;
  RestartHook on_restart_;
  std::unique_ptr<remoting::ThreadPool> send_pool_, pull_pool_, query_pool_, admin_pool_,
      client_pool_, consumer_pool_;
  std::unique_ptr<acl::AclValidator>
      acl_;  // aclEnable (null: off); declared first: outlives server_
  std::shared_ptr<remoting::TlsContext> server_tls_;  // tlsMode not disabled (null: off)
  AuthSetup auth_;  // ACL 2.0 (null members: off); declared before server_: outlives it
  std::unique_ptr<AuthProcessor> auth_processor_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<SendProcessor> send_;
  std::unique_ptr<PullProcessor> pull_;
  std::unique_ptr<ClientProcessor> client_;
  std::unique_ptr<ConsumerOffsetProcessor> offsets_;
  std::unique_ptr<QueryProcessor> query_;
  std::unique_ptr<TransactionProcessor> transaction_;
  std::unique_ptr<AdminProcessor> admin_;
  std::unique_ptr<AdminStatsProcessor> admin_stats_;
  std::unique_ptr<ReplyProcessor> reply_;
  std::unique_ptr<PopService> pop_;
  std::unique_ptr<PopProcessor> pop_processor_;  // masters only, as pop_
  std::unique_ptr<AssignmentProcessor> assignment_;
  std::unique_ptr<RecallProcessor> recall_;
  std::unique_ptr<AclProcessor> acl_processor_;
  std::unique_ptr<BrokerMetrics> metrics_;
  std::unique_ptr<metrics::HttpServer> http_;  // /metrics
  std::unique_ptr<GrpcService> grpc_;
  std::atomic<GrpcService*> grpc_arrivals_{nullptr};  // grpc_ once started, for the dispatcher
  Scheduler scheduler_;
  std::atomic<bool> started_{false};
};

Status Broker::AddSystemTopics() {
  const BrokerConfig& config = bc_.config();
  auto add = [this](const std::string& name, int32_t queues, int32_t perm) -> Status {
    protocol::TopicConfig t;
    t.topic_name = name;
    t.read_queue_nums = t.write_queue_nums = queues;
    t.perm = perm;
    auto r = bc_.topics.AddIfAbsent(t);
    return r.ok() ? Status::OK() : r.status();
  };
  constexpr int32_t kRW = protocol::kPermRead | protocol::kPermWrite;
  RJ_RETURN_IF_ERROR(add(kSelfTestTopic, 1, kRW));
  if (config.auto_create_topic_enable) {
    RJ_RETURN_IF_ERROR(
        add(kAutoCreateTopicKey, config.default_topic_queue_nums, kRW | protocol::kPermInherit));
  } else if (bc_.topics.Find(kAutoCreateTopicKey)) {
    auto r = bc_.topics.Delete(kAutoCreateTopicKey);
    if (!r.ok()) return r.status();
  }
  // Apache's benchmark tools send to BenchmarkTest by default.
  RJ_RETURN_IF_ERROR(add(kBenchmarkTopic, 1024, kRW));
  RJ_RETURN_IF_ERROR(add(config.broker_cluster_name, 16,
                         protocol::kPermInherit | (config.cluster_topic_enable ? kRW : 0)));
  RJ_RETURN_IF_ERROR(
      add(config.broker_name, 1, protocol::kPermInherit | (config.broker_topic_enable ? kRW : 0)));
  RJ_RETURN_IF_ERROR(add(kOffsetMovedEvent, 1, kRW));
  RJ_RETURN_IF_ERROR(add(kScheduleTopic, 18, kRW));
  RJ_RETURN_IF_ERROR(add(kTransHalfTopic, 1, kRW));
  RJ_RETURN_IF_ERROR(add(kTransOpHalfTopic, 1, kRW));
  RJ_RETURN_IF_ERROR(add(kTransCheckMaxTimeTopic, 1, kRW));
  RJ_RETURN_IF_ERROR(add(kTimerTopic, 1, kRW));
  RJ_RETURN_IF_ERROR(add(kTimerOpTopic, 1, kRW));
  if (config.trace_topic_enable) RJ_RETURN_IF_ERROR(add(kTraceTopic, 1, kRW));
  RJ_RETURN_IF_ERROR(add(config.broker_cluster_name + "_REPLY_TOPIC", 1, kRW));
  return Status::OK();
}

// The delay-level, transaction and timer services (loaded, not yet running).
Status Broker::StartServices() {
  const BrokerConfig& config = bc_.config();
  store::MessageStore* store = bc_.store.get();
  schedule_ =
      std::make_unique<ScheduleService>(store, config.store.root_dir + "/config/delayOffset.json",
                                        config.delay_level_ms, FileSystemOf(config));
  RJ_RETURN_IF_ERROR(schedule_->Load());
  send_ = std::make_unique<SendProcessor>(&bc_, schedule_->max_level());
  TransactionConfig tc;
  tc.check_interval_ms = std::max<int64_t>(100, config.transaction_check_interval);
  tc.timeout_ms = config.transaction_time_out;
  tc.check_max = config.transaction_check_max;
  transactions_ = std::make_unique<TransactionService>(
      store, &bc_.offsets, tc, config.store.store_host,
      [this](const std::string& group, protocol::RemotingCommand cmd) {
        if (grpc_ && grpc_->CheckTransaction(group, cmd)) return true;
        return bc_.SendToProducer(group, std::move(cmd));
      },
      [this](std::string* topic, int32_t* qid, std::string* props) {
        send_->ApplyDelay(topic, qid, props);
      });
  RJ_RETURN_IF_ERROR(transactions_->Load());
  timers_ =
      std::make_unique<TimerService>(store, config.store.root_dir + "/config/timerProgress.json",
                                     config.store.store_host, FileSystemOf(config));
  return timers_->Load();
}

void Broker::MakePools() {
  const BrokerConfig& c = bc_.config();
  // Also runs END_TRANSACTION and CONSUMER_SEND_MSG_BACK.
  send_pool_ = Pool("send", c.send_message_thread_pool_nums, c.send_thread_pool_queue_capacity);
  pull_pool_ = Pool("pull", c.pull_message_thread_pool_nums, c.pull_thread_pool_queue_capacity);
  query_pool_ = Pool("query", c.query_message_thread_pool_nums, c.query_thread_pool_queue_capacity);
  admin_pool_ = Pool("admin", c.admin_broker_thread_pool_nums, 10000);
  client_pool_ =
      Pool("client", c.client_manage_thread_pool_nums, c.client_manager_thread_pool_queue_capacity);
  consumer_pool_ = Pool("consumer", c.consumer_manage_thread_pool_nums,
                        c.consumer_manager_thread_pool_queue_capacity);
}

Status Broker::StartServer() {
  const BrokerConfig& config = bc_.config();
  remoting::EndpointOptions so;
  config.limits.ApplyTo(&so);
  so.name = "broker";
  const acl::Credentials cluster{config.cluster_access_key, config.cluster_secret_key, ""};
  if (config.authentication_enabled || config.authorization_enabled) {  // ACL 2.0
    RJ_ASSIGN_OR_RETURN(auth_, SetUpAuth(config));
    auto last_log_us = std::make_shared<std::atomic<int64_t>>(0);
    so.authorize = [a = auth_.authorizer.get(), cluster, last_log_us](
                       const protocol::RemotingCommand& r, const std::string& from) {
      if (acl::SignedBy(r, cluster)) return Status::OK();
      Status s = a->Check(r, from);
      // At most one line a second; the text carries the client's AccessKey: escaped.
      const int64_t now = MonoMicros();
      int64_t last = last_log_us->load();
      if (!s.ok() && now - last >= 1'000'000 && last_log_us->compare_exchange_strong(last, now)) {
        RJ_LOG(kWarn, "auth", "request code %d from %s refused: %s", r.code, from.c_str(),
               EscapeForLog(s.message()).c_str());
      }
      return s;
    };
  } else if (config.acl_enable) {  // ACL 1.0: every request signed by an account of plain_acl.yml
    RJ_ASSIGN_OR_RETURN(acl_, acl::AclValidator::Open(config.acl_file_path));
    // Requests signed with the cluster credential (a slave's, another broker's) pass as admin's.
    so.authorize = [v = acl_.get(), cluster](const protocol::RemotingCommand& r,
                                             const std::string& from) {
      return acl::SignedBy(r, cluster) ? Status::OK() : v->Check(r, from);
    };
  }
  so.io_threads = std::max(1, config.server_worker_threads);
  so.cork_flush_bytes = static_cast<size_t>(config.server_cork_flush_bytes);
  so.max_frame_bytes = static_cast<size_t>(config.max_frame_bytes);
  so.version = protocol::kVersionV4_9_8;
  RJ_RETURN_IF_ERROR(config.tls.ApplyToServer(&so, "broker"));
  server_tls_ = so.tls;  // the gRPC port serves the same certificate
  metrics_ = std::make_unique<BrokerMetrics>(&bc_);
  if (config.metrics_prom_exporter_port >= 0) {  // metrics off: no per-request observer
    so.on_response = [m = metrics_.get()](int32_t code, int32_t response_code, int64_t us) {
      m->OnResponse(code, response_code, us);
    };
  }
  // Sends answered inline defer their appends to the end of the read round: one write(2) per
  // round, before any of its acknowledgements leaves (store::DeferredAppends).
  so.before_corked_flush = [store = bc_.store.get()] { return store->FinishDeferredAppends(); };
  server_ = std::make_unique<remoting::RemotingServer>(so);
  bc_.server = server_.get();
  pull_ = std::make_unique<PullProcessor>(&bc_, pull_pool_.get());
  client_ = std::make_unique<ClientProcessor>(&bc_);
  offsets_ = std::make_unique<ConsumerOffsetProcessor>(&bc_);
  query_ = std::make_unique<QueryProcessor>(&bc_);
  transaction_ = std::make_unique<TransactionProcessor>(transactions_.get());
  admin_ = std::make_unique<AdminProcessor>(&bc_);
  admin_->set_grpc_consumers([this](const std::string& group, protocol::ConsumerConnectionBody* b) {
    GrpcService* g = grpc_arrivals_.load(std::memory_order_acquire);
    return g != nullptr && g->AddConsumerConnections(group, b);
  });
  reply_ = std::make_unique<ReplyProcessor>(bc_.store.get(), &bc_.topics, &bc_.producers,
                                            server_.get(), [this] { return bc_.Live(); });
  AdminStatsDeps deps;
  deps.config = &bc_.config();
  deps.store = bc_.store.get();
  deps.topics = &bc_.topics;
  deps.groups = &bc_.groups;
  deps.offsets = &bc_.offsets;
  deps.consumers = &bc_.consumers;
  deps.stats = &bc_.stats;
  deps.server = server_.get();
  deps.add_runtime_info = [this](std::map<std::string, std::string>* t) { AddRuntimeInfo(t); };
  deps.delay_offsets = [this] { return schedule_->Encode(); };
  deps.call_grpc_consumer =
      [this](int32_t code, const std::string& group, const std::string& client_id,
             const std::string& record) -> Result<std::pair<int32_t, std::string>> {
    GrpcService* g = grpc_arrivals_.load(std::memory_order_acquire);
    if (g == nullptr) return Status::NotFound("no gRPC service");
    return g->CallConsumer(code, group, client_id, record);
  };
  admin_stats_ = std::make_unique<AdminStatsProcessor>(std::move(deps));
  assignment_ = std::make_unique<AssignmentProcessor>(&bc_, &registrar_);
  recall_ = std::make_unique<RecallProcessor>(&bc_, timers_.get());
  acl_processor_ = std::make_unique<AclProcessor>(&bc_, acl_.get());
  auth_processor_ = std::make_unique<AuthProcessor>(auth_.store.get(), auth_.authorizer.get());
  RJ_RETURN_IF_ERROR(assignment_->Load());
  if (!config.IsSlave()) {  // a slave's store takes no check points
    pop_ = std::make_unique<PopService>(&bc_);
    RJ_RETURN_IF_ERROR(pop_->Start());
    pop_processor_ = std::make_unique<PopProcessor>(&bc_, pop_.get());
    metrics_->set_pop(pop_.get());
    pop_processor_->Start();
  }
  bc_.store->SetArrivalListener(
      [this](std::string_view topic, int32_t qid, QueueOffset off, int64_t tags_code, int64_t) {
        pull_->hold_service().OnArrival(topic, qid, off.value(), tags_code);
        // The dispatcher thread: the gRPC service is published once it runs (StartGrpc).
        if (GrpcService* g = grpc_arrivals_.load(std::memory_order_acquire)) g->OnArrival(topic);
        if (pop_processor_) pop_processor_->OnArrival(topic);
      });
  RegisterProcessors();
  server_->AddCloseListener(
      [this](const remoting::ConnectionPtr& c) { client_->OnConnectionClosed(c); });
  std::vector<remoting::ListenAddress> listeners = {{config.listen_address, config.listen_port}};
  if (config.vip_channel_enable) {
    listeners.push_back({config.listen_address, config.listen_port - 2});
  }
  return server_->Start(listeners);
}

// POP consumption and the 5.x gRPC service (masters; a slave's store takes no check points).
Status Broker::StartGrpc() {
  const BrokerConfig& c = bc_.config();
  if (c.IsSlave()) return Status::OK();
  if (c.grpc_server_port < 0) return Status::OK();
  auto grpc = std::make_unique<GrpcService>(
      GrpcService::Deps{&bc_, send_.get(), transaction_.get(), pop_.get(), timers_.get(),
                        c.metrics_prom_exporter_port >= 0 ? metrics_->rpc() : nullptr, acl_.get(),
                        auth_.authorizer.get()});
  auto tls_mode = server_tls_ ? *remoting::ParseTlsMode(c.tls.mode) : remoting::TlsMode::kDisabled;
  if (Status s = grpc->Start(c.listen_address, c.grpc_server_port, tls_mode, server_tls_);
      !s.ok()) {
    // Several brokers on one host: only one has the default port unless each is given one.
    RJ_LOG(kError, "broker", "%s: 5.x gRPC clients cannot connect (set grpcServerPort)",
           s.ToString().c_str());
    return Status::OK();
  }
  grpc_ = std::move(grpc);
  grpc_arrivals_.store(grpc_.get(), std::memory_order_release);
  return Status::OK();
}

// The Prometheus endpoint (a taken port is logged; the broker runs without it).
void Broker::StartMetricsServer() {
  const BrokerConfig& c = bc_.config();
  if (c.metrics_prom_exporter_port < 0) return;
  auto http = std::make_unique<metrics::HttpServer>();
  BrokerMetrics* m = metrics_.get();
  http->Get("/metrics", [m] { return metrics::HttpServer::Reply{m->Render()}; });
  const std::string& host =
      c.metrics_prom_exporter_host.empty() ? c.listen_address : c.metrics_prom_exporter_host;
  if (Status s = http->Start(host, c.metrics_prom_exporter_port); !s.ok()) {
    RJ_LOG(kError, "broker", "%s: no Prometheus endpoint (set metricsPromExporterPort)",
           s.ToString().c_str());
    return;
  }
  RJ_LOG(kInfo, "broker", "Prometheus metrics on http://%s:%d/metrics", host.c_str(), http->port());
  http_ = std::move(http);
}

void Broker::RegisterProcessors() {
  // sendMessageThreadPoolNums=0: sends are stored and answered on the I/O thread that read
  // them (no executor hand-off; the answers of one read round leave in one write).
  remoting::ThreadPool* send_exec =
      bc_.config().send_message_thread_pool_nums > 0 ? send_pool_.get() : nullptr;
  SendProcessor* send = send_.get();
  for (int32_t code : {req::kSendMessage, req::kSendMessageV2, req::kSendBatchMessage}) {
    On(code, send, &SendProcessor::ProcessSend, send_exec);
  }
  On(req::kConsumerSendMsgBack, send, &SendProcessor::ConsumerSendMsgBack, send_pool_.get());
  for (int32_t code : {req::kSendReplyMessage, req::kSendReplyMessageV2}) {
    On(code, reply_.get(), &ReplyProcessor::Process, send_pool_.get());
  }
  On(req::kEndTransaction, transaction_.get(), &TransactionProcessor::EndTransaction,
     send_pool_.get());
  On(req::kRecallMessage, recall_.get(), &RecallProcessor::Recall, send_pool_.get());
  AuthProcessor* authp = auth_processor_.get();
  On(req::kAuthCreateUser, authp, &AuthProcessor::CreateUser, admin_pool_.get());
  On(req::kAuthUpdateUser, authp, &AuthProcessor::UpdateUser, admin_pool_.get());
  On(req::kAuthDeleteUser, authp, &AuthProcessor::DeleteUser, admin_pool_.get());
  On(req::kAuthGetUser, authp, &AuthProcessor::GetUser, admin_pool_.get());
  On(req::kAuthListUser, authp, &AuthProcessor::ListUsers, admin_pool_.get());
  On(req::kAuthCreateAcl, authp, &AuthProcessor::UpsertAcl, admin_pool_.get());
  On(req::kAuthUpdateAcl, authp, &AuthProcessor::UpsertAcl, admin_pool_.get());
  On(req::kAuthDeleteAcl, authp, &AuthProcessor::DeleteAcl, admin_pool_.get());
  On(req::kAuthGetAcl, authp, &AuthProcessor::GetAcl, admin_pool_.get());
  On(req::kAuthListAcl, authp, &AuthProcessor::ListAcls, admin_pool_.get());
  AclProcessor* aclp = acl_processor_.get();
  On(req::kUpdateAndCreateAclConfig, aclp, &AclProcessor::UpdateAccount, admin_pool_.get());
  On(req::kDeleteAclConfig, aclp, &AclProcessor::DeleteAccount, admin_pool_.get());
  On(req::kGetBrokerClusterAclInfo, aclp, &AclProcessor::ClusterAclInfo, admin_pool_.get());
  On(req::kUpdateGlobalWhiteAddrsConfig, aclp, &AclProcessor::UpdateGlobalWhiteAddresses,
     admin_pool_.get());
  // Pulls only on the main port (the VIP port serves everything else), as RocketMQ.
  for (int32_t code : {req::kPullMessage, req::kLitePullMessage}) {
    On(code, pull_.get(), &PullProcessor::ProcessPull, pull_pool_.get(), 0);
  }
  On(req::kQueryMessage, query_.get(), &QueryProcessor::QueryMessage, query_pool_.get());
  On(req::kViewMessageById, query_.get(), &QueryProcessor::ViewMessageById, query_pool_.get());
  ClientProcessor* client = client_.get();
  remoting::ThreadPool* client_exec = client_pool_.get();
  On(req::kHeartBeat, client, &ClientProcessor::HeartBeat, client_exec);
  On(req::kUnregisterClient, client, &ClientProcessor::UnregisterClient, client_exec);
  On(req::kGetConsumerListByGroup, client, &ClientProcessor::GetConsumerList, client_exec);
  On(req::kCheckClientConfig, client, &ClientProcessor::CheckClientConfig, client_exec);
  On(req::kLockBatchMq, client, &ClientProcessor::LockBatchMq, client_exec);
  On(req::kUnlockBatchMq, client, &ClientProcessor::UnlockBatchMq, client_exec);
  ConsumerOffsetProcessor* offsets = offsets_.get();
  On(req::kQueryConsumerOffset, offsets, &ConsumerOffsetProcessor::QueryConsumerOffset,
     consumer_pool_.get());
  On(req::kUpdateConsumerOffset, offsets, &ConsumerOffsetProcessor::UpdateConsumerOffset,
     consumer_pool_.get());
  for (int32_t code : {req::kGetMaxOffset, req::kGetMinOffset, req::kGetEarliestMsgStoretime,
                       req::kSearchOffsetByTimestamp}) {
    On(code, offsets, &ConsumerOffsetProcessor::QueueQuery, admin_pool_.get());
  }
  AdminProcessor* admin = admin_.get();
  remoting::ThreadPool* admin_exec = admin_pool_.get();
  On(req::kUpdateAndCreateTopic, admin, &AdminProcessor::UpdateAndCreateTopic, admin_exec);
  On(req::kDeleteTopicInBroker, admin, &AdminProcessor::DeleteTopicInBroker, admin_exec);
  On(req::kGetAllTopicConfig, admin, &AdminProcessor::GetAllTopicConfig, admin_exec);
  On(req::kUpdateBrokerConfig, admin, &AdminProcessor::UpdateBrokerConfig, admin_exec);
  On(req::kGetBrokerConfig, admin, &AdminProcessor::GetBrokerConfig, admin_exec);
  On(req::kUpdateAndCreateSubscriptionGroup, admin, &AdminProcessor::UpdateSubscriptionGroup,
     admin_exec);
  On(req::kDeleteSubscriptionGroup, admin, &AdminProcessor::DeleteSubscriptionGroup, admin_exec);
  On(req::kControllerElectMaster, admin, &AdminProcessor::ElectMaster, admin_exec);
  On(req::kGetProducerConnectionList, admin, &AdminProcessor::GetProducerConnectionList,
     admin_exec);
  On(req::kGetConsumerConnectionList, admin, &AdminProcessor::GetConsumerConnectionList,
     admin_exec);
  On(req::kInvokeBrokerToResetOffset, admin, &AdminProcessor::InvokeBrokerToResetOffset,
     admin_exec);
  admin_stats_->RegisterOn(server_.get(), admin_exec);
  AssignmentProcessor* assign = assignment_.get();
  remoting::ThreadPool* consumer_exec = consumer_pool_.get();
  On(req::kQueryAssignment, assign, &AssignmentProcessor::QueryAssignment, consumer_exec);
  On(req::kSetMessageRequestMode, assign, &AssignmentProcessor::SetMessageRequestMode, admin_exec);
  On(req::kGetAllMessageRequestMode, assign, &AssignmentProcessor::GetAllMessageRequestMode,
     admin_exec);
  if (PopProcessor* pop = pop_processor_.get()) {
    remoting::ThreadPool* pull_exec = pull_pool_.get();
    On(req::kPopMessage, pop, &PopProcessor::PopMessage, pull_exec);
    On(req::kAckMessage, pop, &PopProcessor::AckMessage, pull_exec);
    On(req::kBatchAckMessage, pop, &PopProcessor::BatchAckMessage, pull_exec);
    On(req::kChangeMessageInvisibleTime, pop, &PopProcessor::ChangeInvisibleTime, pull_exec);
    On(req::kNotification, pop, &PopProcessor::Notification, pull_exec);
    On(req::kPollingInfo, pop, &PopProcessor::PollingInfo, pull_exec);
  }
}

void Broker::ScheduleTasks() {
  const BrokerConfig& c = bc_.config();
  scheduler_.RunEvery(c.register_name_server_period, c.register_name_server_period,
                      [this] { registrar_.Trigger(); });
  if (c.IsSlave() && c.ha_master_address.empty()) {
    // A slave that registered before its master learns the master's addresses only from a later
    // registration: until it knows them, register every 2 s instead of every 30 s.
    scheduler_.RunEvery(2000, 2000, [this] {
      if (replication_->master_addr().empty()) registrar_.Trigger();
    });
  }
  scheduler_.RunEvery(c.flush_consumer_offset_interval, c.flush_consumer_offset_interval,
                      [this] { PersistOffsets(); });
  scheduler_.RunEvery(10000, 10000, [this] { client_->ScanExpiredChannels(); });
  scheduler_.RunEvery(1000, 1000, [this] { bc_.stats.Sample(); });
  scheduler_.RunEvery(c.flush_delay_offset_interval, c.flush_delay_offset_interval, [this] {
    Status s = schedule_->Persist();
    if (!s.ok()) RJ_LOG(kError, "broker", "persisting delay offsets: %s", s.ToString().c_str());
  });
  scheduler_.RunEvery(1000, c.long_polling_enable ? 1000 : c.short_polling_time_mills,
                      [this] { pull_->hold_service().Scan(); });
}

// The runtime-info keys only the broker knows: executor queues, delay-level progress
// ("scheduleMessageOffset_<level>" = "delivered,stored" as RocketMQ's ScheduleMessageService
// reports them) and pending timers.
void Broker::AddRuntimeInfo(std::map<std::string, std::string>* t) const {
  (*t)["sendThreadPoolQueueSize"] = std::to_string(send_pool_->QueueSize());
  (*t)["pullThreadPoolQueueSize"] = std::to_string(pull_pool_->QueueSize());
  (*t)["queryThreadPoolQueueSize"] = std::to_string(query_pool_->QueueSize());
  (*t)["EndTransactionQueueSize"] = std::to_string(send_pool_->QueueSize());
  (*t)["sendThreadPoolQueueHeadWaitTimeMills"] = std::to_string(send_pool_->HeadWaitMillis());
  (*t)["pullThreadPoolQueueHeadWaitTimeMills"] = std::to_string(pull_pool_->HeadWaitMillis());
  (*t)["queryThreadPoolQueueHeadWaitTimeMills"] = std::to_string(query_pool_->HeadWaitMillis());
  for (const auto& [level, delivered] : schedule_->Offsets()) {
    const int64_t stored = bc_.store->GetMaxOffsetInQueue(kScheduleTopic, level - 1).value();
    if (stored <= 0) continue;  // levels that never held a message
    (*t)["scheduleMessageOffset_" + std::to_string(level)] =
        std::to_string(delivered) + "," + std::to_string(stored);
  }
  (*t)["timerPendingCount"] = std::to_string(timers_->Pending());
  replication_->AddRuntimeInfo(t);
  if (controller_) AddControllerRuntimeInfo(*controller_, t);
}

}  // namespace

Result<std::unique_ptr<BrokerController>> BrokerController::Start(BrokerConfig config,
                                                                  RestartHook on_restart) {
  std::unique_ptr<controller::FailoverController> controller;
  if (config.enable_controller_mode) {
    if (!on_restart) return Status::InvalidArgument("controller mode needs ramjet-broker");
    RJ_ASSIGN_OR_RETURN(controller, JoinGroup(&config));
  }
  auto b =
      std::make_unique<Broker>(std::move(config), std::move(controller), std::move(on_restart));
  Status s = b->Start();
  if (!s.ok()) {
    b->Shutdown();
    return s;
  }
  return std::unique_ptr<BrokerController>(std::move(b));
}

}  // namespace ramjet::broker
