#include "ramjet/broker/broker.h"

#include <atomic>
#include <charconv>
#include <random>

#include "admin_stats_processor.h"
#include "broker_stats.h"
#include "clients.h"
#include "metadata.h"
#include "reply_processor.h"
#include "requeue.h"
#include "send_common.h"
#include "schedule.h"
#include "sql92.h"
#include "transaction.h"
#include "timer.h"
#include <nlohmann/json.hpp>
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"
#include "ramjet/store/message_store.h"

namespace ramjet::broker {
namespace {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

constexpr int32_t kPullFlagCommitOffset = 0x1;
// Bounds of a subscription group's retry settings (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP): a retry
// topic has as many queues as a topic may have.
constexpr int32_t kMaxRetryQueueNums = 1024;
constexpr int32_t kMaxRetryMaxTimes = 1000;
constexpr int32_t kPullFlagSuspend = 0x2;
constexpr int32_t kPullFlagSubscription = 0x4;

class TagFilter : public store::MessageFilter {
 public:
  explicit TagFilter(protocol::SubscriptionData sub) : sub_(std::move(sub)) {
    all_ = sub_.sub_string.empty() || sub_.sub_string == "*" || sub_.class_filter_mode;
  }
  bool MatchTagsCode(int64_t code) const override {
    return all_ || sub_.code_set.count(static_cast<int32_t>(code)) > 0;
  }

 private:
  protocol::SubscriptionData sub_;
  bool all_ = false;
};

// SQL92 subscription: every tags code passes; the expression runs over the record's properties.
class SqlFilter : public store::MessageFilter {
 public:
  explicit SqlFilter(std::shared_ptr<const sql92::Expression> e) : expr_(std::move(e)) {}
  bool MatchTagsCode(int64_t) const override { return true; }
  bool MatchRecord(const store::RecordView& r) const override {
    return expr_->Matches([&](std::string_view key) -> std::optional<std::string_view> {
      for (const auto& [k, v] : store::ParseProperties(r.properties)) {
        if (k == key) return v;
      }
      return std::nullopt;
    });
  }

 private:
  std::shared_ptr<const sql92::Expression> expr_;
};

// Queue locks for orderly consumption (RebalanceLockManager): per group, a queue is held by one
// client id until it is released or not renewed for rebalanceLockMaxLiveTime.
class LockManager {
 public:
  struct Mq {
    std::string topic;
    std::string broker_name;
    int32_t queue_id = 0;
    auto operator<=>(const Mq&) const = default;
  };
  explicit LockManager(int64_t max_live_ms) : max_live_ms_(max_live_ms) {}
  // Locks (or renews) what it can; returns the queues now held by client_id.
  std::vector<Mq> TryLock(const std::string& group, const std::string& client_id,
                          const std::vector<Mq>& mqs, int64_t now) {
    std::lock_guard<std::mutex> l(mu_);
    auto& table = groups_[group];
    std::vector<Mq> ok;
    for (const auto& mq : mqs) {
      auto it = table.find(mq);
      if (it == table.end() || it->second.client_id == client_id ||
          now - it->second.last_update_ms > max_live_ms_) {
        table[mq] = Entry{client_id, now};
        ok.push_back(mq);
      }
    }
    return ok;
  }
  void Unlock(const std::string& group, const std::string& client_id, const std::vector<Mq>& mqs) {
    std::lock_guard<std::mutex> l(mu_);
    auto g = groups_.find(group);
    if (g == groups_.end()) return;
    for (const auto& mq : mqs) {
      auto it = g->second.find(mq);
      if (it != g->second.end() && it->second.client_id == client_id) g->second.erase(it);
    }
  }

 private:
  struct Entry {
    std::string client_id;
    int64_t last_update_ms;
  };
  int64_t max_live_ms_;
  std::mutex mu_;
  std::map<std::string, std::map<Mq, Entry>> groups_;
};

struct PullHeader {
  std::string group;
  std::string topic;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int32_t max_msg_nums = 32;
  int32_t sys_flag = 0;
  int64_t commit_offset = 0;
  int64_t suspend_timeout_millis = 15000;
  std::string subscription;
  int64_t sub_version = 0;
  std::string expression_type = "TAG";
};

Result<PullHeader> ParsePullHeader(const RemotingCommand& r) {
  PullHeader h;
  RJ_ASSIGN_OR_RETURN(h.group, r.GetGroup("consumerGroup"));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  RJ_ASSIGN_OR_RETURN(h.queue_offset, r.GetInt64("queueOffset"));
  RJ_ASSIGN_OR_RETURN(h.max_msg_nums, r.GetInt32("maxMsgNums"));
  RJ_ASSIGN_OR_RETURN(h.sys_flag, r.GetInt32("sysFlag"));
  h.commit_offset = r.GetInt64Or("commitOffset", 0);
  h.suspend_timeout_millis = r.GetInt64Or("suspendTimeoutMillis", 15000);
  h.subscription = std::string(r.Find("subscription").value_or("*"));
  h.sub_version = r.GetInt64Or("subVersion", 0);
  h.expression_type = std::string(r.Find("expressionType").value_or("TAG"));
  if (h.expression_type.empty()) h.expression_type = "TAG";
  return h;
}

struct HeldPull {
  RequestContextPtr ctx;
  int64_t offset = 0;
  int64_t deadline_ms = 0;
  std::shared_ptr<store::MessageFilter> filter;
};

class Broker : public BrokerController {
 public:
  explicit Broker(BrokerConfig config)
      : config_(std::move(config)),
        live_(std::make_shared<const BrokerConfig>(config_)),
        topics_(config_.store.root_dir + "/config/topics.json"),
        groups_(config_.store.root_dir + "/config/subscriptionGroup.json"),
        offsets_(config_.store.root_dir + "/config/consumerOffset.json"),
        scheduler_("broker-sched") {}

  ~Broker() override { Shutdown(); }

  Status Start() {
    RJ_RETURN_IF_ERROR(CreateDirectories(config_.store.root_dir + "/config"));
    RJ_RETURN_IF_ERROR(topics_.Load());
    RJ_RETURN_IF_ERROR(groups_.Load());
    RJ_RETURN_IF_ERROR(offsets_.Load());
    // Consume-queue entries of the schedule topic carry the delivery time.
    config_.store.tags_code_override =
        [levels = config_.delay_level_ms](const store::RecordView& r) -> std::optional<int64_t> {
      if (r.topic == kTimerTopic) {
        std::string_view v = store::FindProperty(r.properties, "TIMER_OUT_MS");
        int64_t at = 0;
        std::from_chars(v.data(), v.data() + v.size(), at);
        return at;
      }
      if (r.topic != kScheduleTopic || levels.empty()) return std::nullopt;
      size_t level = static_cast<size_t>(std::clamp<int64_t>(r.queue_id + 1, 1, levels.size()));
      return r.store_timestamp + levels[level - 1];
    };
    auto store = store::MessageStore::Open(config_.store);
    if (!store.ok()) return store.status();
    store_ = std::move(store).value();
    RJ_RETURN_IF_ERROR(AddSystemTopics());
    schedule_ = std::make_unique<ScheduleService>(
        store_.get(), config_.store.root_dir + "/config/delayOffset.json", config_.delay_level_ms);
    RJ_RETURN_IF_ERROR(schedule_->Load());
    TransactionConfig tc;
    tc.check_interval_ms = std::max<int64_t>(100, config_.transaction_check_interval);
    tc.timeout_ms = config_.transaction_time_out;
    tc.check_max = config_.transaction_check_max;
    transactions_ = std::make_unique<TransactionService>(
        store_.get(), &offsets_, tc, config_.store.store_host,
        [this](const std::string& group, RemotingCommand cmd) {
          return SendToProducer(group, std::move(cmd));
        },
        [this](std::string* topic, int32_t* qid, std::string* props) {
          ApplyDelay(topic, qid, props);
        });
    RJ_RETURN_IF_ERROR(transactions_->Load());
    timers_ = std::make_unique<TimerService>(
        store_.get(), config_.store.root_dir + "/config/timerProgress.json",
        config_.store.store_host);
    RJ_RETURN_IF_ERROR(timers_->Load());
    store_->SetArrivalListener([this](std::string_view topic, int32_t qid, QueueOffset off,
                                      int64_t tags_code, int64_t) {
      OnArrival(topic, qid, off.value(), tags_code);
    });

    // Also runs END_TRANSACTION and CONSUMER_SEND_MSG_BACK.
    send_pool_ = Pool("send", config_.send_message_thread_pool_nums,
                      config_.send_thread_pool_queue_capacity);
    pull_pool_ = Pool("pull", config_.pull_message_thread_pool_nums,
                      config_.pull_thread_pool_queue_capacity);
    query_pool_ = Pool("query", config_.query_message_thread_pool_nums,
                       config_.query_thread_pool_queue_capacity);
    admin_pool_ = Pool("admin", config_.admin_broker_thread_pool_nums, 10000);
    client_pool_ = Pool("client", config_.client_manage_thread_pool_nums,
                        config_.client_manager_thread_pool_queue_capacity);
    consumer_pool_ = Pool("consumer", config_.consumer_manage_thread_pool_nums,
                          config_.consumer_manager_thread_pool_queue_capacity);
    register_pool_ = std::make_unique<remoting::ThreadPool>("ns-register", 1, 2);

    remoting::EndpointOptions so;
    config_.limits.ApplyTo(&so);
    so.name = "broker";
    so.io_threads = std::max(1, config_.server_worker_threads);
    so.max_frame_bytes = static_cast<size_t>(config_.max_frame_bytes);
    so.version = protocol::kVersionV4_9_8;
    server_ = std::make_unique<remoting::RemotingServer>(so);
    reply_ = std::make_unique<ReplyProcessor>(store_.get(), &topics_, &producers_, server_.get(),
                                              [this] { return Live(); });
    AdminStatsDeps deps;
    deps.config = &config_;
    deps.store = store_.get();
    deps.topics = &topics_;
    deps.groups = &groups_;
    deps.offsets = &offsets_;
    deps.consumers = &consumers_;
    deps.stats = &stats_;
    deps.server = server_.get();
    deps.add_runtime_info = [this](std::map<std::string, std::string>* t) { AddRuntimeInfo(t); };
    admin_stats_ = std::make_unique<AdminStatsProcessor>(std::move(deps));
    RegisterProcessors();
    server_->AddCloseListener([this](const remoting::ConnectionPtr& c) { OnConnectionClosed(c); });
    std::vector<remoting::ListenAddress> listeners = {
        {config_.listen_address, config_.listen_port}};
    if (config_.vip_channel_enable) {
      listeners.push_back({config_.listen_address, config_.listen_port - 2});
    }
    RJ_RETURN_IF_ERROR(server_->Start(listeners));

    remoting::EndpointOptions co;
    co.name = "broker-out";
    co.version = protocol::kVersionV4_9_8;
    client_ = std::make_unique<remoting::RemotingClient>(co, 3000);

    started_ = true;
    schedule_->Start();
    transactions_->Start();
    timers_->Start();
    RegisterToNameServers();
    scheduler_.RunEvery(config_.register_name_server_period, config_.register_name_server_period,
                        [this] { TriggerRegister(); });
    scheduler_.RunEvery(config_.flush_consumer_offset_interval,
                        config_.flush_consumer_offset_interval, [this] { PersistOffsets(); });
    scheduler_.RunEvery(10000, 10000, [this] { ScanExpiredChannels(); });
    scheduler_.RunEvery(1000, 1000, [this] { stats_.Sample(); });
    scheduler_.RunEvery(config_.flush_delay_offset_interval, config_.flush_delay_offset_interval,
                        [this] {
                          Status s = schedule_->Persist();
                          if (!s.ok()) {
                            RJ_LOG(kError, "broker", "persisting delay offsets: %s",
                                   s.ToString().c_str());
                          }
                        });
    scheduler_.RunEvery(1000, config_.long_polling_enable ? 1000 : config_.short_polling_time_mills,
                        [this] { ScanHeldPulls(); });
    return Status::OK();
  }

