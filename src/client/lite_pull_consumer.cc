#include "ramjet/client/lite_pull_consumer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "client_instance.h"
#include "client_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

class LitePullConsumer::Impl : public detail::ClientMember,
                               public std::enable_shared_from_this<LitePullConsumer::Impl> {
 public:
  Impl(std::string group, ConsumerConfig config, bool auto_commit)
      : group_(std::move(group)), config_(std::move(config)), auto_commit_(auto_commit) {
    client_id_ = MakeClientId(config_.client_ip, config_.instance_name);
  }

  Status Start() {
    RJ_ASSIGN_OR_RETURN(
        instance_,
        detail::ClientInstance::Acquire(
            client_id_, {config_.namesrv_addr, config_.heartbeat_interval_ms,
                         config_.poll_name_server_interval_ms, config_.credentials, config_.tls}));
    client_ = &instance_->remoting();
    if (Status s = instance_->Register(detail::MemberRole::kConsumer, group_, shared_from_this());
        !s.ok()) {
      instance_.reset();
      return s;
    }
    started_ = true;
    return Status::OK();
  }

  void Shutdown() {
    if (!started_) return;
    started_ = false;
    if (auto_commit_) (void)CommitSync();
    instance_->Unregister(detail::MemberRole::kConsumer, group_);
    instance_.reset();
  }

  // detail::ClientMember: the subscribed topic and the topics of assigned queues.
  std::vector<std::string> TopicsInUse() override {
    std::lock_guard<std::mutex> l(mu_);
    std::set<std::string> topics;
    if (!subscribed_topic_.empty()) topics.insert(subscribed_topic_);
    for (const auto& [q, p] : assigned_) topics.insert(q.topic);
    return {topics.begin(), topics.end()};
  }

  void OnRoute(const std::string&, const protocol::TopicRouteData& route) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& b : route.broker_datas) {
      auto m = b.broker_addrs.find(0);
      if (m != b.broker_addrs.end()) master_[b.broker_name] = m->second;
    }
  }

  // A subscribing consumer is in the heartbeat; one with assigned queues only is not (as Java).
  void FillHeartbeat(protocol::HeartbeatData* hb) override {
    std::lock_guard<std::mutex> l(mu_);
    if (subscribed_topic_.empty()) return;
    protocol::ConsumerData cd;
    cd.group_name = group_;
    cd.consume_type = protocol::ConsumeType::kConsumeActively;
    cd.message_model = protocol::MessageModel::kClustering;
    cd.subscription_data_set.push_back(
        protocol::SubscriptionData::ForTags(subscribed_topic_, expression_, 0));
    hb->consumer_data_set.push_back(std::move(cd));
  }

  void OnBrokerRequest(const remoting::RequestContextPtr& ctx) override {
    const int32_t code = ctx->request().code;
    if (code == req::kNotifyConsumerIdsChanged) {
      last_rebalance_ms_ = 0;  // the next Poll rebalances
      return;
    }
    if (code == req::kGetConsumerRunningInfo || code == req::kConsumeMessageDirectly) {
      ctx->RespondCode(rc::kRequestCodeNotSupported, "request type " + std::to_string(code) +
                                                         " not supported by a lite pull consumer");
    }
  }

  Result<std::vector<MessageQueue>> FetchMessageQueues(const std::string& topic) {
    RJ_ASSIGN_OR_RETURN(auto route, instance_->UpdateRoute(topic));
    OnRoute(topic, route);
    std::vector<MessageQueue> out;
    for (const auto& q : route.queue_datas) {
      if ((q.perm & protocol::kPermRead) == 0) continue;
      for (int i = 0; i < q.read_queue_nums; ++i) out.push_back({topic, q.broker_name, i});
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void Assign(const std::vector<MessageQueue>& queues, const std::string& expr) {
    std::lock_guard<std::mutex> l(mu_);
    subscribed_topic_.clear();
    assigned_.clear();
    for (const auto& q : queues) assigned_[q] = Position{-1, -1};
    expression_ = expr;
  }

  Status Subscribe(const std::string& topic, const std::string& expr) {
    {
      std::lock_guard<std::mutex> l(mu_);
      subscribed_topic_ = topic;
      expression_ = expr;
    }
    Heartbeat();
    return Rebalance();
  }

  // Average allocation among the group's consumers, as the push consumer does.
  Status Rebalance() {
    std::string topic;
    {
      std::lock_guard<std::mutex> l(mu_);
      topic = subscribed_topic_;
    }
    if (topic.empty()) return Status::OK();
    RJ_ASSIGN_OR_RETURN(auto all, FetchMessageQueues(topic));
    std::vector<std::string> cids;
    for (const auto& addr : instance_->Brokers()) {
      RemotingCommand r = RemotingCommand::Request(req::kGetConsumerListByGroup);
      r.Set("consumerGroup", group_);
      auto resp = client_->InvokeSync(addr, r, 3000);
      if (resp.ok() && resp->code == rc::kSuccess) {
        auto body = protocol::ConsumerListBody::Parse(resp->body);
        if (body.ok()) cids = body->consumer_id_list;
        break;
      }
    }
    std::vector<MessageQueue> mine = AllocateAveragely(all, cids, client_id_);
    std::lock_guard<std::mutex> l(mu_);
    std::map<MessageQueue, Position> next;
    for (const auto& q : mine) {
      auto it = assigned_.find(q);
      next[q] = it != assigned_.end() ? it->second : Position{-1, -1};
    }
    assigned_ = std::move(next);
    last_rebalance_ms_ = NowMillis();
    return Status::OK();
  }

  std::vector<MessageQueue> Assignment() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<MessageQueue> out;
    for (const auto& [q, p] : assigned_) out.push_back(q);
    return out;
  }

  void Heartbeat() {
    std::string topic;
    bool known;
    {
      std::lock_guard<std::mutex> l(mu_);
      topic = subscribed_topic_;
      known = !master_.empty();
    }
    if (topic.empty()) return;
    if (!known) (void)FetchMessageQueues(topic);
    instance_->HeartbeatAll();
  }

  std::string AddrOf(const MessageQueue& mq) {
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = master_.find(mq.broker_name);
      if (it != master_.end()) return it->second;
    }
    (void)FetchMessageQueues(mq.topic);
    std::lock_guard<std::mutex> l(mu_);
    auto it = master_.find(mq.broker_name);
    return it == master_.end() ? std::string() : it->second;
  }

  Result<int64_t> QueueQuery(const MessageQueue& mq, int32_t code) {
    RemotingCommand q = RemotingCommand::Request(code);
    q.Set("topic", mq.topic);
    q.Set("queueId", static_cast<int64_t>(mq.queue_id));
    if (code == req::kQueryConsumerOffset) q.Set("consumerGroup", group_);
    RJ_ASSIGN_OR_RETURN(RemotingCommand r, client_->InvokeSync(AddrOf(mq), q, 3000));
    if (code == req::kQueryConsumerOffset && r.code == rc::kQueryNotFound) return int64_t{-1};
    if (r.code != rc::kSuccess) {
      return Status::Unavailable("broker answered " + std::to_string(r.code) + ": " +
                                 r.remark.value_or(""));
    }
    return r.GetInt64Or("offset", 0);
  }

  Status SetPosition(const MessageQueue& mq, int64_t offset) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = assigned_.find(mq);
    if (it == assigned_.end()) {
      return Status::InvalidArgument("the queue is not assigned to this consumer: " +
                                     mq.ToString());
    }
    it->second.next = offset;
    it->second.consumed = offset;
    return Status::OK();
  }
  Status Seek(const MessageQueue& mq, int64_t offset) {
    RJ_ASSIGN_OR_RETURN(int64_t min, QueueQuery(mq, req::kGetMinOffset));
    RJ_ASSIGN_OR_RETURN(int64_t max, QueueQuery(mq, req::kGetMaxOffset));
    if (offset < min || offset > max) {
      return Status::OutOfRange("seek offset " + std::to_string(offset) + " outside [" +
                                std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return SetPosition(mq, offset);
  }
  Status SeekToBegin(const MessageQueue& mq) {
    RJ_ASSIGN_OR_RETURN(int64_t min, QueueQuery(mq, req::kGetMinOffset));
    return SetPosition(mq, min);
  }
  Status SeekToEnd(const MessageQueue& mq) {
    RJ_ASSIGN_OR_RETURN(int64_t max, QueueQuery(mq, req::kGetMaxOffset));
    return SetPosition(mq, max);
  }

  // Where a queue starts: its committed offset, else per consume_from_where.
  Result<int64_t> StartOffset(const MessageQueue& mq) {
    RJ_ASSIGN_OR_RETURN(int64_t committed, QueueQuery(mq, req::kQueryConsumerOffset));
    if (committed >= 0) return committed;
    if (config_.consume_from_where == ConsumeFromWhere::kFirstOffset) {
      return QueueQuery(mq, req::kGetMinOffset);
    }
    return QueueQuery(mq, req::kGetMaxOffset);
  }

  std::vector<MessageExt> Poll(int timeout_ms) {
    std::vector<MessageExt> out;
    auto end = NowMillis() + timeout_ms;
    if (!subscribed_topic_.empty() &&
        NowMillis() - last_rebalance_ms_ > config_.rebalance_interval_ms) {
      (void)Rebalance();
    }
    for (;;) {
      std::vector<std::pair<MessageQueue, int64_t>> todo;
      std::string expr;
      {
        std::lock_guard<std::mutex> l(mu_);
        expr = expression_;
        for (const auto& [q, p] : assigned_) todo.emplace_back(q, p.next);
      }
      for (auto& [mq, next] : todo) {
        if (next < 0) {
          auto s = StartOffset(mq);
          if (!s.ok()) continue;
          next = *s;
          SetPosition(mq, next).IgnoreError();
        }
        protocol::PullMessageRequestHeader h;
        h.consumer_group = group_;
        h.topic = mq.topic;
        h.queue_id = mq.queue_id;
        h.queue_offset = next;
        h.max_msg_nums = config_.pull_batch_size;
        h.sys_flag = protocol::PullMessageRequestHeader::kFlagSubscription;
        h.suspend_timeout_millis = 0;
        h.subscription = expr;
        RemotingCommand r = RemotingCommand::Request(req::kPullMessage);
        h.Encode(&r);
        auto resp = client_->InvokeSync(AddrOf(mq), r, 5000);
        if (!resp.ok()) continue;
        int64_t nb = resp->GetInt64Or("nextBeginOffset", next);
        if (resp->code == rc::kSuccess) {
          auto msgs = DecodeMessages(resp->body);
          if (msgs.ok()) {
            auto sub = protocol::SubscriptionData::ForTags(mq.topic, expr, 0);
            for (auto& m : *msgs) {
              if (!sub.tags_set.empty() && !sub.tags_set.count(m.tags())) continue;
              out.push_back(std::move(m));
            }
          }
        }
        if (resp->code == rc::kSuccess || resp->code == rc::kPullRetryImmediately ||
            resp->code == rc::kPullOffsetMoved || resp->code == rc::kPullNotFound) {
          std::lock_guard<std::mutex> l(mu_);
          auto it = assigned_.find(mq);
          if (it != assigned_.end() && it->second.next == next) {
            it->second.next = nb;
            it->second.consumed = nb;  // handed to the application
          }
        }
      }
      if (!out.empty() || NowMillis() >= end) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (auto_commit_ && !out.empty()) (void)CommitSync();
    return out;
  }

  Status CommitSync() {
    std::vector<std::pair<MessageQueue, int64_t>> todo;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [q, p] : assigned_) {
        if (p.consumed >= 0) todo.emplace_back(q, p.consumed);
      }
    }
    Status last;
    for (const auto& [mq, off] : todo) {
      RemotingCommand u = RemotingCommand::Request(req::kUpdateConsumerOffset);
      protocol::UpdateConsumerOffsetRequestHeader{group_, mq.topic, mq.queue_id, off}.Encode(&u);
      auto r = client_->InvokeSync(AddrOf(mq), u, 3000);
      if (!r.ok()) last = r.status();
    }
    return last;
  }

  struct Position {
    int64_t next;
    int64_t consumed;
  };
  std::string group_;
  ConsumerConfig config_;
  bool auto_commit_;
  std::string client_id_;
  std::shared_ptr<detail::ClientInstance> instance_;
  remoting::RemotingClient* client_ = nullptr;  // the instance's, while started
  std::mutex mu_;
  std::map<std::string, std::string> master_;
  std::map<MessageQueue, Position> assigned_;
  std::string subscribed_topic_;
  std::string expression_ = "*";
  std::atomic<int64_t> last_rebalance_ms_{0};  // 0: rebalance at the next Poll
  bool started_ = false;
};

