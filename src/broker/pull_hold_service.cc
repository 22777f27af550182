#include "pull_hold_service.h"

#include "ramjet/base/check.h"
#include "ramjet/base/clock.h"

namespace ramjet::broker {

void PullHoldService::Hold(remoting::RequestContextPtr ctx, const std::string& topic,
                           int32_t queue_id, int64_t offset,
                           std::shared_ptr<store::MessageFilter> filter, int64_t deadline_ms) {
  QueueKey key{topic, queue_id};
  {
    MutexLock l(&mu_);
    held_[key].push_back(HeldPull{ctx, offset, deadline_ms, std::move(filter)});
    held_count_.fetch_add(1);  // seq_cst: pairs with OnArrival's load
  }
  // A message may have arrived between the pull's read and this registration.
  if (store_->GetMaxOffsetInQueue(topic, queue_id).value() > offset) {
    WakeIf(key, [&](const HeldPull& p) { return p.ctx == ctx; });
  }
}

void PullHoldService::OnArrival(std::string_view topic, int32_t queue_id, int64_t offset,
                                int64_t tags_code) {
  if (held_count_.load() == 0) return;
  WakeIf(QueueKey{std::string(topic), queue_id}, [&](const HeldPull& p) {
    return p.offset <= offset && p.filter->MatchTagsCode(tags_code);
  });
}

void PullHoldService::Scan() {
  if (held_count_.load() == 0) return;
  std::vector<QueueKey> keys;
  {
    MutexLock l(&mu_);
    for (const auto& [k, v] : held_) keys.push_back(k);
  }
  const int64_t now = MonoMillis();
  for (const auto& k : keys) {
    const int64_t max = store_->GetMaxOffsetInQueue(k.topic, k.queue_id).value();
    WakeIf(k, [&](const HeldPull& p) {
      return p.deadline_ms <= now || p.offset < max || p.ctx->peer_closed();
    });
  }
}

void PullHoldService::WakeIf(const QueueKey& key,
                             const std::function<bool(const HeldPull&)>& pred) {
  std::vector<HeldPull> ready;
  {
    MutexLock l(&mu_);
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
    const int64_t before = held_count_.fetch_sub(static_cast<int64_t>(ready.size()));
    RJ_CHECK(before >= static_cast<int64_t>(ready.size()), "held count %lld, woken %zu",
             static_cast<long long>(before), ready.size());
  }
  for (auto& p : ready) wake_(std::move(p.ctx));
}

}  // namespace ramjet::broker
