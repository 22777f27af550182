// PushConsumer: the orderly listener (ConsumeMessageOrderlyService).
#include "push_consumer_impl.h"

namespace ramjet::client {

namespace rc = protocol::response_code;
namespace req = protocol::request_code;

void PushConsumer::Impl::SubmitOrderly(const PqPtr& pq) {
  {
    std::lock_guard<std::mutex> l(pq->mu);
    if (pq->consuming || pq->msgs.empty()) return;
    pq->consuming = true;
  }
  auto self = shared_from_this();
  consume_pool_->TrySubmit([self, pq] { self->ConsumeOrderly(pq); });
}

void PushConsumer::Impl::ConsumeOrderly(const PqPtr& pq) {
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
    scheduler_.RunAfter(config_.suspend_current_queue_ms, [self, pq] { self->SubmitOrderly(pq); });
    return;
  }
  std::lock_guard<std::mutex> l(pq->mu);
  pq->consuming = false;
}

}  // namespace ramjet::client