  void Shutdown() override {
    if (!started_) {
      if (store_) store_->Shutdown().IgnoreError();
      store_.reset();
      return;
    }
    started_ = false;
    scheduler_.Stop();
    UnregisterFromNameServers();
    server_->Shutdown();
    client_->Shutdown();
    for (auto* p : {&send_pool_, &pull_pool_, &query_pool_, &admin_pool_, &client_pool_,
                    &consumer_pool_, &register_pool_}) {
      (*p)->Shutdown();
    }
    schedule_->Stop();
    transactions_->Stop();
    timers_->Stop();
    PersistOffsets();
    Status s = store_->Shutdown();
    if (!s.ok()) RJ_LOG(kError, "broker", "store shutdown: %s", s.ToString().c_str());
    RJ_LOG(kInfo, "broker", "broker %s shut down", config_.broker_name.c_str());
  }

  int port() const override { return server_->port(0); }
  const BrokerConfig& config() const override { return config_; }

 private:
  static std::unique_ptr<remoting::ThreadPool> Pool(const char* name, int threads, int cap) {
    return std::make_unique<remoting::ThreadPool>(std::string("b-") + name, std::max(1, threads),
                                                  static_cast<size_t>(std::max(1, cap)));
  }

  Status AddSystemTopics() {
    auto add = [this](const std::string& name, int32_t queues, int32_t perm) -> Status {
      protocol::TopicConfig t;
      t.topic_name = name;
      t.read_queue_nums = t.write_queue_nums = queues;
      t.perm = perm;
      auto r = topics_.AddIfAbsent(t);
      return r.ok() ? Status::OK() : r.status();
    };
    constexpr int32_t kRW = protocol::kPermRead | protocol::kPermWrite;
    RJ_RETURN_IF_ERROR(add(kSelfTestTopic, 1, kRW));
    if (config_.auto_create_topic_enable) {
      RJ_RETURN_IF_ERROR(add(kAutoCreateTopicKey, config_.default_topic_queue_nums,
                             kRW | protocol::kPermInherit));
    } else if (topics_.Find(kAutoCreateTopicKey)) {
      auto r = topics_.Delete(kAutoCreateTopicKey);
      if (!r.ok()) return r.status();
    }
    // Apache's benchmark tools send to BenchmarkTest by default.
    RJ_RETURN_IF_ERROR(add(kBenchmarkTopic, 1024, kRW));
    RJ_RETURN_IF_ERROR(add(config_.broker_cluster_name, 16,
                           protocol::kPermInherit | (config_.cluster_topic_enable ? kRW : 0)));
    RJ_RETURN_IF_ERROR(add(config_.broker_name, 1,
                           protocol::kPermInherit | (config_.broker_topic_enable ? kRW : 0)));
    RJ_RETURN_IF_ERROR(add(kOffsetMovedEvent, 1, kRW));
    RJ_RETURN_IF_ERROR(add(kScheduleTopic, 18, kRW));
    RJ_RETURN_IF_ERROR(add(kTransHalfTopic, 1, kRW));
    RJ_RETURN_IF_ERROR(add(kTransOpHalfTopic, 1, kRW));
    RJ_RETURN_IF_ERROR(add(kTransCheckMaxTimeTopic, 1, kRW));
    RJ_RETURN_IF_ERROR(add(kTimerTopic, 1, kRW));
    RJ_RETURN_IF_ERROR(add(kTimerOpTopic, 1, kRW));
    if (config_.trace_topic_enable) RJ_RETURN_IF_ERROR(add(kTraceTopic, 1, kRW));
    RJ_RETURN_IF_ERROR(add(config_.broker_cluster_name + "_REPLY_TOPIC", 1, kRW));
    return Status::OK();
  }

  void On(int32_t code, void (Broker::*fn)(const RequestContextPtr&), remoting::ThreadPool* pool,
          int only_listener = -1) {
    server_->RegisterProcessor(
        code, [this, fn](const RequestContextPtr& ctx) { (this->*fn)(ctx); }, pool, only_listener);
  }

  void RegisterProcessors() {
    // sendMessageThreadPoolNums=0: sends are stored and answered on the I/O thread that read
    // them (no executor hand-off; the answers of one read round leave in one write).
    remoting::ThreadPool* send_exec =
        config_.send_message_thread_pool_nums > 0 ? send_pool_.get() : nullptr;
    On(req::kSendMessage, &Broker::ProcessSend, send_exec);
    On(req::kSendMessageV2, &Broker::ProcessSend, send_exec);
    On(req::kSendBatchMessage, &Broker::ProcessSend, send_exec);
    On(req::kConsumerSendMsgBack, &Broker::ConsumerSendMsgBack, send_pool_.get());
    for (int32_t code : {req::kSendReplyMessage, req::kSendReplyMessageV2}) {
      server_->RegisterProcessor(
          code, [this](const RequestContextPtr& ctx) { reply_->Process(ctx); }, send_pool_.get());
    }
    On(req::kPullMessage, &Broker::ProcessPullRequest, pull_pool_.get(), 0);
    On(req::kLitePullMessage, &Broker::ProcessPullRequest, pull_pool_.get(), 0);
    On(req::kQueryMessage, &Broker::QueryMessage, query_pool_.get());
    On(req::kViewMessageById, &Broker::ViewMessageById, query_pool_.get());
    On(req::kHeartBeat, &Broker::HeartBeat, client_pool_.get());
    On(req::kUnregisterClient, &Broker::UnregisterClient, client_pool_.get());
    On(req::kGetConsumerListByGroup, &Broker::GetConsumerList, client_pool_.get());
    On(req::kCheckClientConfig, &Broker::CheckClientConfig, client_pool_.get());
    On(req::kLockBatchMq, &Broker::LockBatchMq, client_pool_.get());
    On(req::kEndTransaction, &Broker::EndTransaction, send_pool_.get());
    On(req::kUpdateAndCreateSubscriptionGroup, &Broker::UpdateSubscriptionGroup,
       admin_pool_.get());
    On(req::kDeleteSubscriptionGroup, &Broker::DeleteSubscriptionGroup, admin_pool_.get());
    On(req::kGetProducerConnectionList, &Broker::GetProducerConnectionList,
       admin_pool_.get());
    On(req::kGetConsumerConnectionList, &Broker::GetConsumerConnectionList,
       admin_pool_.get());
    On(req::kInvokeBrokerToResetOffset, &Broker::InvokeBrokerToResetOffset, admin_pool_.get());
    On(req::kUnlockBatchMq, &Broker::UnlockBatchMq, client_pool_.get());
    On(req::kQueryConsumerOffset, &Broker::QueryConsumerOffset, consumer_pool_.get());
    On(req::kUpdateConsumerOffset, &Broker::UpdateConsumerOffset, consumer_pool_.get());
    On(req::kGetMaxOffset, &Broker::GetMaxOffset, admin_pool_.get());
    On(req::kGetMinOffset, &Broker::GetMinOffset, admin_pool_.get());
    On(req::kGetEarliestMsgStoretime, &Broker::GetEarliestMsgStoretime, admin_pool_.get());
    On(req::kSearchOffsetByTimestamp, &Broker::SearchOffsetByTimestamp, admin_pool_.get());
    On(req::kUpdateAndCreateTopic, &Broker::UpdateAndCreateTopic, admin_pool_.get());
    On(req::kDeleteTopicInBroker, &Broker::DeleteTopicInBroker, admin_pool_.get());
    On(req::kGetAllTopicConfig, &Broker::GetAllTopicConfig, admin_pool_.get());
    On(req::kGetBrokerConfig, &Broker::GetBrokerConfig, admin_pool_.get());
    On(req::kUpdateBrokerConfig, &Broker::UpdateBrokerConfig, admin_pool_.get());
    admin_stats_->RegisterOn(server_.get(), admin_pool_.get());
  }

  static void Fail(const RequestContextPtr& ctx, const Status& s) {
    ctx->RespondCode(rc::kSystemError, std::string(s.message()));
  }

  // -------------------------------------------------------------------------------------------
  // Send

  // Creates a read-write group topic (%RETRY% / %DLQ%) with `queues` queues if it is missing,
  // and re-registers with the name servers when it was created.
  static protocol::TopicConfig GroupTopicConfig(const std::string& name, int32_t queues) {
    protocol::TopicConfig t;
    t.topic_name = name;
    t.read_queue_nums = t.write_queue_nums = queues;
    t.perm = protocol::kPermRead | protocol::kPermWrite;
    return t;
  }
  Status EnsureGroupTopic(const std::string& name, int32_t queues) {
    RJ_RETURN_IF_ERROR(ValidateStoreTopicName(name));
    auto added = topics_.AddIfAbsent(GroupTopicConfig(name, queues));
    if (!added.ok()) return added.status();
    if (*added) TriggerRegister();
    return Status::OK();
  }

  // Finds the topic, creating it the way RocketMQ does (TBW102 inheritance, retry topics).
  Result<std::optional<protocol::TopicConfig>> TopicForSend(const SendHeader& h,
                                                             const BrokerConfig& live) {
    if (auto t = topics_.Find(h.topic)) return t;
    bool created = false;
    std::optional<protocol::TopicConfig> t;
    // autoCreateTopicEnable (changeable at runtime) decides whether TBW102 is a template.
    if (live.auto_create_topic_enable || h.default_topic != kAutoCreateTopicKey) {
      RJ_ASSIGN_OR_RETURN(t, topics_.CreateForSend(h.topic, h.default_topic,
                                                   h.default_topic_queue_nums, &created));
    }
    if (!t && h.topic.starts_with(kRetryGroupTopicPrefix)) {
      RJ_RETURN_IF_ERROR(EnsureGroupTopic(h.topic, 1));
      t = topics_.Find(h.topic);
    }
    if (created) TriggerRegister();
    return t;
  }

  // A send refused before it reaches the store. Like RocketMQ's send processor, every send
  // response carries the broker's MSG_REGION and TRACE_ON.
  void RefuseSend(const RequestContextPtr& ctx, int32_t code, std::string remark) {
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), code, std::move(remark));
    auto live = Live();
    resp.Set("MSG_REGION", live->region_id);
    resp.Set("TRACE_ON", std::string(live->trace_on ? "true" : "false"));
    ctx->Respond(std::move(resp));
  }
  void RefuseSend(const RequestContextPtr& ctx, const Status& s) {
    RefuseSend(ctx, rc::kSystemError, std::string(s.message()));
  }

