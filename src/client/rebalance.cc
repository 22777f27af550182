// PushConsumer: queue allocation (RebalanceImpl) and orderly queue locks.
#include "push_consumer_impl.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

void PushConsumer::Impl::TriggerRebalance() {
  if (!started_) return;
  rebalance_pool_->TrySubmit([this] { RebalanceNow(); });
}

std::vector<std::string> PushConsumer::Impl::ConsumerIds(const protocol::TopicRouteData& route) {
  // Any member of any group knows the consumers (they heartbeat to slaves too): masters first.
  for (bool masters : {true, false}) {
    for (const auto& b : route.broker_datas) {
      for (const auto& [id, addr] : b.broker_addrs) {
        if ((id == 0) != masters) continue;
        RemotingCommand r = RemotingCommand::Request(req::kGetConsumerListByGroup);
        r.Set("consumerGroup", group_);
        auto resp = client_->InvokeSync(addr, r, 3000);
        if (!resp.ok() || resp->code != rc::kSuccess) continue;
        auto body = protocol::ConsumerListBody::Parse(resp->body);
        if (body.ok() && !body->consumer_id_list.empty()) return body->consumer_id_list;
      }
    }
  }
  return {};
}

void PushConsumer::Impl::RebalanceNow() {
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
    const auto ids = ConsumerIds(route);
    if (ids.empty()) continue;  // no broker answered: keep what we have (RocketMQ does)
    topics_done.insert(topic);
    for (const auto& mq : AllocateAveragely(all, ids, client_id_)) wanted.insert(mq);
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

void PushConsumer::Impl::DropQueue(const PqPtr& pq) {
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

Result<int64_t> PushConsumer::Impl::ComputeStartOffset(const MessageQueue& mq,
                                                       const std::string& addr) {
  if (config_.model == MessageModel::kBroadcasting) {
    std::lock_guard<std::mutex> l(mu_);
    auto it =
        local_offsets_.find(mq.topic + "@" + std::to_string(mq.queue_id) + "@" + mq.broker_name);
    if (it != local_offsets_.end()) return it->second;
  } else {
    RemotingCommand q = RemotingCommand::Request(req::kQueryConsumerOffset);
    protocol::QueryConsumerOffsetRequestHeader{group_, mq.topic, mq.queue_id, std::nullopt}.Encode(
        &q);
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

std::set<MessageQueue> PushConsumer::Impl::SendLockRequest(const std::string& addr,
                                                           const std::vector<MessageQueue>& mqs,
                                                           bool lock) {
  protocol::LockBatchRequestBody body;
  body.consumer_group = group_;
  body.client_id = client_id_;
  for (const auto& mq : mqs) body.mq_set.push_back(ToProtocol(mq));
  RemotingCommand r = RemotingCommand::Request(lock ? req::kLockBatchMq : req::kUnlockBatchMq);
  r.body = body.Encode();
  std::set<MessageQueue> out;
  auto resp = client_->InvokeSync(addr, r, 3000);
  if (!lock || !resp.ok() || resp->code != rc::kSuccess) return out;
  auto locked = protocol::LockBatchResponseBody::Decode(resp->body);
  if (!locked.ok()) return out;
  for (const auto& mq : locked->lock_ok_mq_set) out.insert(FromProtocol(mq));
  return out;
}

void PushConsumer::Impl::LockAll() {
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

std::set<MessageQueue> PushConsumer::Impl::Assigned() {
  std::lock_guard<std::mutex> l(mu_);
  std::set<MessageQueue> out;
  for (const auto& [mq, pq] : pqs_) out.insert(mq);
  return out;
}

}  // namespace ramjet::client
