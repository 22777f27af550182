#include "pop_service.h"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "message_filter.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/message/record.h"
#include "requeue.h"
#include "system_topics.h"

namespace ramjet::broker {
namespace {

using nlohmann::json;

constexpr int64_t kMaxPopBytes = 8 << 20;

bool ParseInt(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string ReceiptHandle::Encode() const {
  return EncodeExtraInfo() + " " + std::to_string(commit_log_offset);
}

std::string ReceiptHandle::EncodeExtraInfo() const {
  return std::to_string(start_offset) + " " + std::to_string(pop_time) + " " +
         std::to_string(invisible_ms) + " " + std::to_string(revive_qid) + " " +
         std::to_string(topic_type) + " " + broker_name + " " + std::to_string(queue_id) + " " +
         std::to_string(offset);
}

Result<ReceiptHandle> ReceiptHandle::Decode(std::string_view text) {
  std::vector<std::string_view> parts;
  while (!text.empty() && parts.size() < 10) {
    size_t sp = text.find(' ');
    parts.push_back(text.substr(0, sp));
    text = sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
  }
  // 9 fields (gRPC receipt handles) or 8 (the POP_CK / extraInfo of remoting pops).
  if ((parts.size() != 9 && parts.size() != 8) || !text.empty()) {
    return Status::InvalidArgument("receipt handle: expected 8 or 9 space-separated fields");
  }
  int64_t n[9] = {};
  for (size_t i : {0, 1, 2, 3, 4, 6, 7, 8}) {
    if (i >= parts.size()) break;
    if (!ParseInt(parts[i], &n[i]) || n[i] < 0) {
      return Status::InvalidArgument("receipt handle: field " + std::to_string(i + 1) +
                                     " is not a non-negative number");
    }
  }
  if (n[4] > 1 || n[6] > std::numeric_limits<int32_t>::max() || parts[5].empty()) {
    return Status::InvalidArgument("receipt handle: bad topic type, queue or broker");
  }
  ReceiptHandle h;
  h.start_offset = n[0];
  h.pop_time = n[1];
  h.invisible_ms = n[2];
  h.revive_qid = static_cast<int32_t>(std::min<int64_t>(n[3], 1 << 20));
  h.topic_type = static_cast<int32_t>(n[4]);
  h.broker_name = std::string(parts[5]);
  h.queue_id = static_cast<int32_t>(n[6]);
  h.offset = n[7];
  h.commit_log_offset = n[8];
  return h;
}

std::string PopRetryTopic(const std::string& group, const std::string& topic) {
  return kRetryGroupTopicPrefix + group + "_" + topic;
}

protocol::SubscriptionData PopSubscription(const std::string& topic, bool sql92,
                                           const std::string& expression) {
  if (!sql92) return protocol::SubscriptionData::ForTags(topic, expression, NowMillis());
  protocol::SubscriptionData sub;
  sub.topic = topic;
  sub.expression_type = "SQL92";
  sub.sub_string = expression;
  return sub;
}

std::optional<std::string> TopicOfPopRetry(const std::string& group, const std::string& topic) {
  const std::string prefix = PopRetryTopic(group, "");
  if (!topic.starts_with(prefix) || topic.size() == prefix.size()) return std::nullopt;
  return topic.substr(prefix.size());
}

PopService::PopService(BrokerContext* bc)
    : bc_(*bc), revive_topic_("rmq_sys_REVIVE_LOG_" + bc->config().broker_cluster_name) {}

Status PopService::Start() {
  protocol::TopicConfig t;
  t.topic_name = revive_topic_;
  t.read_queue_nums = t.write_queue_nums = 1;
  t.perm = protocol::kPermRead | protocol::kPermWrite;
  if (auto r = bc_.topics.AddIfAbsent(t); !r.ok()) return r.status();
  RJ_RETURN_IF_ERROR(Replay());
  reviver_.Start([this](ServiceThread& self) {
    while (!self.stopping()) {
      ReviveNow(NowMillis());
      self.WaitFor(100);
    }
  });
  return Status::OK();
}

void PopService::Stop() { reviver_.Stop(); }

int64_t PopService::InFlight() const {
  MutexLock l(&mu_);
  int64_t n = 0;
  for (const auto& [k, ck] : inflight_) n += ck.open;
  return n;
}

std::map<std::pair<std::string, std::string>, int64_t> PopService::InFlightByGroup() const {
  MutexLock l(&mu_);
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (const auto& [k, ck] : inflight_) {
    const std::string& group = std::get<0>(k);
    const std::string& popped = std::get<1>(k);
    out[{group, TopicOfPopRetry(group, popped).value_or(popped)}] += ck.open;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pop

Result<std::vector<PoppedMessage>> PopService::Pop(const PopRequest& req) {
  auto live = bc_.Live();
  auto tc = bc_.topics.Find(req.topic);
  if (!tc) return Status::NotFound("topic not exist: " + req.topic);
  if ((live->broker_permission & protocol::kPermRead) == 0 ||
      (tc->perm & protocol::kPermRead) == 0) {
    return Status::PermissionDenied("the topic[" + req.topic + "] pop is forbidden");
  }
  if (req.queue_id >= tc->read_queue_nums) {
    return Status::InvalidArgument("queue " + std::to_string(req.queue_id) + " of " + req.topic +
                                   " does not exist");
  }
  auto g = bc_.groups.FindOrCreate(req.group, live->auto_create_subscription_group);
  if (!g.ok()) return g.status();
  if (!*g) return Status::NotFound("subscription group not exist: " + req.group);
  if (!(*g)->consume_enable) {
    return Status::PermissionDenied("subscription group no permission, " + req.group);
  }
  if (req.invisible_ms < kMinInvisibleMs || req.invisible_ms > kMaxInvisibleMs) {
    return Status::InvalidArgument(
        "invisible time out of range: " + std::to_string(req.invisible_ms) + " ms");
  }
  auto filter = MakeFilter(req.subscription, live->enable_property_filter);
  if (!filter.ok()) return filter.status();
  const int32_t max = std::clamp(req.max_messages, 1, 32);
  const std::string retry = PopRetryTopic(req.group, req.topic);
  const bool has_retry = !req.fifo && bc_.topics.Find(retry).has_value();
  const int64_t now = NowMillis();
  std::vector<PoppedMessage> out;
  MutexLock l(&mu_);
  // One pop in five looks at the retry topic first (RocketMQ's popFromRetryProbability).
  const bool retry_first = has_retry && bc_.Random() % 5 == 0;
  if (retry_first) RJ_RETURN_IF_ERROR(PopQueue(req, retry, 0, filter->get(), now, &out));
  const int32_t n = tc->read_queue_nums;
  const uint32_t start = rotate_++;
  for (int32_t i = 0; i < n && static_cast<int32_t>(out.size()) < max; ++i) {
    int32_t q =
        req.queue_id >= 0
            ? req.queue_id
            : static_cast<int32_t>((start + static_cast<uint32_t>(i)) % static_cast<uint32_t>(n));
    if (req.fifo && FifoBusy(req.group, req.topic, q)) continue;
    RJ_RETURN_IF_ERROR(PopQueue(req, req.topic, q, filter->get(), now, &out));
    if (req.queue_id >= 0) break;
  }
  if (has_retry && !retry_first && static_cast<int32_t>(out.size()) < max) {
    RJ_RETURN_IF_ERROR(PopQueue(req, retry, 0, filter->get(), now, &out));
  }
  return out;
}

bool PopService::HasMessages(const std::string& group, const std::string& topic, int32_t queue_id) {
  auto tc = bc_.topics.Find(topic);
  if (!tc) return false;
  const std::string retry = PopRetryTopic(group, topic);
  std::vector<std::pair<std::string, int32_t>> queues;
  if (bc_.topics.Find(retry)) queues.emplace_back(retry, 0);
  for (int32_t q = 0; q < tc->read_queue_nums; ++q) {
    if (queue_id < 0 || q == queue_id) queues.emplace_back(topic, q);
  }
  for (const auto& [t, q] : queues) {
    if (StartOffset(group, t, q, false) < bc_.store->GetMaxOffsetInQueue(t, q).value()) {
      return true;
    }
  }
  return false;
}

bool PopService::FifoBusy(const std::string& group, const std::string& topic,
                          int32_t queue_id) const {
  auto it = inflight_.lower_bound(CkKey(group, topic, queue_id, std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::min()));
  return it != inflight_.end() && std::get<0>(it->first) == group &&
         std::get<1>(it->first) == topic && std::get<2>(it->first) == queue_id;
}

int64_t PopService::StartOffset(const std::string& group, const std::string& topic,
                                int32_t queue_id, bool from_min) {
  int64_t committed = bc_.offsets.Query(group, topic, queue_id);
  if (committed >= 0) return committed;
  // A new group: from the start while the queue still holds its first message, else from the
  // end (RocketMQ's ConsumeInitMode.MAX with initPopOffsetByCheckMsgInMem); a retry topic always
  // from its start.
  int64_t min = bc_.store->GetMinOffsetInQueue(topic, queue_id).value();
  if (from_min || min == 0 || topic.starts_with(kRetryGroupTopicPrefix)) return min;
  return bc_.store->GetMaxOffsetInQueue(topic, queue_id).value();
}

Status PopService::PopQueue(const PopRequest& req, const std::string& topic, int32_t queue_id,
                            const store::MessageFilter* filter, int64_t now,
                            std::vector<PoppedMessage>* out) {
  const int32_t want = std::clamp(req.max_messages, 1, 32) - static_cast<int32_t>(out->size());
  if (want <= 0) return Status::OK();
  const int64_t offset = StartOffset(req.group, topic, queue_id, req.from_min);
  store::GetResult got =
      bc_.store->GetMessages(topic, queue_id, QueueOffset(offset), want, kMaxPopBytes, filter);
  const int64_t next = got.next_begin_offset.value();
  if (got.messages.empty()) {
    if (next != offset) bc_.offsets.Commit(req.group, topic, queue_id, next);
    return Status::OK();
  }
  CkKey key(req.group, topic, queue_id, got.messages.front().queue_offset.value(), now);
  CheckPoint ck;
  ck.invisible_ms = req.invisible_ms;
  ck.fifo = req.fifo;
  for (const auto& m : got.messages) ck.offsets.push_back(m.queue_offset.value());
  ck.settled.assign(ck.offsets.size(), false);
  ck.open = static_cast<int32_t>(ck.offsets.size());
  auto at = WriteCheckPoint(key, ck);
  if (!at.ok()) return at.status();  // nothing handed out, the offset unchanged
  ck.revive_offset = *at;
  bc_.offsets.Commit(req.group, topic, queue_id, next);
  const bool from_retry = topic != req.topic;
  for (const auto& m : got.messages) {
    PoppedMessage p;
    p.record.assign(m.data);
    p.topic = req.topic;
    p.queue_id = queue_id;
    p.queue_offset = m.queue_offset.value();
    p.invisible_ms = req.invisible_ms;
    p.ck_start_offset = std::get<3>(key);
    p.pop_time = now;
    p.from_retry = from_retry;
    if (req.fifo) {
      p.delivery_attempt = ++fifo_attempts_[{req.group, topic, queue_id, p.queue_offset}];
    } else {
      auto r = message::DecodeRecord(m.data, false);
      p.delivery_attempt = r.ok() ? r->reconsume_times + 1 : 1;
    }
    ReceiptHandle h{std::get<3>(key),
                    now,
                    req.invisible_ms,
                    0,
                    from_retry ? 1 : 0,
                    bc_.config().broker_name,
                    queue_id,
                    p.queue_offset,
                    m.physical_offset.value()};
    p.receipt_handle = h.Encode();
    out->push_back(std::move(p));
  }
  inflight_.emplace(std::move(key), std::move(ck));
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Revive-topic records (docs/formats/pop-revive.md)

namespace {

// The fields that name a check point, in every revive record.
json KeyFields(const std::tuple<std::string, std::string, int32_t, int64_t, int64_t>& key,
               const std::string& broker_name) {
  json j;
  j["c"] = std::get<0>(key);
  j["t"] = std::get<1>(key);
  j["q"] = std::get<2>(key);
  j["so"] = std::get<3>(key);
  j["pt"] = std::get<4>(key);
  j["bn"] = broker_name;
  return j;
}

}  // namespace

Result<int64_t> PopService::PutReviveRecord(const char* tag, const nlohmann::json& body) {
  const std::string text = body.dump();
  const std::string props = message::BuildProperties({{"TAGS", tag}});
  message::MessageInput in;
  in.topic = revive_topic_;
  in.body = text;
  in.properties = props;
  in.born_timestamp = NowMillis();
  in.born_host = bc_.config().store.store_host;
  auto put = bc_.store->PutMessage(in, false);
  if (!put.ok()) return put.status();
  return put->queue_offset.value();
}

Result<int64_t> PopService::WriteCheckPoint(const CkKey& key, const CheckPoint& ck) {
  json j = KeyFields(key, bc_.config().broker_name);
  j["it"] = ck.invisible_ms;
  j["n"] = ck.offsets.size();
  json d = json::array();
  for (int64_t o : ck.offsets) d.push_back(o - std::get<3>(key));
  j["d"] = std::move(d);
  if (ck.fifo) j["f"] = true;
  return PutReviveRecord("ck", j);
}

Status PopService::WriteAck(const CkKey& key, int64_t offset) {
  json j = KeyFields(key, bc_.config().broker_name);
  j["ao"] = offset;
  auto put = PutReviveRecord("ack", j);
  return put.ok() ? Status::OK() : put.status();
}

// ---------------------------------------------------------------------------------------------
// Ack and ChangeInvisible

Result<std::pair<PopService::CkKey, size_t>> PopService::Locate(const std::string& group,
                                                                const std::string& topic,
                                                                const ReceiptHandle& h) {
  if (h.broker_name != bc_.config().broker_name) {
    return Status::InvalidArgument("receipt handle of broker " + h.broker_name);
  }
  std::string popped = h.topic_type == 1 ? PopRetryTopic(group, topic) : topic;
  CkKey key(group, popped, h.queue_id, h.start_offset, h.pop_time);
  auto it = inflight_.find(key);
  if (it != inflight_.end()) {
    const CheckPoint& ck = it->second;
    for (size_t i = 0; i < ck.offsets.size(); ++i) {
      if (ck.offsets[i] == h.offset && !ck.settled[i]) return std::make_pair(key, i);
    }
  }
  return Status::NotFound("the receipt handle is expired or was already used");
}

void PopService::Settle(CheckPoint* ck, size_t i) {
  if (ck->settled[i]) return;
  ck->settled[i] = true;
  --ck->open;
}

Status PopService::Ack(const std::string& group, const std::string& topic,
                       const std::string& handle) {
  RJ_ASSIGN_OR_RETURN(ReceiptHandle h, ReceiptHandle::Decode(handle));
  CkKey key;
  {
    MutexLock l(&mu_);
    RJ_ASSIGN_OR_RETURN(auto found, Locate(group, topic, h));
    key = found.first;
    auto it = inflight_.find(key);
    Settle(&it->second, found.second);
    if (it->second.fifo) fifo_attempts_.erase({group, std::get<1>(key), h.queue_id, h.offset});
    if (it->second.open == 0) inflight_.erase(it);
  }
  return WriteAck(key, h.offset);
}

Status PopService::ToDeadLetterQueue(const std::string& group, const std::string& topic,
                                     const std::string& handle) {
  RJ_ASSIGN_OR_RETURN(ReceiptHandle h, ReceiptHandle::Decode(handle));
  MutexLock l(&mu_);
  RJ_ASSIGN_OR_RETURN(auto found, Locate(group, topic, h));
  const CkKey key = found.first;
  RJ_RETURN_IF_ERROR(Requeue(group, std::get<1>(key), h.queue_id, h.offset, /*dead=*/true));
  auto it = inflight_.find(key);
  Settle(&it->second, found.second);
  if (it->second.fifo) fifo_attempts_.erase({group, std::get<1>(key), h.queue_id, h.offset});
  if (it->second.open == 0) inflight_.erase(it);
  return WriteAck(key, h.offset);
}

Result<std::string> PopService::ChangeInvisible(const std::string& group, const std::string& topic,
                                                const std::string& handle, int64_t invisible_ms) {
  if (invisible_ms < kMinInvisibleMs || invisible_ms > kMaxInvisibleMs) {
    return Status::InvalidArgument("invisible time out of range: " + std::to_string(invisible_ms) +
                                   " ms");
  }
  RJ_ASSIGN_OR_RETURN(ReceiptHandle h, ReceiptHandle::Decode(handle));
  MutexLock l(&mu_);
  RJ_ASSIGN_OR_RETURN(auto found, Locate(group, topic, h));
  auto [old_key, index] = found;
  auto old = inflight_.find(old_key);
  CheckPoint ck;
  ck.invisible_ms = invisible_ms;
  ck.fifo = old->second.fifo;
  ck.offsets = {h.offset};
  ck.settled = {false};
  ck.open = 1;
  int64_t now = NowMillis();
  CkKey key(group, std::get<1>(old_key), h.queue_id, h.offset, now);
  while (inflight_.count(key)) std::get<4>(key) = ++now;
  // The new check point first: a crash between the two records delivers the message again
  // rather than losing it.
  RJ_ASSIGN_OR_RETURN(ck.revive_offset, WriteCheckPoint(key, ck));
  inflight_.emplace(key, std::move(ck));
  Settle(&old->second, index);
  if (old->second.open == 0) inflight_.erase(old);
  RJ_RETURN_IF_ERROR(WriteAck(old_key, h.offset));
  ReceiptHandle next = h;
  next.start_offset = h.offset;
  next.pop_time = now;
  next.invisible_ms = invisible_ms;
  return next.Encode();
}

}  // namespace ramjet::broker