  void ProcessSend(const RequestContextPtr& ctx) {
    const int64_t start_ms = NowMillis();
    const RemotingCommand& r = ctx->request();
    auto header = ParseSendHeader(r);
    if (!header.ok()) return RefuseSend(ctx, header.status());
    SendHeader& h = *header;
    const auto live = Live();  // one snapshot per request
    if ((live->broker_permission & protocol::kPermWrite) == 0) {
      return RefuseSend(ctx, rc::kNoPermission, "the broker[" + config_.broker_name + ", " +
                                                     config_.BrokerAddr() +
                                                     "] sending message is forbidden");
    }
    if (IsSendForbiddenTopic(h.topic)) {
      return RefuseSend(ctx, rc::kNoPermission,
                              "Sending message to topic[" + h.topic + "] is forbidden.");
    }
    auto topic = TopicForSend(h, *live);
    if (!topic.ok()) return RefuseSend(ctx, topic.status());
    if (!*topic) {
      return RefuseSend(ctx, rc::kTopicNotExist, "topic[" + h.topic +
                                                      "] not exist, apply first please!" +
                                                      std::string(protocol::kFaqSuffix));
    }
    int32_t queue_id = h.queue_id;
    if (auto refused = ChooseWriteQueue(h.topic, **topic, &queue_id,
                                        ctx->connection()->remote_address())) {
      return RefuseSend(ctx, refused->code, refused->remark);
    }
    if (store_->IsDiskFull()) {
      return RefuseSend(ctx, rc::kServiceNotAvailable,
                              "service not available now: the disk is full");
    }
    std::string target_topic = h.topic;
    // Retry topic that ran out of retries: dead-letter queue.
    if (h.topic.starts_with(kRetryGroupTopicPrefix)) {
      std::string group = h.topic.substr(strlen(kRetryGroupTopicPrefix));
      auto g = groups_.FindOrCreate(group, live->auto_create_subscription_group);
      if (!g.ok()) return RefuseSend(ctx, g.status());
      if (!*g) {
        return RefuseSend(ctx, rc::kSubscriptionGroupNotExist,
                                "subscription group not exist, " + group);
      }
      int32_t max = (*g)->retry_max_times;
      if (r.version >= 121 && h.max_reconsume_times >= 0) max = h.max_reconsume_times;
      if (h.reconsume_times >= max) {
        target_topic = kDlqGroupTopicPrefix + group;
        if (Status s = EnsureGroupTopic(target_topic, 1); !s.ok()) return RefuseSend(ctx, s);
        queue_id = 0;
        h.properties = EditProperties(h.properties, {"DELAY"}, {});
      }
    }
    const bool prepared = store::FindProperty(h.properties, "TRAN_MSG") == "true";
    if (prepared && live->reject_transaction_message) {
      return RefuseSend(ctx, rc::kNoPermission,
                              "the broker[" + config_.broker_name +
                                  "] sending transaction message is forbidden");
    }
    if (prepared && h.batch) {
      return RefuseSend(ctx, rc::kMessageIllegal, "batch messages cannot be transactional");
    }
    auto born = store::HostAddress::Parse(ctx->connection()->remote_address());
    store::HostAddress born_host = born.ok() ? *born : store::HostAddress::V4(0, 0, 0, 0, 0);
    bool wait_store_ok = store::FindProperty(h.properties, "WAIT") != "false";
    auto shared_topic = std::make_shared<std::string>(target_topic);
    if (h.batch) {
      return SendBatch(ctx, h, shared_topic, queue_id, born_host, wait_store_ok, start_ms);
    }

    // A half message keeps the client's WAIT: RocketMQ 4.9 stores it, and the committed message
    // carries the half message's properties.
    auto props = std::make_shared<std::string>(
        prepared ? EditProperties(h.properties, {}, {{"CLUSTER", config_.broker_cluster_name}})
                 : StoredSendProperties(h.properties, config_.broker_cluster_name));
    const int32_t response_qid = queue_id;
    const int32_t tt = h.sys_flag & store::kTransactionTypeMask;
    if (prepared) {
      // A half message: invisible until END_TRANSACTION commits it.
      TransactionService::ToHalf(shared_topic.get(), &queue_id, props.get(), &h.sys_flag);
    } else if (tt != store::kTransactionPreparedType && tt != store::kTransactionRollbackType) {
      std::optional<int64_t> timer;
      if (config_.timer_wheel_enable) {
        auto t = TimerService::ToTimer(shared_topic.get(), &queue_id, props.get(), NowMillis(),
                                       config_.timer_max_delay_sec * 1000);
        if (!t.ok()) return RefuseSend(ctx, rc::kMessageIllegal, std::string(t.status().message()));
        timer = *t;
      }
      if (!timer) ApplyDelay(shared_topic.get(), &queue_id, props.get());
    }
    store::MessageInput msg;
    msg.topic = *shared_topic;
    msg.queue_id = queue_id;
    msg.flag = h.flag;
    msg.body = r.body;
    msg.properties = *props;
    msg.sys_flag = h.sys_flag & ~(store::kSysFlagBornHostV6 | store::kSysFlagStoreHostV6);
    msg.born_timestamp = h.born_timestamp;
    msg.born_host = born_host;
    msg.reconsume_times = h.reconsume_times;
    store_->PutMessageAsync(msg, wait_store_ok,
                            [this, ctx, props, shared_topic, response_qid,
                             start_ms](Result<store::PutResult> res) {
                              (void)props;  // kept alive until the store is done with the views
                              RespondPut(ctx, res, response_qid, {}, *shared_topic, start_ms);
                            });
  }

  // A DELAY level > 0 reroutes the message to SCHEDULE_TOPIC_XXXX queue level-1, keeping the
  // real destination in REAL_TOPIC / REAL_QID (levels above the maximum are clamped).
  void ApplyDelay(std::string* topic, int32_t* queue_id, std::string* props) {
    std::string_view d = store::FindProperty(*props, "DELAY");
    if (d.empty()) return;
    int level = std::atoi(std::string(d).c_str());
    if (level <= 0) return;
    level = std::min(level, schedule_->max_level());
    *props = EditProperties(*props, {}, {{"REAL_TOPIC", *topic},
                                         {"REAL_QID", std::to_string(*queue_id)},
                                         {"DELAY", std::to_string(level)}});
    *topic = kScheduleTopic;
    *queue_id = level - 1;
  }

  // CONSUMER_SEND_MSG_BACK: a consumer failed a message; store it again into %RETRY%<group>
  // with an escalating delay, or into %DLQ%<group> when it ran out of retries.
  void ConsumerSendMsgBack(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto offset = r.GetInt64("offset");
    auto group = r.GetGroup("group");
    if (!offset.ok()) return Fail(ctx, offset.status());
    if (!group.ok()) return Fail(ctx, group.status());
    int32_t delay_level = r.GetInt32Or("delayLevel", 0);
    auto g = groups_.FindOrCreate(*group, Live()->auto_create_subscription_group);
    if (!g.ok()) return Fail(ctx, g.status());
    if (!*g) {
      return ctx->RespondCode(rc::kSubscriptionGroupNotExist,
                              "subscription group not exist, " + *group);
    }
    if ((Live()->broker_permission & protocol::kPermWrite) == 0) {
      return ctx->RespondCode(rc::kNoPermission, "the broker[" + config_.broker_name +
                                                     "] sending message is forbidden");
    }
    if ((*g)->retry_queue_nums <= 0) return ctx->RespondCode(rc::kSuccess);
    std::string retry_topic = kRetryGroupTopicPrefix + *group;
    if (Status s = EnsureGroupTopic(retry_topic, (*g)->retry_queue_nums); !s.ok()) {
      return Fail(ctx, s);
    }
    auto rec = store_->ReadRecord(PhysicalOffset(*offset));
    if (!rec.ok()) {
      // Apache's remark; the store's reason goes to the log.
      RJ_LOG(kInfo, "broker", "send-back of offset %lld: %s", static_cast<long long>(*offset),
             rec.status().ToString().c_str());
      return ctx->RespondCode(rc::kSystemError,
                              "look message by offset failed, " + std::to_string(*offset));
    }
    const store::RecordView& m = rec->view;
    std::vector<std::pair<std::string, std::string>> add;
    if (store::FindProperty(m.properties, "RETRY_TOPIC").empty()) {
      add.emplace_back("RETRY_TOPIC", std::string(m.topic));
    }
    if (store::FindProperty(m.properties, "ORIGIN_MESSAGE_ID").empty()) {
      std::string origin(r.Find("originMsgId").value_or(""));
      if (origin.empty()) origin = store::CreateOffsetMessageId(m.store_host, m.physical_offset);
      add.emplace_back("ORIGIN_MESSAGE_ID", origin);
    }
    int32_t max = (*g)->retry_max_times;
    if (r.version >= 121) max = r.GetInt32Or("maxReconsumeTimes", max);
    auto target = std::make_shared<std::string>(retry_topic);
    int32_t qid = static_cast<int32_t>(Random() % static_cast<uint32_t>((*g)->retry_queue_nums));
    auto props = std::make_shared<std::string>();
    if (m.reconsume_times >= max || delay_level < 0) {
      *target = kDlqGroupTopicPrefix + *group;
      qid = 0;
      if (Status s = EnsureGroupTopic(*target, 1); !s.ok()) return Fail(ctx, s);
      // As RocketMQ stores it: DELAY 0, WAIT false.
      add.emplace_back("DELAY", "0");
      add.emplace_back("WAIT", "false");
      *props = EditProperties(m.properties, {}, add);
    } else {
      int level = delay_level == 0 ? 3 + m.reconsume_times : delay_level;
      add.emplace_back("DELAY", std::to_string(level));
      add.emplace_back("WAIT", "false");
      *props = EditProperties(m.properties, {}, add);
      ApplyDelay(target.get(), &qid, props.get());
    }
    auto body = std::make_shared<std::string>(m.body);
    store::MessageInput in = RequeueInput(m, *target, qid, *props);
    in.body = *body;  // the record's pin is released before the put completes
    in.reconsume_times = m.reconsume_times + 1;
    store_->PutMessageAsync(in, false,
                            [ctx, target, props, body](Result<store::PutResult> res) {
                              if (res.ok()) return ctx->RespondCode(rc::kSuccess);
                              auto [code, remark] = PutStatusToResponse(res.status());
                              (void)code;
                              ctx->RespondCode(rc::kSystemError, remark);
                            });
  }

  // Batch-level properties go into every message of the batch, except keys the message has
  // itself: the 5.x client gives the batch a UNIQ_KEY of its own, which must not replace each
  // message's (apache/rocketmq #9416).
  static void AppendMissingProperties(
      const std::vector<std::pair<std::string_view, std::string_view>>& batch, std::string* inner) {
    std::vector<std::string_view> own;
    for (const auto& [k, v] : store::ParseProperties(*inner)) own.push_back(k);
    for (const auto& [k, v] : batch) {
      if (std::find(own.begin(), own.end(), k) != own.end()) continue;
      if (!inner->empty() && inner->back() != store::kPropertySeparator) {
        inner->push_back(store::kPropertySeparator);
      }
      inner->append(k).push_back(store::kNameValueSeparator);
      inner->append(v).push_back(store::kPropertySeparator);
    }
  }

