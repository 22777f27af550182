#include "ramjet/client/push_consumer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "client_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"
#include "ramjet/remoting/remoting.h"
#include "running_info.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

namespace {

struct ProcessQueue {
  MessageQueue mq;
  std::string broker_addr;
  std::mutex mu;
  std::map<int64_t, MessageExt> msgs;  // by queue offset, not yet consumed
  int64_t max_offset_seen = -1;
  int64_t cached_bytes = 0;
  int64_t next_pull_offset = 0;
  std::atomic<bool> dropped{false};
  // Orderly.
  std::atomic<bool> locked{false};
  std::atomic<int64_t> last_lock_ms{0};
  bool consuming = false;           // an orderly task is running (guarded by mu)
  std::mutex consume_mu;            // held while an orderly listener runs
  std::map<int64_t, int> attempts;  // orderly: per-offset consume attempts
};
using PqPtr = std::shared_ptr<ProcessQueue>;

struct Sub {
  std::string topic;
  std::string expression;
  std::string type;
  int64_t version = 0;
  std::set<std::string> tags;
  protocol::SubscriptionData data;
};

}  // namespace

class PushConsumer::Impl : public std::enable_shared_from_this<PushConsumer::Impl> {
 public:
  Impl(std::string group, ConsumerConfig config)
      : group_(std::move(group)), config_(std::move(config)), scheduler_("consumer") {
    client_id_ = MakeClientId(config_.client_ip, config_.instance_name);
  }

  Status Subscribe(const std::string& topic, const std::string& expr, const std::string& type) {
    Sub s;
    s.topic = topic;
    s.expression = expr.empty() ? "*" : expr;
    s.type = type;
    s.version = NowMillis();
    if (type == "TAG") {
      s.data = protocol::SubscriptionData::ForTags(topic, s.expression, s.version);
      s.tags = s.data.tags_set;
    } else if (type == "SQL92") {
      s.data.topic = topic;
      s.data.sub_string = s.expression;
      s.data.sub_version = s.version;
      s.data.expression_type = "SQL92";
    } else {
      return Status::InvalidArgument("expression type must be TAG or SQL92");
    }
    std::lock_guard<std::mutex> l(mu_);
    subs_[topic] = s;
    return Status::OK();
  }

  Status Start() {
    if (!listener_ && !orderly_) return Status::InvalidArgument("no message listener registered");
    namesrvs_ = SplitNameServers(config_.namesrv_addr);
    if (namesrvs_.empty()) return Status::InvalidArgument("no name server address (namesrvAddr)");
    if (config_.model == MessageModel::kClustering) {
      std::string retry = "%RETRY%" + group_;
      if (!subs_.count(retry)) RJ_RETURN_IF_ERROR(Subscribe(retry, "*", "TAG"));
    } else {
      LoadLocalOffsets();
    }
    remoting::EndpointOptions o;
    o.name = "consumer";
    o.language = protocol::LanguageCode::kCpp;
    client_ = std::make_unique<remoting::RemotingClient>(o, 3000);
    pull_pool_ = std::make_unique<remoting::ThreadPool>("c-pull", 2, 1000000);
    consume_pool_ = std::make_unique<remoting::ThreadPool>(
        "c-consume", std::max(1, config_.consume_threads), 10000000);
    rebalance_pool_ = std::make_unique<remoting::ThreadPool>("c-rebal", 1, 2);
    auto weak = weak_from_this();
    client_->RegisterProcessor(
        req::kNotifyConsumerIdsChanged,
        [weak](const remoting::RequestContextPtr&) {
          if (auto self = weak.lock()) self->TriggerRebalance();
        },
        nullptr);
    client_->RegisterProcessor(
        req::kResetConsumerClientOffset,
        [weak](const remoting::RequestContextPtr& ctx) {
          if (auto self = weak.lock()) self->OnResetOffset(ctx);
        },
        rebalance_pool_.get());
    client_->RegisterProcessor(
        req::kGetConsumerRunningInfo,
        [weak](const remoting::RequestContextPtr& ctx) {
          if (auto self = weak.lock()) self->OnRunningInfo(ctx);
        },
        nullptr);
    client_->RegisterProcessor(
        req::kConsumeMessageDirectly,
        [weak](const remoting::RequestContextPtr& ctx) {
          if (auto self = weak.lock()) self->OnConsumeDirectly(ctx);
        },
        consume_pool_.get());
    start_ms_ = NowMillis();
    started_ = true;
    RefreshRoutes();
    HeartbeatAll();
    RebalanceNow();
    scheduler_.RunEvery(config_.rebalance_interval_ms, config_.rebalance_interval_ms,
                        [this] { TriggerRebalance(); });
    scheduler_.RunEvery(config_.poll_name_server_interval_ms, config_.poll_name_server_interval_ms,
                        [this] { RefreshRoutes(); });
    scheduler_.RunEvery(config_.heartbeat_interval_ms, config_.heartbeat_interval_ms,
                        [this] { HeartbeatAll(); });
    scheduler_.RunEvery(config_.persist_offset_interval_ms, config_.persist_offset_interval_ms,
                        [this] { PersistOffsets(false); });
    if (orderly_) {
      scheduler_.RunEvery(config_.lock_interval_ms, config_.lock_interval_ms,
                          [this] { LockAll(); });
    }
    return Status::OK();
  }

