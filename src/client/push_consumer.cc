#include "push_consumer_impl.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

Status PushConsumer::Impl::Subscribe(const std::string& topic, const std::string& expr,
                                     const std::string& type) {
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

Status PushConsumer::Impl::Start() {
  if (!listener_ && !orderly_) return Status::InvalidArgument("no message listener registered");
  if (config_.model == MessageModel::kClustering) {
    std::string retry = "%RETRY%" + group_;
    if (!subs_.count(retry)) RJ_RETURN_IF_ERROR(Subscribe(retry, "*", "TAG"));
  } else {
    LoadLocalOffsets();
  }
  RJ_ASSIGN_OR_RETURN(
      instance_,
      detail::ClientInstance::Acquire(
          client_id_, {config_.namesrv_addr, config_.heartbeat_interval_ms,
                       config_.poll_name_server_interval_ms, config_.credentials, config_.tls}));
  client_ = &instance_->remoting();
  pull_pool_ = std::make_unique<remoting::ThreadPool>("c-pull", 2, 1000000);
  consume_pool_ = std::make_unique<remoting::ThreadPool>(
      "c-consume", std::max(1, config_.consume_threads), 10000000);
  rebalance_pool_ = std::make_unique<remoting::ThreadPool>("c-rebal", 1, 2);
  if (Status s = instance_->Register(detail::MemberRole::kConsumer, group_, shared_from_this());
      !s.ok()) {
    rebalance_pool_->Shutdown();
    pull_pool_->Shutdown();
    consume_pool_->Shutdown();
    instance_.reset();
    return s;
  }
  start_ms_ = NowMillis();
  started_ = true;
  RefreshRoutes();
  instance_->HeartbeatAll();
  RebalanceNow();
  scheduler_.RunEvery(config_.rebalance_interval_ms, config_.rebalance_interval_ms,
                      [this] { TriggerRebalance(); });
  scheduler_.RunEvery(config_.persist_offset_interval_ms, config_.persist_offset_interval_ms,
                      [this] { PersistOffsets(false); });
  if (orderly_) {
    scheduler_.RunEvery(config_.lock_interval_ms, config_.lock_interval_ms, [this] { LockAll(); });
  }
  return Status::OK();
}

void PushConsumer::Impl::Shutdown() {
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
  instance_->Unregister(detail::MemberRole::kConsumer, group_);
  instance_.reset();
}

void PushConsumer::Impl::RefreshRoutes() {
  for (const auto& t : TopicsInUse()) (void)instance_->UpdateRoute(t);
}

std::vector<std::string> PushConsumer::Impl::TopicsInUse() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> topics;
  for (const auto& [t, s] : subs_) topics.push_back(t);
  return topics;
}

void PushConsumer::Impl::OnRoute(const std::string& topic, const protocol::TopicRouteData& route) {
  std::lock_guard<std::mutex> l(mu_);
  routes_[topic] = route;
  for (const auto& b : route.broker_datas) {
    members_[b.broker_name] = b.broker_addrs;
    auto m = b.broker_addrs.find(0);
    if (m != b.broker_addrs.end()) {
      master_[b.broker_name] = m->second;
    } else {
      master_.erase(b.broker_name);  // the master is gone: offsets wait, pulls go to a slave
    }
  }
}

void PushConsumer::Impl::FillHeartbeat(protocol::HeartbeatData* hb) {
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
  hb->consumer_data_set.push_back(std::move(cd));
}

void PushConsumer::Impl::OnBrokerRequest(const remoting::RequestContextPtr& ctx) {
  switch (ctx->request().code) {
    case req::kNotifyConsumerIdsChanged:
      return TriggerRebalance();
    case req::kResetConsumerClientOffset:
      return OnResetOffset(ctx);
    case req::kGetConsumerRunningInfo:
      return OnRunningInfo(ctx);
    case req::kConsumeMessageDirectly:
      // The listener runs where the consumer's listeners run.
      if (!consume_pool_->TrySubmit(
              [self = shared_from_this(), ctx] { self->OnConsumeDirectly(ctx); })) {
        ctx->RespondCode(rc::kSystemError, "CONSUME_MESSAGE_DIRECTLY: the consumer is stopping");
      }
      return;
    default:
      return;
  }
}

// RESET_CONSUMER_CLIENT_OFFSET: the broker already committed the new offsets; drop the
// affected process queues (and what they cached) so they restart from there at once.
void PushConsumer::Impl::OnResetOffset(const remoting::RequestContextPtr& ctx) {
  const auto& r = ctx->request();
  if (std::string(r.Find("group").value_or("")) != group_) return;
  auto body = protocol::ResetOffsetBody::Decode(r.body);
  std::set<MessageQueue> targets;
  if (body.ok()) {
    for (const auto& [mq, offset] : body->offset_table) targets.insert(FromProtocol(mq));
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
  RJ_LOG(kInfo, "client", "offsets reset by the broker for %zu queues of group %s", dropped.size(),
         group_.c_str());
  ctx->RespondCode(rc::kSuccess);
  RebalanceNow();
}

// GET_CONSUMER_RUNNING_INFO: settings, subscriptions and the state of each assigned queue.
void PushConsumer::Impl::OnRunningInfo(const remoting::RequestContextPtr& ctx) {
  protocol::ConsumerRunningInfo in;
  in.properties = {
      {"PROP_CLIENT_VERSION", "V4_9_8"},
      {"PROP_CONSUMER_START_TIMESTAMP", std::to_string(start_ms_)},
      {"PROP_CONSUME_ORDERLY", orderly_ ? "true" : "false"},
      {"PROP_CONSUME_TYPE", "CONSUME_PASSIVELY"},
      {"PROP_NAMESERVER_ADDR", config_.namesrv_addr},
      {"PROP_THREADPOOL_CORE_SIZE", std::to_string(config_.consume_threads)},
      {"consumerGroup", group_},
      {"messageModel", config_.model == MessageModel::kClustering ? "CLUSTERING" : "BROADCASTING"},
      {"pullBatchSize", std::to_string(config_.pull_batch_size)},
      {"maxReconsumeTimes", std::to_string(config_.max_reconsume_times)}};
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [topic, sub] : subs_) in.subscriptions.push_back(sub.data);
  for (const auto& [mq, pq] : pqs_) {
    protocol::QueueRunningInfo q;
    q.mq = ToProtocol(mq);
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
  resp.body = in.Encode();
  ctx->Respond(std::move(resp));
}

// CONSUME_MESSAGE_DIRECTLY: the body is one stored record; the listener consumes it once,
// outside the queues (offsets do not move), and the result goes back to the admin tool.
void PushConsumer::Impl::OnConsumeDirectly(const remoting::RequestContextPtr& ctx) {
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
  protocol::ConsumeMessageDirectlyResult out;
  out.order = orderly_ != nullptr;
  out.consume_result = result;
  out.remark = remark;
  out.spent_time_mills = NowMillis() - t0;
  resp.body = out.Encode();
  ctx->Respond(std::move(resp));
}

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