  void SendBatch(const RequestContextPtr& ctx, const SendHeader& h,
                 const std::shared_ptr<std::string>& topic, int32_t queue_id,
                 const store::HostAddress& born_host, bool wait_store_ok, int64_t start_ms) {
    const int32_t original_qid = queue_id;
    if (store::FindProperty(h.properties, "DELAY").size() > 0) {
      return RefuseSend(ctx, rc::kMessageIllegal, "batch message does not support delay level");
    }
    const std::string& body = ctx->request().body;
    auto props = std::make_shared<std::vector<std::string>>();
    std::vector<std::pair<size_t, size_t>> bodies;  // offset, length in body
    std::vector<int32_t> flags;
    // Batch-level properties are appended to every message (WAIT dropped, CLUSTER added).
    const std::string batch_props =
        StoredSendProperties(h.properties, config_.broker_cluster_name);
    const auto batch_pairs = store::ParseProperties(batch_props);
    size_t pos = 0;
    while (pos < body.size()) {
      if (body.size() - pos < 20) {
        return RefuseSend(ctx, rc::kMessageIllegal, "batch body truncated at byte " +
                                                         std::to_string(pos));
      }
      int32_t total = static_cast<int32_t>(DecodeBE32(body.data() + pos));
      int32_t flag = static_cast<int32_t>(DecodeBE32(body.data() + pos + 12));
      int32_t body_len = static_cast<int32_t>(DecodeBE32(body.data() + pos + 16));
      if (total < 22 || static_cast<size_t>(total) > body.size() - pos || body_len < 0 ||
          20 + static_cast<int64_t>(body_len) + 2 > total) {
        return RefuseSend(ctx, rc::kMessageIllegal,
                                "batch entry at byte " + std::to_string(pos) + " is malformed");
      }
      size_t p = pos + 20;
      bodies.emplace_back(p, static_cast<size_t>(body_len));
      p += body_len;
      uint16_t plen = DecodeBE16(body.data() + p);
      p += 2;
      if (p + plen > pos + static_cast<size_t>(total)) {
        return RefuseSend(ctx, rc::kMessageIllegal,
                                "batch entry at byte " + std::to_string(pos) + " is malformed");
      }
      std::string inner(body.data() + p, plen);
      AppendMissingProperties(batch_pairs, &inner);
      props->push_back(std::move(inner));
      flags.push_back(flag);
      pos += static_cast<size_t>(total);
    }
    if (bodies.empty()) return RefuseSend(ctx, rc::kMessageIllegal, "empty batch");
    // Timer messages in a batch: all or none, and then the whole batch goes to the timer queue.
    auto batch_topic = topic;
    if (config_.timer_wheel_enable) {
      int timers = 0;
      const int64_t now = NowMillis();
      for (auto& p : *props) {
        std::string t = *topic;
        int32_t q = queue_id;
        auto r = TimerService::ToTimer(&t, &q, &p, now, config_.timer_max_delay_sec * 1000);
        if (!r.ok()) return RefuseSend(ctx, rc::kMessageIllegal, std::string(r.status().message()));
        if (*r) ++timers;
      }
      if (timers > 0 && timers != static_cast<int>(props->size())) {
        return RefuseSend(ctx, rc::kMessageIllegal,
                                "a batch must not mix timer and immediate messages");
      }
      if (timers > 0) {
        batch_topic = std::make_shared<std::string>(kTimerTopic);
        queue_id = 0;
      }
    }
    std::vector<store::MessageInput> msgs(bodies.size());
    std::vector<int32_t> sizes;
    for (size_t i = 0; i < bodies.size(); ++i) {
      auto& m = msgs[i];
      m.topic = *batch_topic;
      m.queue_id = queue_id;
      m.flag = flags[i];
      m.body = std::string_view(body).substr(bodies[i].first, bodies[i].second);
      m.properties = (*props)[i];
      m.sys_flag = h.sys_flag & ~(store::kSysFlagBornHostV6 | store::kSysFlagStoreHostV6);
      m.born_timestamp = h.born_timestamp;
      m.born_host = born_host;
      auto sz = store::RecordSize(m, config_.store.store_host);
      if (!sz.ok()) {
        return RefuseSend(ctx, rc::kMessageIllegal, std::string(sz.status().message()));
      }
      sizes.push_back(static_cast<int32_t>(*sz));
    }
    store_->PutMessagesAsync(msgs, wait_store_ok,
                             [this, ctx, props, topic, batch_topic, response_qid = original_qid,
                              sizes, start_ms](Result<store::PutResult> r) {
                               (void)props;
                               (void)batch_topic;
                               RespondPut(ctx, r, response_qid, sizes, *topic, start_ms);
                             });
  }

  // Answers a send once the store is done with it, and counts it (statsAll, runtime info).
  void RespondPut(const RequestContextPtr& ctx, const Result<store::PutResult>& res,
                  int32_t queue_id, const std::vector<int32_t>& batch_sizes,
                  const std::string& topic, int64_t start_ms) {
    if (!res.ok()) {
      stats_.OnPutFailed();
      auto [code, remark] = PutStatusToResponse(res.status());
      return RefuseSend(ctx, code, std::move(remark));
    }
    // FLUSH_DISK_TIMEOUT is a stored message: clients need msgId/queueId/queueOffset as for
    // SUCCESS (the Java client builds a SendResult from them).
    int32_t code = res->flush_timeout ? rc::kFlushDiskTimeout : rc::kSuccess;
    RemotingCommand resp = RemotingCommand::ResponseTo(
        ctx->request(), code, res->flush_timeout ? "FLUSH_DISK_TIMEOUT" : "");
    std::string id;
    if (batch_sizes.empty()) {
      id = res->msg_id;
    } else {
      int64_t off = res->physical_offset.value();
      for (size_t i = 0; i < batch_sizes.size(); ++i) {
        if (i) id.push_back(',');
        id += store::CreateOffsetMessageId(config_.store.store_host, off);
        off += batch_sizes[i];
      }
    }
    resp.Set("msgId", id);
    resp.Set("queueOffset", res->queue_offset.value());
    resp.Set("queueId", static_cast<int64_t>(queue_id));
    auto live = Live();
    resp.Set("MSG_REGION", live->region_id);
    resp.Set("TRACE_ON", std::string(live->trace_on ? "true" : "false"));
    stats_.OnPut(topic, res->msg_num, static_cast<int64_t>(ctx->request().body.size()),
                 NowMillis() - start_ms);
    ctx->Respond(std::move(resp));
  }

  // -------------------------------------------------------------------------------------------
  // Pull

  void ProcessPullRequest(const RequestContextPtr& ctx) { ProcessPull(ctx, true); }

  void ProcessPull(const RequestContextPtr& ctx, bool allow_suspend) {
    const RemotingCommand& r = ctx->request();
    auto header = ParsePullHeader(r);
    if (!header.ok()) return Fail(ctx, header.status());
    const PullHeader& h = *header;
    const auto live = Live();  // one snapshot per request
    if ((live->broker_permission & protocol::kPermRead) == 0) {
      return ctx->RespondCode(rc::kNoPermission, "the broker[" + config_.broker_name + ", " +
                                                     config_.BrokerAddr() +
                                                     "] pulling message is forbidden");
    }
    auto g = groups_.FindOrCreate(h.group, live->auto_create_subscription_group);
    if (!g.ok()) return Fail(ctx, g.status());
    if (!*g) {
      return ctx->RespondCode(rc::kSubscriptionGroupNotExist,
                              "subscription group [" + h.group + "] does not exist, " +
                                  std::string(protocol::kFaqSuffix));
    }
    if (!(*g)->consume_enable) {
      return ctx->RespondCode(rc::kNoPermission,
                              "subscription group no permission, " + h.group);
    }
    auto tc = topics_.Find(h.topic);
    if (!tc) {
      return ctx->RespondCode(rc::kTopicNotExist, "topic[" + h.topic +
                                                      "] not exist, apply first please! " +
                                                      std::string(protocol::kFaqSuffix));
    }
    if ((tc->perm & protocol::kPermRead) == 0) {
      return ctx->RespondCode(rc::kNoPermission,
                              "the topic[" + h.topic + "] pulling message is forbidden");
    }
    if (h.queue_id < 0 || h.queue_id >= tc->read_queue_nums) {
      return ctx->RespondCode(rc::kSystemError,
                              "queueId[" + std::to_string(h.queue_id) + "] is illegal, topic:[" +
                                  h.topic + "] topicConfig.readQueueNums:[" +
                                  std::to_string(tc->read_queue_nums) + "] consumer:[/" +
                                  ctx->connection()->remote_address() + "]");
    }
    protocol::SubscriptionData sub;
    if (h.sys_flag & kPullFlagSubscription) {
      sub = protocol::SubscriptionData::ForTags(h.topic, h.subscription, h.sub_version);
      sub.expression_type = h.expression_type;
    } else {
      auto info = consumers_.Find(h.group);
      if (!info) {
        return ctx->RespondCode(rc::kSubscriptionNotExist,
                                "the consumer's group info not exist" +
                                    std::string(protocol::kFaqSuffix));
      }
      if (info->message_model == protocol::MessageModel::kBroadcasting &&
          !(*g)->consume_broadcast_enable) {
        return ctx->RespondCode(rc::kNoPermission, "the consumer group[" + h.group +
                                                       "] can not consume by broadcast way");
      }
      auto it = info->subscriptions.find(h.topic);
      if (it == info->subscriptions.end()) {
        return ctx->RespondCode(rc::kSubscriptionNotExist,
                                "the consumer's subscription not exist");
      }
      if (it->second.sub_version < h.sub_version) {
        return ctx->RespondCode(rc::kSubscriptionNotLatest,
                                "the consumer's subscription not latest");
      }
      sub = it->second;
    }
    std::shared_ptr<store::MessageFilter> filter;
    if (sub.expression_type == "TAG") {
      filter = std::make_shared<TagFilter>(sub);
    } else {
      auto f = MakeSqlFilter(sub);
      if (!f.ok()) return ctx->RespondCode(SubscriptionErrorCode(f.status()),
                                           std::string(f.status().message()));
      filter = *f;
    }
    int32_t max_nums = std::clamp(h.max_msg_nums, 1, live->max_transfer_count_on_message);
    const int64_t get_start_ms = NowMillis();
    store::GetResult got = store_->GetMessages(h.topic, h.queue_id, QueueOffset(h.queue_offset),
                                               max_nums, live->max_transfer_bytes_on_message,
                                               filter.get());
    // The topic and queue exist (checked above); a queue nobody wrote to has no files yet.
    // RocketMQ creates it on lookup and reports an empty queue.
    if (got.status == store::GetStatus::kNoMatchedLogicQueue) {
      got.status = store::GetStatus::kNoMessageInQueue;
    }
    RemotingCommand resp;
    int32_t code = rc::kSuccess;
    switch (got.status) {
      case store::GetStatus::kFound: code = rc::kSuccess; break;
      case store::GetStatus::kNoMatchedMessage:
      case store::GetStatus::kMessageWasRemoving: code = rc::kPullRetryImmediately; break;
      case store::GetStatus::kNoMessageInQueue:
      case store::GetStatus::kNoMatchedLogicQueue:
        code = h.queue_offset != 0 ? rc::kPullOffsetMoved : rc::kPullNotFound;
        break;
      case store::GetStatus::kOffsetTooSmall:
      case store::GetStatus::kOffsetOverflowBadly: code = rc::kPullOffsetMoved; break;
      case store::GetStatus::kOffsetOverflowOne:
      case store::GetStatus::kOffsetFoundNull: code = rc::kPullNotFound; break;
    }
    // Offset commit piggy-backed on the first pass of a pull.
    if (allow_suspend && (h.sys_flag & kPullFlagCommitOffset)) {
      offsets_.Commit(h.group, h.topic, h.queue_id, h.commit_offset);
    }
    if (code == rc::kPullNotFound && allow_suspend && (h.sys_flag & kPullFlagSuspend)) {
      int64_t hold = live->long_polling_enable ? h.suspend_timeout_millis
                                                 : live->short_polling_time_mills;
      Hold(ctx, h, filter, NowMillis() + hold);
      return;
    }
    resp = RemotingCommand::ResponseTo(r, code, std::string(store::GetStatusName(got.status)));
    resp.Set("nextBeginOffset", got.next_begin_offset.value());
    resp.Set("minOffset", got.min_offset.value());
    resp.Set("maxOffset", got.max_offset.value());
    resp.Set("suggestWhichBrokerId", int64_t{0});
    if (code == rc::kSuccess) {
      resp.body.reserve(static_cast<size_t>(got.total_bytes));
      for (const auto& m : got.messages) resp.body.append(m.data);
    }
    stats_.OnGet(h.group, h.topic, code == rc::kSuccess ? static_cast<int64_t>(got.messages.size()) : 0,
                 code == rc::kSuccess ? static_cast<int64_t>(resp.body.size()) : 0,
                 NowMillis() - get_start_ms);
    ctx->Respond(std::move(resp));
  }

