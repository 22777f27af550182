// POP consumption (RocketMQ 5's PopMessageProcessor, AckMessageProcessor,
// ChangeInvisibleTimeProcessor and PopReviveService in one service): the broker, not the client,
// hands out messages. A pop takes up to N messages of a group from any queue of a topic (and,
// one pop in five first, from the group's pop retry topic), commits the group's offset past
// them at once and makes them invisible for the invisible time; an ack (by receipt handle)
// settles a message; a message not acked in time is stored again into the pop retry topic
// `%RETRY%<group>_<topic>` with its reconsume count raised (its message id kept), or into
// `%DLQ%<group>` once it was delivered the group's retryMaxTimes times. A FIFO pop hands out a
// queue only when the group has nothing of it in flight, and a FIFO message not acked in time is
// delivered again from the same queue, in order (its attempt counted in memory).
//
// Durability: every pop writes a check point and every ack an ack record into the revive topic
// `rmq_sys_REVIVE_LOG_<cluster>` (one queue, so an ack always follows its check point) before
// it is answered. On start the service replays the revive queue from the revive offset (the
// oldest unsettled check point, kept as the offset of group CID_RMQ_SYS_REVIVE_GROUP, persisted
// with the consumer offsets): a restart or a kill -9 neither loses an unacked message nor
// delivers an acked one again; the replay also moves each group's offset past every popped
// message, so a stale offsets file cannot hand out popped messages twice. Record format:
// docs/formats/pop-revive.md.
//
// Threading: Pop, Ack and ChangeInvisible from any thread; one mutex guards the in-flight
// table and orders pops of the same group. Revive runs on its own service thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "broker_context.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/protocol/bodies.h"

namespace ramjet::broker {

inline constexpr const char* kReviveGroup = "CID_RMQ_SYS_REVIVE_GROUP";
inline constexpr int64_t kMinInvisibleMs = 1000;                // as RocketMQ's proxy
inline constexpr int64_t kMaxInvisibleMs = 12LL * 3600 * 1000;  // 12 h

// The receipt handle (RocketMQ 5's ReceiptHandle text form): "startOffset popTime
// invisibleTime reviveQueueId topicType brokerName queueId offset commitLogOffset"; topicType 0 is
// the topic itself, 1 the group's pop retry topic.
struct ReceiptHandle {
  int64_t start_offset = 0;
  int64_t pop_time = 0;
  int64_t invisible_ms = 0;
  int32_t revive_qid = 0;
  int32_t topic_type = 0;
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t offset = 0;
  int64_t commit_log_offset = 0;
  std::string Encode() const;
  // The first eight fields: the POP_CK property / extraInfo header of remoting pops.
  std::string EncodeExtraInfo() const;
  // Either form (9 or 8 fields; commit_log_offset 0 when absent). kInvalidArgument for anything
  // that is not a well-formed handle.
  static Result<ReceiptHandle> Decode(std::string_view text);
};

// `%RETRY%<group>_<topic>`: where a group's unacked POP messages come back.
std::string PopRetryTopic(const std::string& group, const std::string& topic);
// The inverse: the subscribed topic when topic is group's pop retry topic, else nullopt.
std::optional<std::string> TopicOfPopRetry(const std::string& group, const std::string& topic);

// A pop's filter: a SQL92 expression as it is, anything else as a TAG expression.
protocol::SubscriptionData PopSubscription(const std::string& topic, bool sql92,
                                           const std::string& expression);

struct PopRequest {
  std::string group;
  std::string topic;
  int32_t queue_id = -1;  // -1: any queue
  int32_t max_messages = 32;
  int64_t invisible_ms = 30000;
  protocol::SubscriptionData subscription;  // TAG or SQL92 expression
  bool fifo = false;
  // A group new to a queue starts at its first message (remoting initMode MIN) rather than at
  // its end (unless the queue still holds its first message, as RocketMQ).
  bool from_min = false;
};

struct PoppedMessage {
  std::string record;  // the stored record (§4.4 layout), copied
  std::string topic;   // the topic the consumer subscribed (not the retry topic)
  std::string receipt_handle;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;  // in the queue it was popped from
  int32_t delivery_attempt = 1;
  int64_t invisible_ms = 0;
  int64_t ck_start_offset = 0;  // the first offset of its check point (its queue's pop)
  int64_t pop_time = 0;
  bool from_retry = false;  // popped from the group's pop retry topic (queue 0)
};

class PopService {
 public:
  // REQUIRES: bc (with its store) outlives the service.
  explicit PopService(BrokerContext* bc);
  ~PopService() { Stop(); }
  PopService(const PopService&) = delete;
  PopService& operator=(const PopService&) = delete;

  // Creates the revive topic, replays it and starts reviving.
  [[nodiscard]] Status Start();
  void Stop();

