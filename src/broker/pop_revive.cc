// PopService, second half: the revive rounds (messages not acked in time come back) and the
// replay of the revive queue on start. See pop_service.h.
#include <limits>
#include <nlohmann/json.hpp>

#include "pop_service.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/message/record.h"
#include "requeue.h"
#include "system_topics.h"

namespace ramjet::broker {
namespace {

using nlohmann::json;

constexpr int32_t kReviveBatch = 256;
constexpr int64_t kReviveBytes = 8 << 20;

}  // namespace

void PopService::ReviveNow(int64_t now_ms) {
  MutexLock l(&mu_);
  for (auto it = inflight_.begin(); it != inflight_.end();) {
    CheckPoint& ck = it->second;
    if (now_ms < std::get<4>(it->first) + ck.invisible_ms) {
      ++it;
      continue;
    }
    for (size_t i = 0; i < ck.offsets.size(); ++i) {
      if (ck.settled[i]) continue;
      ReviveOutcome done = Revive(it->first, ck, ck.offsets[i]);
      if (done == ReviveOutcome::kRetryLater) break;
      // Stored again: an ack record, so a replay does not revive it twice. (A rewound FIFO
      // queue needs none: a replay of the check point rewinds it again.)
      if (done == ReviveOutcome::kStored) {
        if (Status s = WriteAck(it->first, ck.offsets[i]); !s.ok()) break;
      }
      Settle(&ck, i);
      if (done == ReviveOutcome::kRewound) break;  // the rest comes back from the queue
    }
    if (ck.fifo && ck.open > 0) {
      // Everything after the first unsettled offset comes back in order from the queue itself.
      for (size_t i = 0; i < ck.offsets.size(); ++i) {
        if (!ck.settled[i]) Settle(&ck, i);
      }
    }
    it = ck.open == 0 ? inflight_.erase(it) : std::next(it);
  }
  CommitReviveOffset();
}

PopService::ReviveOutcome PopService::Revive(const CkKey& key, const CheckPoint& ck,
                                             int64_t offset) {
  const auto& [group, topic, queue_id, so, pt] = key;
  if (ck.fifo) {
    auto g = bc_.groups.Find(group);
    const int32_t max = g ? g->retry_max_times : 16;
    int32_t& attempts = fifo_attempts_[{group, topic, queue_id, offset}];
    if (attempts <= max) {
      // Delivered again from its queue: the group's offset goes back to it.
      if (bc_.offsets.Query(group, topic, queue_id) > offset) {
        bc_.offsets.Commit(group, topic, queue_id, offset);
      }
      return ReviveOutcome::kRewound;
    }
    fifo_attempts_.erase({group, topic, queue_id, offset});  // out of attempts: to the DLQ
  }
  Status s = Requeue(group, topic, queue_id, offset, ck.fifo);
  return s.ok() ? ReviveOutcome::kStored : ReviveOutcome::kRetryLater;
}

Status PopService::Requeue(const std::string& group, const std::string& topic, int32_t queue_id,
                           int64_t offset, bool dead) {
  store::GetResult got =
      bc_.store->GetMessages(topic, queue_id, QueueOffset(offset), 1, kReviveBytes, nullptr);
  if (got.messages.empty() || got.messages.front().queue_offset.value() != offset) {
    RJ_LOG(kWarn, "pop", "%s queue %d offset %lld is gone (%s); not delivered again", topic.c_str(),
           queue_id, static_cast<long long>(offset),
           std::string(store::GetStatusName(got.status)).c_str());
    return Status::OK();
  }
  auto r = message::DecodeRecord(got.messages.front().data, false);
  if (!r.ok()) return Status::OK();
  auto g = bc_.groups.Find(group);
  const int32_t max = g ? g->retry_max_times : 16;
  std::string_view origin_topic = message::FindProperty(r->properties, "RETRY_TOPIC");
  if (origin_topic.empty()) origin_topic = r->topic;
  dead = dead || r->reconsume_times >= max;
  std::string target = dead ? std::string(kDlqGroupTopicPrefix) + group
                            : PopRetryTopic(group, std::string(origin_topic));
  if (Status s = bc_.EnsureGroupTopic(target, 1); !s.ok()) {
    RJ_LOG(kWarn, "pop", "cannot create %s: %s", target.c_str(), s.ToString().c_str());
    return s;
  }
  std::string props = EditProperties(r->properties, {"POP_CK"}, RetryOriginProperties(*r, {}));
  message::MessageInput in = RequeueInput(*r, target, 0, props);
  in.reconsume_times = r->reconsume_times + 1;
  auto put = bc_.store->PutMessage(in, false);
  if (!put.ok()) {
    RJ_LOG(kWarn, "pop", "store into %s: %s", target.c_str(), put.status().ToString().c_str());
    return put.status();
  }
  return Status::OK();
}

void PopService::CommitReviveOffset() {
  int64_t off = std::numeric_limits<int64_t>::max();
  for (const auto& [k, ck] : inflight_) off = std::min(off, ck.revive_offset);
  if (off == std::numeric_limits<int64_t>::max()) {
    off = bc_.store->GetMaxOffsetInQueue(revive_topic_, 0).value();
  }
  if (off == committed_revive_offset_) return;
  committed_revive_offset_ = off;
  bc_.offsets.Commit(kReviveGroup, revive_topic_, 0, off);
}

// ---------------------------------------------------------------------------------------------
// Replay

Status PopService::Replay() {
  int64_t off = bc_.offsets.Query(kReviveGroup, revive_topic_, 0);
  if (off < 0) off = bc_.store->GetMinOffsetInQueue(revive_topic_, 0).value();
  int64_t records = 0;
  MutexLock l(&mu_);
  for (;;) {
    store::GetResult got = bc_.store->GetMessages(revive_topic_, 0, QueueOffset(off), kReviveBatch,
                                                  kReviveBytes, nullptr);
    for (const auto& m : got.messages) {
      auto r = message::DecodeRecord(m.data, false);
      if (!r.ok()) continue;
      ApplyReviveRecord(message::FindProperty(r->properties, "TAGS"), r->body,
                        m.queue_offset.value());
      ++records;
    }
    if (got.messages.empty() || got.next_begin_offset.value() <= off) break;
    off = got.next_begin_offset.value();
  }
  int64_t open = 0;
  for (const auto& [k, ck] : inflight_) open += ck.open;
  RJ_LOG(kInfo, "pop", "revive log replayed: %lld records, %lld messages in flight",
         static_cast<long long>(records), static_cast<long long>(open));
  CommitReviveOffset();
  return Status::OK();
}

void PopService::ApplyReviveRecord(std::string_view tag, std::string_view body,
                                   int64_t queue_offset) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    RJ_LOG(kWarn, "pop", "revive log offset %lld: not a JSON object; skipped",
           static_cast<long long>(queue_offset));
    return;
  }
  try {
    CkKey key(j.at("c").get<std::string>(), j.at("t").get<std::string>(), j.at("q").get<int32_t>(),
              j.at("so").get<int64_t>(), j.at("pt").get<int64_t>());
    const auto& [group, topic, queue_id, so, pt] = key;
    if (tag == "ck") {
      CheckPoint ck;
      ck.invisible_ms = j.at("it").get<int64_t>();
      ck.fifo = j.value("f", false);
      for (const auto& d : j.at("d")) ck.offsets.push_back(so + d.get<int64_t>());
      if (ck.offsets.empty()) return;
      ck.settled.assign(ck.offsets.size(), false);
      ck.open = static_cast<int32_t>(ck.offsets.size());
      ck.revive_offset = queue_offset;
      // The group's offset is past everything popped, whatever the offsets file says.
      int64_t past = ck.offsets.back() + 1;
      if (bc_.offsets.Query(group, topic, queue_id) < past) {
        bc_.offsets.Commit(group, topic, queue_id, past);
      }
      if (ck.fifo) {
        for (int64_t o : ck.offsets) ++fifo_attempts_[{group, topic, queue_id, o}];
      }
      inflight_[key] = std::move(ck);
    } else if (tag == "ack") {
      auto it = inflight_.find(key);
      if (it == inflight_.end()) return;
      const int64_t ao = j.at("ao").get<int64_t>();
      for (size_t i = 0; i < it->second.offsets.size(); ++i) {
        if (it->second.offsets[i] == ao) Settle(&it->second, i);
      }
      if (it->second.open == 0) inflight_.erase(it);
    }
  } catch (const json::exception& e) {
    RJ_LOG(kWarn, "pop", "revive log offset %lld: %s; skipped",
           static_cast<long long>(queue_offset), e.what());
  }
}

}  // namespace ramjet::broker