  static std::string HoldKey(std::string_view topic, int32_t qid) {
    std::string k(topic);
    k.push_back('@');
    k += std::to_string(qid);
    return k;
  }

  // kUnavailable: SQL92 switched off (SYSTEM_ERROR); kInvalidArgument: does not parse.
  Result<std::shared_ptr<store::MessageFilter>> MakeSqlFilter(
      const protocol::SubscriptionData& sub) const {
    if (sub.expression_type != "SQL92") {
      return Status::InvalidArgument("unknown expression type " + sub.expression_type +
                                     " (TAG or SQL92)");
    }
    if (!Live()->enable_property_filter) {
      return Status::Unavailable(
          "The broker does not support consumer to filter message by SQL92 "
          "(enablePropertyFilter=false)");
    }
    auto e = sql92::Compile(sub.sub_string);
    if (!e.ok()) return e.status();
    return std::shared_ptr<store::MessageFilter>(std::make_shared<SqlFilter>(*e));
  }
  static int32_t SubscriptionErrorCode(const Status& s) {
    return s.code() == StatusCode::kUnavailable ? rc::kSystemError : rc::kSubscriptionParseFailed;
  }

  struct LockBody {
    std::string group;
    std::string client_id;
    std::vector<LockManager::Mq> mqs;
  };
  static Result<LockBody> ParseLockBody(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::InvalidArgument("lock body is not a JSON object");
    }
    LockBody b;
    auto str = [&](const char* k) {
      auto it = j.find(k);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    b.group = str("consumerGroup");
    b.client_id = str("clientId");
    if (b.group.empty() || b.client_id.empty()) {
      return Status::InvalidArgument("lock body needs consumerGroup and clientId");
    }
    auto set = j.find("mqSet");
    if (set != j.end() && set->is_array()) {
      for (const auto& m : *set) {
        if (!m.is_object()) return Status::InvalidArgument("mqSet entry is not an object");
        LockManager::Mq mq;
        auto t = m.find("topic");
        auto bn = m.find("brokerName");
        auto q = m.find("queueId");
        if (t == m.end() || !t->is_string() || q == m.end() || !q->is_number_integer()) {
          return Status::InvalidArgument("mqSet entry needs topic and queueId");
        }
        mq.topic = t->get<std::string>();
        mq.broker_name = bn != m.end() && bn->is_string() ? bn->get<std::string>() : "";
        mq.queue_id = static_cast<int32_t>(q->get<int64_t>());
        b.mqs.push_back(std::move(mq));
      }
    }
    return b;
  }

  void LockBatchMq(const RequestContextPtr& ctx) {
    auto b = ParseLockBody(ctx->request().body);
    if (!b.ok()) return Fail(ctx, b.status());
    auto locked = locks_.TryLock(b->group, b->client_id, b->mqs, NowMillis());
    nlohmann::json set = nlohmann::json::array();
    for (const auto& mq : locked) {
      set.push_back({{"brokerName", mq.broker_name}, {"queueId", mq.queue_id}, {"topic", mq.topic}});
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = nlohmann::json{{"lockOKMQSet", set}}.dump();
    ctx->Respond(std::move(resp));
  }

  void UnlockBatchMq(const RequestContextPtr& ctx) {
    auto b = ParseLockBody(ctx->request().body);
    if (!b.ok()) return Fail(ctx, b.status());
    locks_.Unlock(b->group, b->client_id, b->mqs);
    ctx->RespondCode(rc::kSuccess);
  }

  // Sends a request one-way to a live producer of group (CHECK_TRANSACTION_STATE).
  bool SendToProducer(const std::string& group, RemotingCommand cmd) {
    auto channels = producers_.Channels(group);
    std::vector<ClientChannel> live;
    for (auto& c : channels) {
      if (!c.conn->closed()) live.push_back(c);
    }
    if (live.empty()) return false;
    const auto& pick = live[Random() % live.size()];
    return server_->InvokeOneway(pick.conn, std::move(cmd));
  }

  void EndTransaction(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto group = r.GetGroup("producerGroup");
    auto table_offset = r.GetInt64("tranStateTableOffset");
    auto clog_offset = r.GetInt64("commitLogOffset");
    auto type = r.GetInt32("commitOrRollback");
    for (const Status* s : {&group.status(), &table_offset.status(), &clog_offset.status(),
                            &type.status()}) {
      if (!s->ok()) {
        RJ_LOG(kWarn, "broker", "END_TRANSACTION from %s refused: %s",
               ctx->connection()->remote_address().c_str(), std::string(s->message()).c_str());
        return Fail(ctx, *s);
      }
    }
    if (*type == 0) return;  // TRANSACTION_NOT_TYPE: undecided, nothing to answer
    Status s = transactions_->End(*group, *clog_offset, *table_offset, *type);
    if (!s.ok()) {
      RJ_LOG(kWarn, "broker", "END_TRANSACTION %s from %s (group %s, offset %lld) failed: %s",
             *type == store::kTransactionCommitType ? "commit" : "rollback",
             ctx->connection()->remote_address().c_str(), group->c_str(),
             static_cast<long long>(*clog_offset), s.ToString().c_str());
      return ctx->RespondCode(rc::kSystemError, std::string(s.message()));
    }
    ctx->RespondCode(rc::kSuccess);
  }

  // INVOKE_BROKER_TO_RESET_OFFSET: move a group's offsets on a topic to the first message stored
  // at or after `timestamp` (-1 = the end) in every queue; with isForce also forward. The new
  // offsets are committed here and pushed to every live consumer of the group
  // (RESET_CONSUMER_CLIENT_OFFSET), which resumes from them.
  void InvokeBrokerToResetOffset(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto topic = r.GetTopic("topic");
    auto group = r.GetGroup("group");
    auto ts = r.GetInt64("timestamp");
    for (const Status* s : {&topic.status(), &group.status(), &ts.status()}) {
      if (!s->ok()) return Fail(ctx, *s);
    }
    bool force = r.Find("isForce") ? r.GetBool("isForce") : true;
    if (!groups_.Find(*group)) {  // RocketMQ's remark, spelling included
      return ctx->RespondCode(rc::kSystemError, "THe consumer group <" + *group + "> not exist");
    }
    auto tc = topics_.Find(*topic);
    if (!tc) {
      return ctx->RespondCode(rc::kTopicNotExist, "[reset-offset] topic does not exist: " + *topic);
    }
    std::map<int32_t, int64_t> table;
    for (int32_t q = 0; q < tc->write_queue_nums; ++q) {
      int64_t target = *ts < 0 ? store_->GetMaxOffsetInQueue(*topic, q).value()
                               : store_->GetOffsetInQueueByTime(*topic, q, *ts).value();
      int64_t current = offsets_.Query(*group, *topic, q);
      if (force || current < 0 || target < current) {
        table[q] = target;
      } else {
        table[q] = current;
      }
      offsets_.Commit(*group, *topic, q, table[q]);
    }
    // ResetOffsetBody uses fastjson's MessageQueue-object map keys; C++ clients get the list form.
    auto java_body = [&] {
      std::string b = R"({"offsetTable":{)";
      bool first = true;
      for (const auto& [q, off] : table) {
        if (!first) b += ",";
        first = false;
        b += R"({"brokerName":)" + protocol::JsonQuote(config_.broker_name) +
             R"(,"queueId":)" + std::to_string(q) + R"(,"topic":)" + protocol::JsonQuote(*topic) +
             "}:" + std::to_string(off);
      }
      return b + "}}";
    };
    auto cpp_body = [&] {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& [q, off] : table) {
        list.push_back({{"brokerName", config_.broker_name}, {"offset", off}, {"queueId", q},
                        {"topic", *topic}});
      }
      return nlohmann::json{{"offsetTable", list}}.dump();
    };
    int notified = 0;
    if (auto info = consumers_.Find(*group)) {
      for (const auto& ch : info->channels) {
        RemotingCommand n = RemotingCommand::Request(req::kResetConsumerClientOffset);
        n.Set("topic", *topic);
        n.Set("group", *group);
        n.Set("timestamp", *ts);
        n.Set("isForce", std::string(force ? "true" : "false"));
        n.body = ch.language == protocol::LanguageCode::kCpp ? cpp_body() : java_body();
        if (server_->InvokeOneway(ch.conn, std::move(n))) ++notified;
      }
    }
    RJ_LOG(kInfo, "broker", "offsets of group %s on %s reset to time %lld; %d consumers told",
           group->c_str(), topic->c_str(), static_cast<long long>(*ts), notified);
    RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
    resp.body = r.language == protocol::LanguageCode::kCpp ? cpp_body() : java_body();
    ctx->Respond(std::move(resp));
  }

  // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: body = SubscriptionGroupConfig JSON.
  void UpdateSubscriptionGroup(const RequestContextPtr& ctx) {
    auto j = nlohmann::json::parse(ctx->request().body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("groupName") ||
        !j["groupName"].is_string() || j["groupName"].get<std::string>().empty()) {
      return ctx->RespondCode(rc::kSystemError,
                              "the body must be a SubscriptionGroupConfig with a groupName");
    }
    SubscriptionGroupConfig g;
    g.group_name = j["groupName"].get<std::string>();
    auto b = [&](const char* k, bool def) {
      auto it = j.find(k);
      return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
    };
    auto i = [&](const char* k, int64_t def) {
      auto it = j.find(k);
      return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : def;
    };
    g.consume_enable = b("consumeEnable", true);
    g.consume_from_min_enable = b("consumeFromMinEnable", true);
    g.consume_broadcast_enable = b("consumeBroadcastEnable", true);
    g.retry_queue_nums = static_cast<int32_t>(i("retryQueueNums", 1));
    g.retry_max_times = static_cast<int32_t>(i("retryMaxTimes", 16));
    g.broker_id = i("brokerId", 0);
    g.which_broker_when_consume_slowly = i("whichBrokerWhenConsumeSlowly", 1);
    g.notify_consumer_ids_changed_enable = b("notifyConsumerIdsChangedEnable", true);
    if (Status s = ValidateGroupName(g.group_name); !s.ok()) return Fail(ctx, s);
    if (g.retry_queue_nums < 0 || g.retry_queue_nums > kMaxRetryQueueNums) {
      return ctx->RespondCode(rc::kSystemError, "retryQueueNums must be in 0.." +
                                                    std::to_string(kMaxRetryQueueNums));
    }
    if (g.retry_max_times < -1 || g.retry_max_times > kMaxRetryMaxTimes) {
      return ctx->RespondCode(rc::kSystemError, "retryMaxTimes must be in -1.." +
                                                    std::to_string(kMaxRetryMaxTimes));
    }
    if (Status s = groups_.Update(g); !s.ok()) return Fail(ctx, s);
    ctx->RespondCode(rc::kSuccess);
  }