  // Errors: kNotFound (topic or group unknown: the message says which), kInvalidArgument (bad
  // filter, invisible time), kPermissionDenied (topic or broker not readable, group disabled).
  Result<std::vector<PoppedMessage>> Pop(const PopRequest& req);
  // Settles one popped message. kInvalidArgument for a malformed handle, kNotFound when the
  // handle is no longer valid (expired: the message was or will be delivered again).
  [[nodiscard]] Status Ack(const std::string& group, const std::string& topic,
                           const std::string& handle);
  // Makes a popped message invisible for invisible_ms from now; returns its new handle (the old
  // one is no longer valid). Errors as Ack.
  Result<std::string> ChangeInvisible(const std::string& group, const std::string& topic,
                                      const std::string& handle, int64_t invisible_ms);
  // Settles a popped message by storing it into %DLQ%<group> (a 5.x client that ran out of
  // delivery attempts). Errors as Ack.
  [[nodiscard]] Status ToDeadLetterQueue(const std::string& group, const std::string& topic,
                                         const std::string& handle);
  // Whether the group has anything to pop in topic (queue_id -1: any queue) or in its pop retry
  // topic; filters are not applied (NOTIFICATION).
  bool HasMessages(const std::string& group, const std::string& topic, int32_t queue_id);
  // Runs one revive round now (tests; the service thread does this every 100 ms).
  void ReviveNow(int64_t now_ms);
  // Messages popped and not yet settled (acked or revived).
  int64_t InFlight() const RJ_EXCLUDES(mu_);
  // The same per (group, subscribed topic): a retried message counts under its topic.
  std::map<std::pair<std::string, std::string>, int64_t> InFlightByGroup() const RJ_EXCLUDES(mu_);
  const std::string& revive_topic() const { return revive_topic_; }

 private:
  // One pop of one queue: the offsets handed out, which are settled, and where its check
  // point is in the revive queue.
  struct CheckPoint {
    int64_t invisible_ms = 0;
    std::vector<int64_t> offsets;
    std::vector<bool> settled;
    int64_t revive_offset = 0;
    int32_t open = 0;  // offsets not settled
    bool fifo = false;
  };
  // (group, popped topic, queue id, start offset, pop time)
  using CkKey = std::tuple<std::string, std::string, int32_t, int64_t, int64_t>;

  Status PopQueue(const PopRequest& req, const std::string& topic, int32_t queue_id,
                  const store::MessageFilter* filter, int64_t now, std::vector<PoppedMessage>* out)
      RJ_REQUIRES(mu_);
  bool FifoBusy(const std::string& group, const std::string& topic, int32_t queue_id) const
      RJ_REQUIRES(mu_);
  int64_t StartOffset(const std::string& group, const std::string& topic, int32_t queue_id,
                      bool from_min);
  // Appends a check point / ack record to the revive queue; its queue offset.
  Result<int64_t> WriteCheckPoint(const CkKey& key, const CheckPoint& ck);
  Status WriteAck(const CkKey& key, int64_t offset);
  // One revive record: a message of the revive topic with tag `tag` and body `body`.
  Result<int64_t> PutReviveRecord(const char* tag, const nlohmann::json& body);
  // Finds the check point and index of a handle's message; kNotFound if settled or unknown.
  Result<std::pair<CkKey, size_t>> Locate(const std::string& group, const std::string& topic,
                                          const ReceiptHandle& h) RJ_REQUIRES(mu_);
  static void Settle(CheckPoint* ck, size_t i);
  Status Replay();
  void ApplyReviveRecord(std::string_view tag, std::string_view body, int64_t queue_offset)
      RJ_REQUIRES(mu_);
  // Message `offset` of a due check point: stored again (retry topic or DLQ; a message gone
  // from the store counts as stored), its FIFO queue rewound to it, or to be tried again later.
  enum class ReviveOutcome { kStored, kRewound, kRetryLater };
  ReviveOutcome Revive(const CkKey& key, const CheckPoint& ck, int64_t offset) RJ_REQUIRES(mu_);
  // Stores message `offset` of `topic` again into target (retry or DLQ) with its reconsume
  // count raised.
  Status Requeue(const std::string& group, const std::string& topic, int32_t queue_id,
                 int64_t offset, bool dead);
  void CommitReviveOffset() RJ_REQUIRES(mu_);

  BrokerContext& bc_;
  const std::string revive_topic_;
  mutable Mutex mu_;
  std::map<CkKey, CheckPoint> inflight_ RJ_GUARDED_BY(mu_);
  // FIFO: how often each (group, topic, queue, offset) was handed out.
  std::map<std::tuple<std::string, std::string, int32_t, int64_t>, int32_t> fifo_attempts_
      RJ_GUARDED_BY(mu_);
  int64_t committed_revive_offset_ RJ_GUARDED_BY(mu_) = -1;
  uint32_t rotate_ RJ_GUARDED_BY(mu_) = 0;
  ServiceThread reviver_{"pop-revive"};
};

}  // namespace ramjet::broker
