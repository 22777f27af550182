// PushConsumer: the concurrent listener and send-back (ConsumeMessageConcurrentlyService).
#include "push_consumer_impl.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

// Offset to commit: the smallest unconsumed offset, or one past the highest seen.
void PushConsumer::Impl::UpdateOffsetFromQueue(const PqPtr& pq) {
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

void PushConsumer::Impl::RemoveConsumed(const PqPtr& pq, int64_t offset) {
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

bool PushConsumer::Impl::SendBack(const PqPtr& pq, const MessageExt& m, int delay_level) {
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

void PushConsumer::Impl::SubmitConcurrent(const PqPtr& pq, MessageExt m) {
  auto self = shared_from_this();
  consume_pool_->TrySubmit([self, pq, m = std::move(m)]() mutable {
    if (pq->dropped) return;
    ConsumeStatus st = ConsumeStatus::kReconsumeLater;
    try {
      st = self->listener_(m);
    } catch (const std::exception& e) {
      RJ_LOG(kWarn, "client", "listener threw: %s", e.what());
    }
    if (st == ConsumeStatus::kReconsumeLater && self->config_.model == MessageModel::kClustering) {
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

}  // namespace ramjet::client