  void DeleteSubscriptionGroup(const RequestContextPtr& ctx) {
    auto group = ctx->request().GetGroup("groupName");
    if (!group.ok()) return Fail(ctx, group.status());
    auto removed = groups_.Delete(*group);
    if (!removed.ok()) return Fail(ctx, removed.status());
    if (ctx->request().GetBool("removeOffset")) offsets_.RemoveGroup(*group);
    ctx->RespondCode(rc::kSuccess);
  }

  // GET_PRODUCER_CONNECTION_LIST: {"connectionSet":[{clientAddr, clientId, language, version}]}.
  // The "connectionSet" of ProducerConnection / ConsumerConnection (Java's Connection).
  static nlohmann::json ConnectionSet(const std::vector<ClientChannel>& channels) {
    nlohmann::json set = nlohmann::json::array();
    for (const auto& c : channels) {
      set.push_back({{"clientAddr", c.conn->remote_address()},
                     {"clientId", c.client_id},
                     {"language", std::string(protocol::LanguageName(c.language))},
                     {"version", c.version}});
    }
    return set;
  }

  void GetProducerConnectionList(const RequestContextPtr& ctx) {
    auto group = ctx->request().GetGroup("producerGroup");
    if (!group.ok()) return Fail(ctx, group.status());
    auto channels = producers_.Channels(*group);
    if (channels.empty()) {
      return ctx->RespondCode(rc::kSystemError, "the producer group not exist");
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = nlohmann::json{{"connectionSet", ConnectionSet(channels)}}.dump();
    ctx->Respond(std::move(resp));
  }

  // GET_CONSUMER_CONNECTION_LIST: the group's live clients, subscriptions and consume settings
  // (ConsumerConnection). A group without live clients answers CONSUMER_NOT_ONLINE (206).
  void GetConsumerConnectionList(const RequestContextPtr& ctx) {
    auto group = ctx->request().GetGroup("consumerGroup");
    if (!group.ok()) return Fail(ctx, group.status());
    auto g = consumers_.Find(*group);
    if (!g || g->channels.empty()) {
      return ctx->RespondCode(rc::kConsumerNotOnline,
                              "the consumer group[" + *group + "] not online");
    }
    nlohmann::json subs = nlohmann::json::object();
    for (const auto& [topic, sd] : g->subscriptions) {
      subs[topic] = {{"classFilterMode", sd.class_filter_mode},
                     {"codeSet", sd.code_set},
                     {"expressionType", sd.expression_type},
                     {"subString", sd.sub_string},
                     {"subVersion", sd.sub_version},
                     {"tagsSet", sd.tags_set},
                     {"topic", sd.topic}};
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = nlohmann::json{
        {"connectionSet", ConnectionSet(g->channels)},
        {"consumeFromWhere", std::string(protocol::ConsumeFromWhereName(g->consume_from_where))},
        {"consumeType", std::string(protocol::ConsumeTypeName(g->consume_type))},
        {"messageModel", std::string(protocol::MessageModelName(g->message_model))},
        {"subscriptionTable", subs}}.dump();
    ctx->Respond(std::move(resp));
  }

  // CHECK_CLIENT_CONFIG: a consumer asks whether its (non-TAG) subscription is acceptable.
  void CheckClientConfig(const RequestContextPtr& ctx) {
    auto j = nlohmann::json::parse(ctx->request().body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return ctx->RespondCode(rc::kSystemError, "CHECK_CLIENT_CONFIG body is not a JSON object");
    }
    auto sd = j.find("subscriptionData");
    if (sd == j.end() || !sd->is_object()) return ctx->RespondCode(rc::kSuccess);
    protocol::SubscriptionData sub;
    sub.expression_type = sd->value("expressionType", std::string("TAG"));
    auto ss = sd->find("subString");
    sub.sub_string = ss != sd->end() && ss->is_string() ? ss->get<std::string>() : "*";
    if (sub.expression_type.empty() || sub.expression_type == "TAG") {
      return ctx->RespondCode(rc::kSuccess);
    }
    auto f = MakeSqlFilter(sub);
    if (!f.ok()) {
      return ctx->RespondCode(SubscriptionErrorCode(f.status()), std::string(f.status().message()));
    }
    ctx->RespondCode(rc::kSuccess);
  }

  void Hold(const RequestContextPtr& ctx, const PullHeader& h,
            std::shared_ptr<store::MessageFilter> filter, int64_t deadline) {
    {
      std::lock_guard<std::mutex> l(hold_mu_);
      held_[HoldKey(h.topic, h.queue_id)].push_back(
          HeldPull{ctx, h.queue_offset, deadline, std::move(filter)});
      held_count_.fetch_add(1);
    }
    // A message may have arrived between the read and the registration.
    if (store_->GetMaxOffsetInQueue(h.topic, h.queue_id).value() > h.queue_offset) {
      WakeHeld(HoldKey(h.topic, h.queue_id), [&](const HeldPull& p) { return p.ctx == ctx; });
    }
  }

  template <typename Pred>
  void WakeHeld(const std::string& key, Pred pred) {
    std::vector<HeldPull> ready;
    {
      std::lock_guard<std::mutex> l(hold_mu_);
      auto it = held_.find(key);
      if (it == held_.end()) return;
      auto& v = it->second;
      for (auto p = v.begin(); p != v.end();) {
        if (pred(*p)) {
          ready.push_back(std::move(*p));
          p = v.erase(p);
        } else {
          ++p;
        }
      }
      if (v.empty()) held_.erase(it);
      held_count_.fetch_sub(static_cast<int64_t>(ready.size()));
    }
    for (auto& p : ready) Reexecute(std::move(p.ctx));
  }

  void Reexecute(RequestContextPtr ctx) {
    if (ctx->connection()->closed()) return;
    bool ok = pull_pool_->TrySubmit([this, ctx] { ProcessPull(ctx, false); });
    if (!ok) ctx->RespondCode(rc::kSystemBusy, "[OVERLOAD]system busy, start flow control for a while");
  }

  void OnArrival(std::string_view topic, int32_t qid, int64_t offset, int64_t tags_code) {
    if (held_count_.load() == 0) return;  // seq_cst: pairs with Hold()'s increment
    WakeHeld(HoldKey(topic, qid), [&](const HeldPull& p) {
      return p.offset <= offset && p.filter->MatchTagsCode(tags_code);
    });
  }

  void ScanHeldPulls() {
    if (held_count_.load() == 0) return;
    std::vector<std::string> keys;
    {
      std::lock_guard<std::mutex> l(hold_mu_);
      for (const auto& [k, v] : held_) keys.push_back(k);
    }
    int64_t now = NowMillis();
    for (const auto& k : keys) {
      size_t at = k.rfind('@');
      std::string topic = k.substr(0, at);
      int32_t qid = std::atoi(k.c_str() + at + 1);
      int64_t max = store_->GetMaxOffsetInQueue(topic, qid).value();
      WakeHeld(k, [&](const HeldPull& p) {
        return p.deadline_ms <= now || p.offset < max || p.ctx->connection()->closed();
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Client management

  // Every name a heartbeat carries is checked before anything is registered or created.
  static Status ValidateHeartbeatNames(const protocol::HeartbeatData& hb) {
    for (const auto& c : hb.consumer_data_set) {
      RJ_RETURN_IF_ERROR(ValidateGroupName(c.group_name));
      for (const auto& sub : c.subscription_data_set) {
        RJ_RETURN_IF_ERROR(ValidateStoreTopicName(sub.topic));
      }
    }
    for (const auto& p : hb.producer_groups) RJ_RETURN_IF_ERROR(ValidateGroupName(p));
    return Status::OK();
  }

  void HeartBeat(const RequestContextPtr& ctx) {
    auto hb = protocol::HeartbeatData::Parse(ctx->request().body);
    if (!hb.ok()) {
      return ctx->RespondCode(rc::kSystemError,
                              "bad heartbeat body: " + std::string(hb.status().message()));
    }
    if (Status s = ValidateHeartbeatNames(*hb); !s.ok()) return Fail(ctx, s);
    ClientChannel ch;
    ch.conn = ctx->connection();
    ch.client_id = hb->client_id;
    ch.language = ctx->request().language;
    ch.version = ctx->request().version;
    ch.last_update_ms = NowMillis();
    std::string sub_errors;
    int32_t sub_error_code = rc::kSuccess;
    for (auto& c : hb->consumer_data_set) {
      c.subscription_data_set = CompiledSubscriptions(c, &sub_errors, &sub_error_code);
    }
    // Groups and their retry topics are created in one write of each file (a heartbeat may
    // carry many groups).
    std::vector<std::string> names;
    for (const auto& c : hb->consumer_data_set) names.push_back(c.group_name);
    auto groups = groups_.FindOrCreateAll(names, Live()->auto_create_subscription_group);
    if (!groups.ok()) return Fail(ctx, groups.status());
    std::vector<protocol::TopicConfig> retry_topics;
    for (const auto& [name, g] : *groups) {
      if (!g) continue;
      std::string retry = kRetryGroupTopicPrefix + name;
      if (!ValidateStoreTopicName(retry).ok()) continue;  // a group too long to have one
      retry_topics.push_back(GroupTopicConfig(retry, std::max(1, g->retry_queue_nums)));
    }
    auto added = topics_.AddAllIfAbsent(retry_topics);
    if (!added.ok()) return Fail(ctx, added.status());
    if (*added > 0) TriggerRegister();
    for (const auto& c : hb->consumer_data_set) {
      const auto& g = (*groups)[c.group_name];
      bool changed = consumers_.Register(c, ch);
      if (changed && (!g || g->notify_consumer_ids_changed_enable)) {
        NotifyConsumerIdsChanged(c.group_name);
      }
    }
    for (const auto& p : hb->producer_groups) producers_.Register(p, ch);
    // The connection may have closed (and its close listener run) while this heartbeat waited
    // in the executor: undo the registration so no dead client id stays in a group.
    if (ch.conn->closed()) OnConnectionClosed(ch.conn);
    if (sub_error_code != rc::kSuccess) return ctx->RespondCode(sub_error_code, sub_errors);
    ctx->RespondCode(rc::kSuccess);
  }

  // Non-TAG subscriptions are compiled here: a bad expression is left out of the registration
  // and reported in the answer; the rest of the heartbeat (other groups, other topics) still
  // registers, and pulls carrying the bad expression get SUBSCRIPTION_PARSE_FAILED too. With
  // enablePropertyFilter=false a SQL92 subscription is registered as Apache RocketMQ does, and
  // each of its pulls is refused with a message that names the key.
  std::vector<protocol::SubscriptionData> CompiledSubscriptions(const protocol::ConsumerData& c,
                                                                std::string* errors,
                                                                int32_t* error_code) const {
    std::vector<protocol::SubscriptionData> good;
    for (const auto& sub : c.subscription_data_set) {
      if (sub.expression_type != "TAG") {
        auto f = MakeSqlFilter(sub);
        if (!f.ok() && f.status().code() != StatusCode::kUnavailable) {
          if (!errors->empty()) *errors += "; ";
          *errors += "consumer group " + c.group_name + ", topic " + sub.topic + ": " +
                     std::string(f.status().message());
          *error_code = SubscriptionErrorCode(f.status());
          continue;
        }
      }
      good.push_back(sub);
    }
    return good;
  }

  void UnregisterClient(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    if (auto p = r.Find("producerGroup"); p && !p->empty()) {
      producers_.Unregister(std::string(*p), ctx->connection()->id());
    }
    if (auto c = r.Find("consumerGroup"); c && !c->empty()) {
      std::string group(*c);
      if (consumers_.Unregister(group, ctx->connection()->id())) {
        auto g = groups_.Find(group);
        if (!g || g->notify_consumer_ids_changed_enable) NotifyConsumerIdsChanged(group);
      }
    }
    ctx->RespondCode(rc::kSuccess);
  }

  void GetConsumerList(const RequestContextPtr& ctx) {
    auto group = ctx->request().GetGroup("consumerGroup");
    if (!group.ok()) return Fail(ctx, group.status());
    auto ids = consumers_.ClientIds(*group);
    if (ids.empty()) {
      return ctx->RespondCode(rc::kSystemError, "no consumer for this group, " + *group);
    }
    protocol::ConsumerListBody b;
    b.consumer_id_list = std::move(ids);
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = b.ToJson();
    ctx->Respond(std::move(resp));
  }

  void NotifyConsumerIdsChanged(const std::string& group) {
    for (const auto& conn : consumers_.Connections(group)) {
      RemotingCommand n = RemotingCommand::Request(req::kNotifyConsumerIdsChanged);
      n.Set("consumerGroup", group);
      server_->InvokeOneway(conn, std::move(n));
    }
  }

  void OnConnectionClosed(const remoting::ConnectionPtr& conn) {
    producers_.OnConnectionClosed(conn->id());
    for (const auto& group : consumers_.OnConnectionClosed(conn->id())) {
      RJ_LOG(kInfo, "broker", "consumer %s of group %s disconnected",
             conn->remote_address().c_str(), group.c_str());
      auto g = groups_.Find(group);
      if (!g || g->notify_consumer_ids_changed_enable) NotifyConsumerIdsChanged(group);
    }
  }

  void ScanExpiredChannels() {
    int64_t now = NowMillis();
    std::set<std::string> changed;
    for (auto& [group, conn] : consumers_.ScanExpired(now, Live()->channel_expired_timeout)) {
      RJ_LOG(kWarn, "broker", "consumer channel %s of group %s expired, closing it",
             conn->remote_address().c_str(), group.c_str());
      changed.insert(group);
      conn->Close("channel expired");
    }
    for (auto& [group, conn] : producers_.ScanExpired(now, Live()->channel_expired_timeout)) {
      RJ_LOG(kWarn, "broker", "producer channel %s of group %s expired, closing it",
             conn->remote_address().c_str(), group.c_str());
      conn->Close("channel expired");
    }
    for (const auto& g : changed) NotifyConsumerIdsChanged(g);
  }

  // -------------------------------------------------------------------------------------------
  // Consumer offsets and queue offsets

  void QueryConsumerOffset(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto group = r.GetGroup("consumerGroup");
    auto topic = r.GetTopic("topic");
    auto qid = r.GetInt32("queueId");
    for (const Status* s : {&group.status(), &topic.status(), &qid.status()}) {
      if (!s->ok()) return Fail(ctx, *s);
    }
    int64_t off = offsets_.Query(*group, *topic, *qid);
    if (off < 0) {
      // A young queue that still starts at offset 0 is read from the beginning (as RocketMQ 4.x
      // does), except for groups that start from a timestamp - they must search by time - and
      // for 5.x clients that ask not to (setZeroIfNotFound=false).
      auto info = consumers_.Find(*group);
      bool by_time = info && info->consume_from_where == 5 /* CONSUME_FROM_TIMESTAMP */;
      bool zero_ok = !r.Find("setZeroIfNotFound") || r.GetBool("setZeroIfNotFound");
      if (!by_time && zero_ok && store_->GetMinOffsetInQueue(*topic, *qid).value() <= 0) {
        off = 0;
      } else {
        return ctx->RespondCode(rc::kQueryNotFound,
                                "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
      }
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
    resp.Set("offset", off);
    ctx->Respond(std::move(resp));
  }

  void UpdateConsumerOffset(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto group = r.GetGroup("consumerGroup");
    auto topic = r.GetTopic("topic");
    auto qid = r.GetInt32("queueId");
    auto off = r.GetInt64("commitOffset");
    for (const Status* s : {&group.status(), &topic.status(), &qid.status(), &off.status()}) {
      if (!s->ok()) {
        if (ctx->oneway()) {
          RJ_LOG(kWarn, "broker", "UPDATE_CONSUMER_OFFSET from %s ignored: %s",
                 ctx->connection()->remote_address().c_str(),
                 std::string(s->message()).c_str());
        }
        return Fail(ctx, *s);
      }
    }
    offsets_.Commit(*group, *topic, *qid, *off);
    ctx->RespondCode(rc::kSuccess);
  }

  template <typename F>
  void QueueQuery(const RequestContextPtr& ctx, const char* out_key, F f) {
    const RemotingCommand& r = ctx->request();
    auto topic = r.GetTopic("topic");
    auto qid = r.GetInt32("queueId");
    if (!topic.ok()) return Fail(ctx, topic.status());
    if (!qid.ok()) return Fail(ctx, qid.status());
    auto v = f(*topic, *qid);
    if (!v.ok()) return Fail(ctx, v.status());
    RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
    resp.Set(out_key, *v);
    ctx->Respond(std::move(resp));
  }

  void GetMaxOffset(const RequestContextPtr& ctx) {
    QueueQuery(ctx, "offset", [this](const std::string& t, int32_t q) -> Result<int64_t> {
      return store_->GetMaxOffsetInQueue(t, q).value();
    });
  }
  void GetMinOffset(const RequestContextPtr& ctx) {
    QueueQuery(ctx, "offset", [this](const std::string& t, int32_t q) -> Result<int64_t> {
      return store_->GetMinOffsetInQueue(t, q).value();
    });
  }
  void GetEarliestMsgStoretime(const RequestContextPtr& ctx) {
    QueueQuery(ctx, "timestamp", [this](const std::string& t, int32_t q) -> Result<int64_t> {
      auto r = store_->GetEarliestMessageTime(t, q);
      return r.ok() ? *r : -1;  // an empty or unknown queue, as RocketMQ answers
    });
  }
  void SearchOffsetByTimestamp(const RequestContextPtr& ctx) {
    auto ts = ctx->request().GetInt64("timestamp");
    if (!ts.ok()) return Fail(ctx, ts.status());
    QueueQuery(ctx, "offset", [this, t0 = *ts](const std::string& t, int32_t q) -> Result<int64_t> {
      return store_->GetOffsetInQueueByTime(t, q, t0).value();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Query / view

  void QueryMessage(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto topic = r.GetTopic("topic");
    auto key = r.GetString("key");
    if (!topic.ok()) return Fail(ctx, topic.status());
    if (!key.ok()) return Fail(ctx, key.status());
    int max_num = std::clamp(r.GetInt32Or("maxNum", 32), 1, 64);
    if (r.GetBool("_UNIQUE_KEY_QUERY")) max_num = 32;
    int64_t begin = r.GetInt64Or("beginTimestamp", 0);
    int64_t end = r.GetInt64Or("endTimestamp", INT64_MAX);
    auto found = store_->QueryMessages(*topic, *key, max_num, begin, end);
    if (!found.ok()) return Fail(ctx, found.status());
    if (found->empty()) {
      RemotingCommand resp = RemotingCommand::ResponseTo(
          r, rc::kQueryNotFound, "can not find message, maybe time range not correct");
      resp.Set("indexLastUpdateTimestamp", int64_t{0});  // as RocketMQ answers a miss
      resp.Set("indexLastUpdatePhyoffset", int64_t{0});
      return ctx->Respond(std::move(resp));
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
    for (const auto& m : *found) resp.body.append(m.data);
    auto stats = store_->Stats();
    resp.Set("indexLastUpdateTimestamp", NowMillis());
    resp.Set("indexLastUpdatePhyoffset", stats.dispatched.value());
    ctx->Respond(std::move(resp));
  }

  void ViewMessageById(const RequestContextPtr& ctx) {
    auto off = ctx->request().GetInt64("offset");
    if (!off.ok()) return Fail(ctx, off.status());
    auto rec = store_->ReadRecord(PhysicalOffset(*off));
    if (!rec.ok()) {
      RJ_LOG(kInfo, "broker", "view of offset %lld: %s", static_cast<long long>(*off),
             rec.status().ToString().c_str());
      return ctx->RespondCode(rc::kSystemError,
                              "can not find message by the offset, " + std::to_string(*off));
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body.assign(rec->data);
    ctx->Respond(std::move(resp));
  }

  // -------------------------------------------------------------------------------------------
  // Admin

  // Topics the broker owns are neither reconfigured nor deleted by clients (answered here).
  bool RefusedAsSystemTopic(const RequestContextPtr& ctx, const std::string& topic) {
    if (!IsSystemTopic(topic, config_.broker_cluster_name, config_.broker_name)) return false;
    ctx->RespondCode(rc::kSystemError, "The topic[" + topic + "] is conflict with system topic.");
    return true;
  }

  void UpdateAndCreateTopic(const RequestContextPtr& ctx) {
    const RemotingCommand& r = ctx->request();
    auto topic = r.GetTopic("topic");
    if (!topic.ok()) return Fail(ctx, topic.status());
    if (RefusedAsSystemTopic(ctx, *topic)) return;
    protocol::TopicConfig t;
    t.topic_name = *topic;
    t.read_queue_nums = r.GetInt32Or("readQueueNums", 16);
    t.write_queue_nums = r.GetInt32Or("writeQueueNums", 16);
    t.perm = r.GetInt32Or("perm", 6);
    t.topic_filter_type = std::string(r.Find("topicFilterType").value_or("SINGLE_TAG"));
    t.topic_sys_flag = r.GetInt32Or("topicSysFlag", 0);
    t.order = r.GetBool("order");
    if (t.read_queue_nums <= 0 || t.write_queue_nums <= 0 || t.read_queue_nums > 1024 ||
        t.write_queue_nums > 1024) {
      return ctx->RespondCode(rc::kSystemError, "queue numbers must be in 1..1024");
    }
    auto changed = topics_.Update(t);
    if (!changed.ok()) return Fail(ctx, changed.status());
    RJ_LOG(kInfo, "broker", "topic %s created/updated by %s: %d/%d queues perm %d", topic->c_str(),
           ctx->connection()->remote_address().c_str(), t.read_queue_nums, t.write_queue_nums,
           t.perm);
    TriggerRegister();
    ctx->RespondCode(rc::kSuccess);
  }

  void DeleteTopicInBroker(const RequestContextPtr& ctx) {
    auto topic = ctx->request().GetTopic("topic");
    if (!topic.ok()) return Fail(ctx, topic.status());
    if (RefusedAsSystemTopic(ctx, *topic)) return;
    auto removed = topics_.Delete(*topic);
    if (!removed.ok()) return Fail(ctx, removed.status());
    offsets_.RemoveTopic(*topic);
    Status s = store_->DeleteTopic(*topic);
    if (!s.ok()) return Fail(ctx, s);
    TriggerRegister();
    ctx->RespondCode(rc::kSuccess);
  }

  void GetAllTopicConfig(const RequestContextPtr& ctx) {
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = topics_.Snapshot().ToJson();
    ctx->Respond(std::move(resp));
  }

  // The configuration as updated at runtime: keys with KeyUpdatePolicy::kRuntime are read from
  // here per request; config_ keeps what the broker started with.
  std::shared_ptr<const BrokerConfig> Live() const { return live_.load(std::memory_order_acquire); }

  // UPDATE_BROKER_CONFIG: the body is properties text. All keys are checked first (unknown,
  // refused or unparsable → SYSTEM_ERROR, nothing changes); then the file given with -c is
  // rewritten, and only then does the new configuration become live.
  void UpdateBrokerConfig(const RequestContextPtr& ctx) {
    auto pairs = ParseProperties(ctx->request().body);
    if (!pairs.ok() || pairs->empty()) {
      ctx->RespondCode(rc::kSystemError,
                       "updateBrokerConfig: the body must be key=value lines" +
                           (pairs.ok() ? std::string() : ": " + std::string(pairs.status().message())));
      return;
    }
    std::lock_guard<std::mutex> l(update_mu_);
    auto current = Live();
    auto next = std::make_shared<BrokerConfig>(*current);
    ConfigBinder b;
    next->Bind(&b);
    std::vector<std::string> next_start;
    for (const auto& [k, v] : *pairs) {
      KeyUpdatePolicy policy = UpdatePolicyOf(k);
      if (policy == KeyUpdatePolicy::kRefused) {
        ctx->RespondCode(rc::kSystemError, "updateBrokerConfig: " + k +
                                               " cannot be changed remotely; edit the broker's "
                                               "configuration file and restart it");
        return;
      }
      if (!b.Has(k)) {
        ctx->RespondCode(rc::kSystemError, "updateBrokerConfig: unknown key " + EscapeForLog(k));
        return;
      }
      if (Status s = CheckRemoteUpdate(*current, k, v); !s.ok()) {
        ctx->RespondCode(rc::kSystemError, "updateBrokerConfig: " + std::string(s.message()));
        return;
      }
      if (Status s = b.Set(k, v); !s.ok()) {
        ctx->RespondCode(rc::kSystemError, "updateBrokerConfig: " + std::string(s.message()));
        return;
      }
      if (policy == KeyUpdatePolicy::kNextStart) next_start.push_back(k);
    }
    if (Status s = next->Finish(); !s.ok()) {
      ctx->RespondCode(rc::kSystemError, "updateBrokerConfig: " + std::string(s.message()));
      return;
    }
    std::string remark;
    if (!config_.config_file.empty()) {
      auto old = ReadFileToString(config_.config_file);
      Status s = WriteFileAtomic(config_.config_file,
                                 UpdatePropertiesText(old.ok() ? *old : std::string(), *pairs));
      if (!s.ok()) {
        ctx->RespondCode(rc::kSystemError, "updateBrokerConfig: cannot persist to " +
                                               config_.config_file + ": " + s.ToString());
        return;
      }
    } else {
      remark = "not persisted (the broker was started without -c); ";
    }
    const bool perm_changed = next->broker_permission != current->broker_permission;
    const bool auto_create_on = next->auto_create_topic_enable && !current->auto_create_topic_enable;
    live_.store(std::move(next), std::memory_order_release);
    if (auto_create_on) {
      // TBW102 is removed at start when autoCreateTopicEnable is off: bring the template back.
      protocol::TopicConfig t;
      t.topic_name = kAutoCreateTopicKey;
      t.read_queue_nums = t.write_queue_nums = config_.default_topic_queue_nums;
      t.perm = protocol::kPermRead | protocol::kPermWrite | protocol::kPermInherit;
      auto added = topics_.AddIfAbsent(t);
      if (!added.ok()) {
        RJ_LOG(kWarn, "broker", "recreating %s: %s", kAutoCreateTopicKey,
               added.status().ToString().c_str());
      } else if (*added) {
        TriggerRegister();
      }
    }
    std::string keys;
    for (const auto& [k, v] : *pairs) keys += (keys.empty() ? "" : ", ") + k + "=" + v;
    RJ_LOG(kInfo, "broker", "configuration updated by %s: %s", ctx->connection()->remote_address().c_str(),
           keys.c_str());
    if (!next_start.empty()) {
      std::string list;
      for (const auto& k : next_start) list += (list.empty() ? "" : ", ") + k;
      remark += "takes effect at the next start: " + list;
    }
    // The name servers hear about a permission change at once (routes carry it).
    if (perm_changed) {
      if (Status s = topics_.BumpVersion(); !s.ok()) {
        RJ_LOG(kWarn, "broker", "persisting topics after a permission change: %s",
               s.ToString().c_str());
      }
      TriggerRegister();
    }
    ctx->RespondCode(rc::kSuccess, remark);
  }

  void GetBrokerConfig(const RequestContextPtr& ctx) {
    BrokerConfig copy = *Live();
    ConfigBinder b;
    copy.Bind(&b);
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = b.Dump();
    resp.Set("version", topics_.data_version().ToJson());
    ctx->Respond(std::move(resp));
  }

  // The runtime-info keys only the broker knows: executor queues, delay-level progress
  // ("scheduleMessageOffset_<level>" = "delivered,stored" as RocketMQ's ScheduleMessageService
  // reports them) and pending timers.
  void AddRuntimeInfo(std::map<std::string, std::string>* t) {
    (*t)["sendThreadPoolQueueSize"] = std::to_string(send_pool_->QueueSize());
    (*t)["pullThreadPoolQueueSize"] = std::to_string(pull_pool_->QueueSize());
    (*t)["queryThreadPoolQueueSize"] = std::to_string(query_pool_->QueueSize());
    (*t)["EndTransactionQueueSize"] = std::to_string(send_pool_->QueueSize());
    (*t)["sendThreadPoolQueueHeadWaitTimeMills"] = std::to_string(send_pool_->HeadWaitMillis());
    (*t)["pullThreadPoolQueueHeadWaitTimeMills"] = std::to_string(pull_pool_->HeadWaitMillis());
    (*t)["queryThreadPoolQueueHeadWaitTimeMills"] = std::to_string(query_pool_->HeadWaitMillis());
    for (const auto& [level, delivered] : schedule_->Offsets()) {
      const int64_t stored = store_->GetMaxOffsetInQueue(kScheduleTopic, level - 1).value();
      if (stored <= 0) continue;  // levels that never held a message
      (*t)["scheduleMessageOffset_" + std::to_string(level)] =
          std::to_string(delivered) + "," + std::to_string(stored);
    }
    (*t)["timerPendingCount"] = std::to_string(timers_->Pending());
  }

  // -------------------------------------------------------------------------------------------
  // Name server registration

  std::vector<std::string> NameServers() const { return SplitList(config_.namesrv_addr); }

  void TriggerRegister() {
    if (!started_) return;
    register_pool_->TrySubmit([this] { RegisterToNameServers(); });
  }

  void RegisterToNameServers() {
    // One registration at a time, so an older topic snapshot never overtakes a newer one.
    std::lock_guard<std::mutex> l(register_mu_);
    protocol::RegisterBrokerBody body;
    body.topic_config_wrapper = topics_.Snapshot();
    const int32_t perm = Live()->broker_permission;
    if ((perm & (protocol::kPermRead | protocol::kPermWrite)) !=
        (protocol::kPermRead | protocol::kPermWrite)) {
      for (auto& [k, t] : body.topic_config_wrapper.topic_config_table) {
        t.perm &= perm | protocol::kPermInherit;
      }
    }
    std::string json = body.ToJson();
    for (const auto& ns : NameServers()) {
      RemotingCommand cmd = RemotingCommand::Request(req::kRegisterBroker);
      cmd.Set("brokerAddr", config_.BrokerAddr());
      cmd.Set("brokerId", config_.broker_id);
      cmd.Set("brokerName", config_.broker_name);
      cmd.Set("clusterName", config_.broker_cluster_name);
      cmd.Set("haServerAddr", config_.broker_ip2 + ":" + std::to_string(config_.ha_listen_port));
      cmd.Set("compressed", std::string("false"));
      cmd.Set("bodyCrc32", static_cast<int64_t>(Crc32(json) & 0x7FFFFFFF));
      cmd.body = json;
      auto r = client_->InvokeSync(ns, std::move(cmd), config_.register_broker_timeout_mills);
      if (!r.ok()) {
        RJ_LOG(kWarn, "broker", "register to name server %s failed: %s", ns.c_str(),
               r.status().ToString().c_str());
      } else if (r->code != rc::kSuccess) {
        RJ_LOG(kWarn, "broker", "name server %s refused registration: code %d %s", ns.c_str(),
               r->code, r->remark.value_or("").c_str());
      }
    }
  }

  void UnregisterFromNameServers() {
    for (const auto& ns : NameServers()) {
      RemotingCommand cmd = RemotingCommand::Request(req::kUnregisterBroker);
      cmd.Set("brokerAddr", config_.BrokerAddr());
      cmd.Set("brokerId", config_.broker_id);
      cmd.Set("brokerName", config_.broker_name);
      cmd.Set("clusterName", config_.broker_cluster_name);
      auto r = client_->InvokeSync(ns, std::move(cmd), 3000);
      if (!r.ok()) {
        RJ_LOG(kWarn, "broker", "unregister from name server %s failed: %s", ns.c_str(),
               r.status().ToString().c_str());
      }
    }
  }

  void PersistOffsets() {
    Status s = offsets_.Persist();
    if (!s.ok()) RJ_LOG(kError, "broker", "persisting consumer offsets: %s", s.ToString().c_str());
  }

  uint32_t Random() {
    std::lock_guard<std::mutex> l(rng_mu_);
    return rng_();
  }

  BrokerConfig config_;
  std::atomic<std::shared_ptr<const BrokerConfig>> live_;
  std::mutex update_mu_;  // one UPDATE_BROKER_CONFIG at a time
  TopicConfigManager topics_;
  SubscriptionGroupManager groups_;
  ConsumerOffsetManager offsets_;
  ConsumerManager consumers_;
  LockManager locks_{config_.rebalance_lock_max_live_time};
  ProducerManager producers_;
  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<ScheduleService> schedule_;
  std::unique_ptr<TransactionService> transactions_;
  std::unique_ptr<TimerService> timers_;
  std::unique_ptr<ReplyProcessor> reply_;
  std::unique_ptr<remoting::ThreadPool> send_pool_, pull_pool_, query_pool_, admin_pool_,
      client_pool_, consumer_pool_, register_pool_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<remoting::RemotingClient> client_;
  Scheduler scheduler_;
  std::mutex register_mu_;
  std::mutex hold_mu_;
  std::map<std::string, std::vector<HeldPull>> held_;
  std::atomic<int64_t> held_count_{0};
  BrokerStats stats_{config_.broker_cluster_name};
  std::unique_ptr<AdminStatsProcessor> admin_stats_;
  std::mutex rng_mu_;
  std::mt19937 rng_{std::random_device{}()};
  std::atomic<bool> started_{false};
};

}  // namespace

Result<std::unique_ptr<BrokerController>> BrokerController::Start(BrokerConfig config) {
  auto b = std::make_unique<Broker>(std::move(config));
  Status s = b->Start();
  if (!s.ok()) {
    b->Shutdown();
    return s;
  }
  return std::unique_ptr<BrokerController>(std::move(b));
}

}  // namespace ramjet::broker