LitePullConsumer::LitePullConsumer(std::string group, ConsumerConfig config, bool auto_commit)
    : impl_(std::make_shared<Impl>(std::move(group), std::move(config), auto_commit)) {}
LitePullConsumer::~LitePullConsumer() { Shutdown(); }
Status LitePullConsumer::Start() { return impl_->Start(); }
void LitePullConsumer::Shutdown() { impl_->Shutdown(); }
Result<std::vector<MessageQueue>> LitePullConsumer::FetchMessageQueues(const std::string& t) {
  return impl_->FetchMessageQueues(t);
}
void LitePullConsumer::Assign(const std::vector<MessageQueue>& q, const std::string& e) {
  impl_->Assign(q, e);
}
Status LitePullConsumer::Subscribe(const std::string& t, const std::string& e) {
  return impl_->Subscribe(t, e);
}
std::vector<MessageQueue> LitePullConsumer::Assignment() { return impl_->Assignment(); }
Status LitePullConsumer::Seek(const MessageQueue& mq, int64_t o) { return impl_->Seek(mq, o); }
Status LitePullConsumer::SeekToBegin(const MessageQueue& mq) { return impl_->SeekToBegin(mq); }
Status LitePullConsumer::SeekToEnd(const MessageQueue& mq) { return impl_->SeekToEnd(mq); }
Result<int64_t> LitePullConsumer::Committed(const MessageQueue& mq) {
  return impl_->QueueQuery(mq, protocol::request_code::kQueryConsumerOffset);
}
std::vector<MessageExt> LitePullConsumer::Poll(int timeout_ms) { return impl_->Poll(timeout_ms); }
Status LitePullConsumer::CommitSync() { return impl_->CommitSync(); }

}  // namespace ramjet::client
