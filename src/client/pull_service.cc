// PushConsumer: pulls and their results (PullMessageService).
#include "push_consumer_impl.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

void PushConsumer::Impl::SubmitPull(const PqPtr& pq, int delay_ms) {
  if (!started_ || pq->dropped) return;
  auto self = shared_from_this();
  if (delay_ms > 0) {
    scheduler_.RunAfter(delay_ms, [self, pq] { self->SubmitPull(pq, 0); });
    return;
  }
  pull_pool_->TrySubmit([self, pq] { self->Pull(pq); });
}

std::string PushConsumer::Impl::PullAddr(const MessageQueue& mq, bool* from_master) {
  std::lock_guard<std::mutex> l(mu_);
  auto g = members_.find(mq.broker_name);
  if (g == members_.end() || g->second.empty()) return {};
  auto s = suggested_.find(mq);
  const int64_t want = s == suggested_.end() ? 0 : s->second;
  auto a = g->second.find(want);
  if (a == g->second.end()) a = g->second.begin();  // the master (id 0) first, else a slave
  *from_master = a->first == 0;
  return a->second;
}

void PushConsumer::Impl::Pull(const PqPtr& pq) {
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
  bool from_master = false;
  const std::string addr = PullAddr(pq->mq, &from_master);
  if (addr.empty()) {
    SubmitPull(pq, 3000);
    return;
  }
  int64_t commit = -1;
  // Offsets are committed to the master only (a slave copies them from its master).
  if (config_.model == MessageModel::kClustering && from_master) {
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
  client_->InvokeAsync(
      addr, std::move(r), config_.broker_suspend_max_ms + 5000,
      [self, pq, sub](Result<RemotingCommand> resp) { self->OnPulled(pq, sub, std::move(resp)); });
}

void PushConsumer::Impl::OnPulled(const PqPtr& pq, const Sub& sub, Result<RemotingCommand> resp) {
  if (!started_ || pq->dropped) return;
  if (!resp.ok()) {
    SubmitPull(pq, 3000);
    return;
  }
  int64_t next = resp->GetInt64Or("nextBeginOffset", pq->next_pull_offset);
  if (resp->code == rc::kSuccess || resp->code == rc::kPullNotFound ||
      resp->code == rc::kPullRetryImmediately || resp->code == rc::kPullOffsetMoved) {
    std::lock_guard<std::mutex> l(mu_);
    suggested_[pq->mq] = resp->GetInt64Or("suggestWhichBrokerId", 0);
  }
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

}  // namespace ramjet::client