  void Shutdown() {
    if (!started_.exchange(false)) return;
    scheduler_.Stop();
    rebalance_pool_->Shutdown();
    std::vector<PqPtr> pqs;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& [mq, pq] : pqs_) pqs.push_back(pq);
      pqs_.clear();
    }
    for (auto& pq : pqs) pq->dropped = true;
    pull_pool_->Shutdown();
    consume_pool_->Shutdown();
    PersistOffsets(true);
    if (orderly_) {
      std::map<std::string, std::vector<MessageQueue>> by_broker;
      for (auto& pq : pqs) by_broker[pq->broker_addr].push_back(pq->mq);
      for (auto& [addr, mqs] : by_broker) SendLockRequest(addr, mqs, false);
    }
    UnregisterFromBrokers(*client_, Brokers(), client_id_, "CLIENT_INNER_PRODUCER", group_);
    client_->Shutdown();
  }

  // -------------------------------------------------------------------------------------------
  // Routes, heartbeats

  Result<protocol::TopicRouteData> QueryRoute(const std::string& topic) {
    return client::QueryRoute(*client_, namesrvs_, topic, 3000);
  }

  void RefreshRoutes() {
    std::vector<std::string> topics;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [t, s] : subs_) topics.push_back(t);
    }
    for (const auto& t : topics) {
      auto r = QueryRoute(t);
      if (!r.ok()) continue;
      std::lock_guard<std::mutex> l(mu_);
      routes_[t] = *r;
      for (const auto& b : r->broker_datas) {
        auto m = b.broker_addrs.find(0);
        if (m != b.broker_addrs.end()) {
          master_[b.broker_name] = m->second;
          brokers_.insert(m->second);
        }
      }
    }
  }

  std::vector<std::string> Brokers() {
    std::lock_guard<std::mutex> l(mu_);
    return {brokers_.begin(), brokers_.end()};
  }

  void HeartbeatAll() {
    protocol::HeartbeatData hb;
    hb.client_id = client_id_;
    hb.producer_groups = {"CLIENT_INNER_PRODUCER"};
    protocol::ConsumerData cd;
    cd.group_name = group_;
    cd.consume_type = protocol::ConsumeType::kConsumePassively;
    cd.message_model = config_.model == MessageModel::kClustering
                           ? protocol::MessageModel::kClustering
                           : protocol::MessageModel::kBroadcasting;
    cd.consume_from_where = static_cast<int32_t>(config_.consume_from_where);
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [t, s] : subs_) cd.subscription_data_set.push_back(s.data);
    }
    hb.consumer_data_set.push_back(cd);
    std::string body = hb.ToJson();
    for (const auto& addr : Brokers()) {
      RemotingCommand r = RemotingCommand::Request(req::kHeartBeat);
      r.body = body;
      auto resp = client_->InvokeSync(addr, r, 3000);
      if (!resp.ok() || resp->code != rc::kSuccess) {
        RJ_LOG(kWarn, "client", "consumer heartbeat to %s failed: %s", addr.c_str(),
               resp.ok() ? resp->remark.value_or("").c_str() : resp.status().ToString().c_str());
      }
    }
  }

  // RESET_CONSUMER_CLIENT_OFFSET: the broker already committed the new offsets; drop the
  // affected process queues (and what they cached) so they restart from there at once.
  void OnResetOffset(const remoting::RequestContextPtr& ctx) {
    const auto& r = ctx->request();
    if (std::string(r.Find("group").value_or("")) != group_) return;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    std::set<MessageQueue> targets;
    if (!j.is_discarded() && j.is_object() && j.contains("offsetTable") &&
        j["offsetTable"].is_array()) {
      for (const auto& e : j["offsetTable"]) {
        if (!e.is_object()) continue;
        targets.insert({e.value("topic", std::string()), e.value("brokerName", std::string()),
                        e.value("queueId", 0)});
      }
    } else {
      // fastjson form with object keys: reset every queue of the topic.
      std::string topic(r.Find("topic").value_or(""));
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [mq, pq] : pqs_) {
        if (mq.topic == topic) targets.insert(mq);
      }
    }
    std::vector<PqPtr> dropped;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& mq : targets) {
        auto it = pqs_.find(mq);
        if (it == pqs_.end()) continue;
        it->second->dropped = true;
        dropped.push_back(it->second);
        pqs_.erase(it);
        offsets_.erase(mq);
      }
    }
    RJ_LOG(kInfo, "client", "offsets reset by the broker for %zu queues of group %s",
           dropped.size(), group_.c_str());
    ctx->RespondCode(rc::kSuccess);
    RebalanceNow();
  }

  // -------------------------------------------------------------------------------------------
  // Rebalance

  void TriggerRebalance() {
    if (!started_) return;
    rebalance_pool_->TrySubmit([this] { RebalanceNow(); });
  }

  std::vector<std::string> ConsumerIds(const protocol::TopicRouteData& route) {
    for (const auto& b : route.broker_datas) {
      auto m = b.broker_addrs.find(0);
      if (m == b.broker_addrs.end()) continue;
      RemotingCommand r = RemotingCommand::Request(req::kGetConsumerListByGroup);
      r.Set("consumerGroup", group_);
      auto resp = client_->InvokeSync(m->second, r, 3000);
      if (!resp.ok() || resp->code != rc::kSuccess) continue;
      auto body = protocol::ConsumerListBody::Parse(resp->body);
      if (body.ok()) return body->consumer_id_list;
    }
    return {};
  }

  void RebalanceNow() {
    if (!started_) return;
    std::lock_guard<std::mutex> rl(rebalance_mu_);
    std::map<std::string, protocol::TopicRouteData> routes;
    {
      std::lock_guard<std::mutex> l(mu_);
      routes = routes_;
    }
    std::set<MessageQueue> wanted;
    std::set<std::string> topics_done;
    for (const auto& [topic, route] : routes) {
      std::vector<MessageQueue> all;
      for (const auto& q : route.queue_datas) {
        if ((q.perm & protocol::kPermRead) == 0) continue;
        for (int i = 0; i < q.read_queue_nums; ++i) all.push_back({topic, q.broker_name, i});
      }
      std::sort(all.begin(), all.end());
      if (config_.model == MessageModel::kBroadcasting) {
        wanted.insert(all.begin(), all.end());
        topics_done.insert(topic);
        continue;
      }
      topics_done.insert(topic);
      for (const auto& mq : AllocateAveragely(all, ConsumerIds(route), client_id_)) {
        wanted.insert(mq);
      }
    }
    // Drop queues no longer ours (only for topics whose assignment we could compute).
    std::vector<PqPtr> dropped;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto it = pqs_.begin(); it != pqs_.end();) {
        if (topics_done.count(it->first.topic) && !wanted.count(it->first)) {
          dropped.push_back(it->second);
          it = pqs_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& pq : dropped) DropQueue(pq);
    // Add new ones.
    for (const auto& mq : wanted) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (pqs_.count(mq)) continue;
      }
      std::string addr;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto a = master_.find(mq.broker_name);
        if (a == master_.end()) continue;
        addr = a->second;
      }
      auto pq = std::make_shared<ProcessQueue>();
      pq->mq = mq;
      pq->broker_addr = addr;
      if (orderly_) {
        auto locked = SendLockRequest(addr, {mq}, true);
        if (!locked.count(mq)) continue;  // another consumer still holds it
        pq->locked = true;
        pq->last_lock_ms = NowMillis();
      }
      auto start = ComputeStartOffset(mq, addr);
      if (!start.ok()) {
        RJ_LOG(kWarn, "client", "no start offset for %s: %s", mq.ToString().c_str(),
               start.status().ToString().c_str());
        continue;
      }
      pq->next_pull_offset = *start;
      {
        std::lock_guard<std::mutex> l(mu_);
        pqs_[mq] = pq;
        offsets_[mq] = *start;
      }
      SubmitPull(pq, 0);
    }
  }

  void DropQueue(const PqPtr& pq) {
    pq->dropped = true;
    if (orderly_) {
      // Wait for a running listener of that queue, commit its offset, then give the lock back:
      // the next owner starts exactly where this one stopped.
      std::lock_guard<std::mutex> cl(pq->consume_mu);
      PersistOffset(pq->mq, true);
      SendLockRequest(pq->broker_addr, {pq->mq}, false);
    } else if (config_.model == MessageModel::kClustering) {
      PersistOffset(pq->mq, true);
    }
    std::lock_guard<std::mutex> l(mu_);
    offsets_.erase(pq->mq);
  }

  Result<int64_t> ComputeStartOffset(const MessageQueue& mq, const std::string& addr) {
    if (config_.model == MessageModel::kBroadcasting) {
      std::lock_guard<std::mutex> l(mu_);
      auto it =
          local_offsets_.find(mq.topic + "@" + std::to_string(mq.queue_id) + "@" + mq.broker_name);
      if (it != local_offsets_.end()) return it->second;
    } else {
      RemotingCommand q = RemotingCommand::Request(req::kQueryConsumerOffset);
      protocol::QueryConsumerOffsetRequestHeader{group_, mq.topic, mq.queue_id, std::nullopt}
          .Encode(&q);
      RJ_ASSIGN_OR_RETURN(RemotingCommand r, client_->InvokeSync(addr, q, 3000));
      if (r.code == rc::kSuccess) return r.GetInt64Or("offset", 0);
      if (r.code != rc::kQueryNotFound) {
        return Status::Unavailable("QUERY_CONSUMER_OFFSET answered " + std::to_string(r.code));
      }
    }
    bool retry = mq.topic.starts_with("%RETRY%");
    auto queue_query = [&](int32_t code, int64_t ts) -> Result<int64_t> {
      RemotingCommand q = RemotingCommand::Request(code);
      q.Set("topic", mq.topic);
      q.Set("queueId", static_cast<int64_t>(mq.queue_id));
      if (ts >= 0) q.Set("timestamp", ts);
      RJ_ASSIGN_OR_RETURN(RemotingCommand r, client_->InvokeSync(addr, q, 3000));
      if (r.code != rc::kSuccess) return Status::Unavailable("offset query failed");
      return r.GetInt64Or("offset", 0);
    };
    switch (config_.consume_from_where) {
      case ConsumeFromWhere::kFirstOffset:
        return int64_t{0};
      case ConsumeFromWhere::kTimestamp: {
        if (retry) return queue_query(req::kGetMaxOffset, -1);
        int64_t ts = config_.consume_timestamp_ms > 0 ? config_.consume_timestamp_ms
                                                      : NowMillis() - 30 * 60 * 1000;
        return queue_query(req::kSearchOffsetByTimestamp, ts);
      }
      case ConsumeFromWhere::kLastOffset:
      default:
        if (retry) return int64_t{0};
        return queue_query(req::kGetMaxOffset, -1);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Pull

  void SubmitPull(const PqPtr& pq, int delay_ms) {
    if (!started_ || pq->dropped) return;
    auto self = shared_from_this();
    if (delay_ms > 0) {
      scheduler_.RunAfter(delay_ms, [self, pq] { self->SubmitPull(pq, 0); });
      return;
    }
    pull_pool_->TrySubmit([self, pq] { self->Pull(pq); });
  }

  void Pull(const PqPtr& pq) {
    if (!started_ || pq->dropped) return;
    {
      std::lock_guard<std::mutex> l(pq->mu);
      if (static_cast<int>(pq->msgs.size()) > config_.pull_threshold_for_queue ||
          pq->cached_bytes > config_.pull_threshold_size_for_queue_mb * 1024 * 1024) {
        SubmitPull(pq, 50);  // flow control
        return;
      }
    }
    if (orderly_ && !pq->locked) {
      SubmitPull(pq, 3000);
      return;
    }
    Sub sub;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = subs_.find(pq->mq.topic);
      if (it == subs_.end()) return;
      sub = it->second;
    }
    int64_t commit = -1;
    if (config_.model == MessageModel::kClustering) {
      std::lock_guard<std::mutex> l(mu_);
      auto it = offsets_.find(pq->mq);
      if (it != offsets_.end()) commit = it->second;
    }
    using Pull = protocol::PullMessageRequestHeader;
    Pull h;
    h.consumer_group = group_;
    h.topic = pq->mq.topic;
    h.queue_id = pq->mq.queue_id;
    h.queue_offset = pq->next_pull_offset;
    h.max_msg_nums = config_.pull_batch_size;
    h.sys_flag =
        (commit > 0 ? Pull::kFlagCommitOffset : 0) | Pull::kFlagSuspend | Pull::kFlagSubscription;
    h.commit_offset = std::max<int64_t>(commit, 0);
    h.suspend_timeout_millis = config_.broker_suspend_max_ms;
    h.subscription = sub.expression;
    h.sub_version = sub.version;
    h.expression_type = sub.type;
    RemotingCommand r = RemotingCommand::Request(req::kPullMessage);
    h.Encode(&r);
    auto self = shared_from_this();
    client_->InvokeAsync(pq->broker_addr, std::move(r), config_.broker_suspend_max_ms + 5000,
                         [self, pq, sub](Result<RemotingCommand> resp) {
                           self->OnPulled(pq, sub, std::move(resp));
                         });
  }

  void OnPulled(const PqPtr& pq, const Sub& sub, Result<RemotingCommand> resp) {
    if (!started_ || pq->dropped) return;
    if (!resp.ok()) {
      SubmitPull(pq, 3000);
      return;
    }
    int64_t next = resp->GetInt64Or("nextBeginOffset", pq->next_pull_offset);
    switch (resp->code) {
      case rc::kSuccess: {
        auto msgs = DecodeMessages(resp->body);
        if (!msgs.ok()) {
          RJ_LOG(kError, "client", "undecodable pull result from %s: %s", pq->broker_addr.c_str(),
                 msgs.status().ToString().c_str());
          SubmitPull(pq, 3000);
          return;
        }
        std::vector<MessageExt> keep;
        for (auto& m : *msgs) {
          // The broker filters by tag hash; re-check the tag itself.
          if (!sub.tags.empty() && !sub.tags.count(m.tags())) continue;
          if (m.topic.starts_with("%RETRY%")) {
            std::string origin = m.Property("RETRY_TOPIC");
            if (!origin.empty()) m.topic = origin;
          }
          keep.push_back(std::move(m));
        }
        pq->next_pull_offset = next;
        {
          std::lock_guard<std::mutex> l(pq->mu);
          for (auto& m : keep) {
            pq->max_offset_seen = std::max(pq->max_offset_seen, m.queue_offset);
            pq->cached_bytes += static_cast<int64_t>(m.body.size());
            pq->msgs.emplace(m.queue_offset, m);
          }
          if (keep.empty()) pq->max_offset_seen = std::max(pq->max_offset_seen, next - 1);
        }
        if (keep.empty()) UpdateOffsetFromQueue(pq);
        if (orderly_) {
          SubmitOrderly(pq);
        } else {
          for (auto& m : keep) SubmitConcurrent(pq, std::move(m));
        }
        SubmitPull(pq, 0);
        return;
      }
      case rc::kPullNotFound:
      case rc::kPullRetryImmediately:
        pq->next_pull_offset = next;
        SubmitPull(pq, 0);
        return;
      case rc::kPullOffsetMoved: {
        RJ_LOG(kWarn, "client", "offset of %s moved to %lld", pq->mq.ToString().c_str(),
               static_cast<long long>(next));
        pq->next_pull_offset = next;
        {
          std::lock_guard<std::mutex> l(mu_);
          offsets_[pq->mq] = next;
        }
        PersistOffset(pq->mq, false);
        SubmitPull(pq, 0);
        return;
      }
      default:
        RJ_LOG(kWarn, "client", "pull of %s answered %d: %s", pq->mq.ToString().c_str(), resp->code,
               resp->remark.value_or("").c_str());
        SubmitPull(pq, 3000);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Consume

  // Offset to commit: the smallest unconsumed offset, or one past the highest seen.
  void UpdateOffsetFromQueue(const PqPtr& pq) {
    int64_t off;
    {
      std::lock_guard<std::mutex> l(pq->mu);
      off = pq->msgs.empty() ? pq->max_offset_seen + 1 : pq->msgs.begin()->first;
    }
    if (off < 0) return;
    std::lock_guard<std::mutex> l(mu_);
    auto& cur = offsets_[pq->mq];
    if (off > cur) cur = off;
  }

  void RemoveConsumed(const PqPtr& pq, int64_t offset) {
    {
      std::lock_guard<std::mutex> l(pq->mu);
      auto it = pq->msgs.find(offset);
      if (it != pq->msgs.end()) {
        pq->cached_bytes -= static_cast<int64_t>(it->second.body.size());
        pq->msgs.erase(it);
      }
    }
    if (!pq->dropped) UpdateOffsetFromQueue(pq);
  }

  bool SendBack(const PqPtr& pq, const MessageExt& m, int delay_level) {
    protocol::ConsumerSendMsgBackRequestHeader h;
    h.offset = m.commit_log_offset;
    h.group = group_;
    h.delay_level = delay_level;
    h.origin_msg_id = m.msg_id;
    h.origin_topic = m.topic;
    h.max_reconsume_times = config_.max_reconsume_times;
    RemotingCommand r = RemotingCommand::Request(req::kConsumerSendMsgBack);
    h.Encode(&r);
    auto resp = client_->InvokeSync(pq->broker_addr, r, 5000);
    return resp.ok() && resp->code == rc::kSuccess;
  }

  void SubmitConcurrent(const PqPtr& pq, MessageExt m) {
    auto self = shared_from_this();
    consume_pool_->TrySubmit([self, pq, m = std::move(m)]() mutable {
      if (pq->dropped) return;
      ConsumeStatus st = ConsumeStatus::kReconsumeLater;
      try {
        st = self->listener_(m);
      } catch (const std::exception& e) {
        RJ_LOG(kWarn, "client", "listener threw: %s", e.what());
      }
      if (st == ConsumeStatus::kReconsumeLater &&
          self->config_.model == MessageModel::kClustering) {
        if (!self->SendBack(pq, m, 0)) {
          // Could not hand it to the broker: consume it again locally later.
          self->scheduler_.RunAfter(
              5000, [self, pq, m]() mutable { self->SubmitConcurrent(pq, std::move(m)); });
          return;
        }
      }
      self->RemoveConsumed(pq, m.queue_offset);
    });
  }

  void SubmitOrderly(const PqPtr& pq) {
    {
      std::lock_guard<std::mutex> l(pq->mu);
      if (pq->consuming || pq->msgs.empty()) return;
      pq->consuming = true;
    }
    auto self = shared_from_this();
    consume_pool_->TrySubmit([self, pq] { self->ConsumeOrderly(pq); });
  }

  void ConsumeOrderly(const PqPtr& pq) {
    for (;;) {
      if (pq->dropped || !started_) break;
      if (!pq->locked || NowMillis() - pq->last_lock_ms > 30000) {
        // Lock lost or stale: stop until the lock is renewed.
        std::lock_guard<std::mutex> l(pq->mu);
        pq->consuming = false;
        auto self = shared_from_this();
        scheduler_.RunAfter(1000, [self, pq] { self->SubmitOrderly(pq); });
        return;
      }
      MessageExt m;
      {
        std::lock_guard<std::mutex> l(pq->mu);
        if (pq->msgs.empty()) {
          pq->consuming = false;
          return;
        }
        m = pq->msgs.begin()->second;
      }
      OrderlyStatus st = OrderlyStatus::kSuspendCurrentQueueAMoment;
      {
        std::lock_guard<std::mutex> cl(pq->consume_mu);
        if (pq->dropped) break;
        m.reconsume_times += pq->attempts[m.queue_offset];
        try {
          st = orderly_(m);
        } catch (const std::exception& e) {
          RJ_LOG(kWarn, "client", "orderly listener threw: %s", e.what());
        }
      }
      if (st == OrderlyStatus::kSuccess) {
        pq->attempts.erase(m.queue_offset);
        RemoveConsumed(pq, m.queue_offset);
        continue;
      }
      int n = ++pq->attempts[m.queue_offset];
      if (n >= config_.max_reconsume_times && SendBack(pq, m, -1)) {
        // Out of retries: to the dead-letter queue, and go on with the next message.
        pq->attempts.erase(m.queue_offset);
        RemoveConsumed(pq, m.queue_offset);
        continue;
      }
      std::lock_guard<std::mutex> l(pq->mu);
      pq->consuming = false;
      auto self = shared_from_this();
      scheduler_.RunAfter(config_.suspend_current_queue_ms,
                          [self, pq] { self->SubmitOrderly(pq); });
      return;
    }
    std::lock_guard<std::mutex> l(pq->mu);
    pq->consuming = false;
  }

  // -------------------------------------------------------------------------------------------
  // Locks (orderly)

  std::set<MessageQueue> SendLockRequest(const std::string& addr,
                                         const std::vector<MessageQueue>& mqs, bool lock) {
    nlohmann::json set = nlohmann::json::array();
    for (const auto& mq : mqs) {
      set.push_back(
          {{"brokerName", mq.broker_name}, {"queueId", mq.queue_id}, {"topic", mq.topic}});
    }
    RemotingCommand r = RemotingCommand::Request(lock ? req::kLockBatchMq : req::kUnlockBatchMq);
    r.body =
        nlohmann::json{{"consumerGroup", group_}, {"clientId", client_id_}, {"mqSet", set}}.dump();
    std::set<MessageQueue> out;
    auto resp = client_->InvokeSync(addr, r, 3000);
    if (!lock || !resp.ok() || resp->code != rc::kSuccess) return out;
    auto j = nlohmann::json::parse(resp->body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return out;
    auto ok = j.find("lockOKMQSet");
    if (ok == j.end() || !ok->is_array()) return out;
    for (const auto& m : *ok) {
      if (!m.is_object()) continue;
      MessageQueue mq;
      mq.topic = m.value("topic", std::string());
      mq.broker_name = m.value("brokerName", std::string());
      mq.queue_id = m.value("queueId", 0);
      out.insert(mq);
    }
    return out;
  }

  void LockAll() {
    std::map<std::string, std::vector<PqPtr>> by_broker;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& [mq, pq] : pqs_) by_broker[pq->broker_addr].push_back(pq);
    }
    for (auto& [addr, pqs] : by_broker) {
      std::vector<MessageQueue> mqs;
      for (auto& pq : pqs) mqs.push_back(pq->mq);
      auto locked = SendLockRequest(addr, mqs, true);
      for (auto& pq : pqs) {
        bool ok = locked.count(pq->mq) > 0;
        pq->locked = ok;
        if (ok) pq->last_lock_ms = NowMillis();
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Offsets

  void PersistOffset(const MessageQueue& mq, bool sync) {
    int64_t off;
    std::string addr;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = offsets_.find(mq);
      if (it == offsets_.end()) return;
      off = it->second;
      auto a = master_.find(mq.broker_name);
      if (a == master_.end()) return;
      addr = a->second;
    }
    RemotingCommand u = RemotingCommand::Request(req::kUpdateConsumerOffset);
    protocol::UpdateConsumerOffsetRequestHeader{group_, mq.topic, mq.queue_id, off}.Encode(&u);
    if (sync) {
      (void)client_->InvokeSync(addr, u, 3000);
    } else {
      (void)client_->InvokeOneway(addr, u);
    }
  }

  void PersistOffsets(bool sync) {
    if (config_.model == MessageModel::kBroadcasting) {
      SaveLocalOffsets();
      return;
    }
    std::vector<MessageQueue> mqs;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [mq, off] : offsets_) mqs.push_back(mq);
    }
    for (const auto& mq : mqs) PersistOffset(mq, sync);
  }

  std::string LocalOffsetPath() const {
    return config_.offset_store_dir + "/" + client_id_ + "/" + group_ + "/offsets.json";
  }
  void LoadLocalOffsets() {
    auto text = ReadFileToString(LocalOffsetPath());
    if (!text.ok()) return;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;
    for (auto& [k, v] : j.items()) {
      if (v.is_number_integer()) local_offsets_[k] = v.get<int64_t>();
    }
  }
  void SaveLocalOffsets() {
    nlohmann::json j = nlohmann::json::object();
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [mq, off] : offsets_) {
        std::string key = mq.topic + "@" + std::to_string(mq.queue_id) + "@" + mq.broker_name;
        local_offsets_[key] = off;
      }
      for (const auto& [k, v] : local_offsets_) j[k] = v;
    }
    Status s = WriteFileAtomic(LocalOffsetPath(), j.dump());
    if (!s.ok()) RJ_LOG(kWarn, "client", "saving local offsets: %s", s.ToString().c_str());
  }

  // GET_CONSUMER_RUNNING_INFO: settings, subscriptions and the state of each assigned queue.
  void OnRunningInfo(const remoting::RequestContextPtr& ctx) {
    ConsumerRunningInput in;
    in.properties = {{"PROP_CLIENT_VERSION", "V4_9_8"},
                     {"PROP_CONSUMER_START_TIMESTAMP", std::to_string(start_ms_)},
                     {"PROP_CONSUME_ORDERLY", orderly_ ? "true" : "false"},
                     {"PROP_CONSUME_TYPE", "CONSUME_PASSIVELY"},
                     {"PROP_NAMESERVER_ADDR", config_.namesrv_addr},
                     {"PROP_THREADPOOL_CORE_SIZE", std::to_string(config_.consume_threads)},
                     {"consumerGroup", group_},
                     {"messageModel",
                      config_.model == MessageModel::kClustering ? "CLUSTERING" : "BROADCASTING"},
                     {"pullBatchSize", std::to_string(config_.pull_batch_size)},
                     {"maxReconsumeTimes", std::to_string(config_.max_reconsume_times)}};
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [topic, sub] : subs_) in.subscriptions.push_back(sub.data);
    for (const auto& [mq, pq] : pqs_) {
      QueueRunningInfo q;
      q.mq = mq;
      auto off = offsets_.find(mq);
      q.commit_offset = off == offsets_.end() ? -1 : off->second;
      q.locked = pq->locked;
      q.last_lock_timestamp = pq->last_lock_ms;
      q.dropped = pq->dropped;
      std::lock_guard<std::mutex> pl(pq->mu);
      q.cached_msg_count = static_cast<int64_t>(pq->msgs.size());
      if (!pq->msgs.empty()) {
        q.cached_msg_min_offset = pq->msgs.begin()->first;
        q.cached_msg_max_offset = pq->msgs.rbegin()->first;
      }
      q.cached_bytes = pq->cached_bytes;
      in.queues.push_back(q);
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = ConsumerRunningInfoJson(in);
    ctx->Respond(std::move(resp));
  }

  // CONSUME_MESSAGE_DIRECTLY: the body is one stored record; the listener consumes it once,
  // outside the queues (offsets do not move), and the result goes back to the admin tool.
  void OnConsumeDirectly(const remoting::RequestContextPtr& ctx) {
    auto msgs = DecodeMessages(ctx->request().body);
    if (!msgs.ok() || msgs->empty()) {
      return ctx->RespondCode(rc::kSystemError, "CONSUME_MESSAGE_DIRECTLY: no message in the body");
    }
    const int64_t t0 = NowMillis();
    std::string result = "CR_THROW_EXCEPTION", remark;
    try {
      if (orderly_) {
        result = orderly_(msgs->front()) == OrderlyStatus::kSuccess ? "CR_SUCCESS" : "CR_LATER";
      } else {
        result = listener_(msgs->front()) == ConsumeStatus::kSuccess ? "CR_SUCCESS" : "CR_LATER";
      }
    } catch (const std::exception& e) {
      remark = e.what();
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body =
        ConsumeMessageDirectlyResultJson(orderly_ != nullptr, result, remark, NowMillis() - t0);
    ctx->Respond(std::move(resp));
  }

  std::set<MessageQueue> Assigned() {
    std::lock_guard<std::mutex> l(mu_);
    std::set<MessageQueue> out;
    for (const auto& [mq, pq] : pqs_) out.insert(mq);
    return out;
  }

  std::string group_;
  ConsumerConfig config_;
  std::string client_id_;
  Listener listener_;
  OrderlyListener orderly_;
  std::vector<std::string> namesrvs_;
  std::unique_ptr<remoting::RemotingClient> client_;
  std::unique_ptr<remoting::ThreadPool> pull_pool_, consume_pool_, rebalance_pool_;
  Scheduler scheduler_;
  std::mutex mu_;
  std::mutex rebalance_mu_;
  std::map<std::string, Sub> subs_;
  std::map<std::string, protocol::TopicRouteData> routes_;
  std::map<std::string, std::string> master_;
  std::set<std::string> brokers_;
  std::map<MessageQueue, PqPtr> pqs_;
  std::map<MessageQueue, int64_t> offsets_;
  std::map<std::string, int64_t> local_offsets_;
  std::atomic<bool> started_{false};
  int64_t start_ms_ = 0;
};

PushConsumer::PushConsumer(std::string group, ConsumerConfig config)
    : impl_(std::make_shared<Impl>(std::move(group), std::move(config))) {}
PushConsumer::~PushConsumer() { Shutdown(); }
Status PushConsumer::Subscribe(const std::string& topic, const std::string& expression,
                               const std::string& type) {
  return impl_->Subscribe(topic, expression, type);
}
void PushConsumer::RegisterListener(Listener listener) { impl_->listener_ = std::move(listener); }
void PushConsumer::RegisterOrderlyListener(OrderlyListener listener) {
  impl_->orderly_ = std::move(listener);
}
Status PushConsumer::Start() { return impl_->Start(); }
void PushConsumer::Shutdown() { impl_->Shutdown(); }
std::set<MessageQueue> PushConsumer::Assigned() const { return impl_->Assigned(); }
const std::string& PushConsumer::client_id() const { return impl_->client_id_; }
void PushConsumer::RebalanceNow() { impl_->RebalanceNow(); }

}  // namespace ramjet::client
