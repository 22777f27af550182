// The send family (RocketMQ's SendMessageProcessor): SEND_MESSAGE (10), SEND_MESSAGE_V2 (310),
// SEND_BATCH_MESSAGE (320) and CONSUMER_SEND_MSG_BACK (36).
//
// A send is checked (broker and topic permissions, topic creation from TBW102, queue choice,
// disk space), routed (retry topics past their retries go to the DLQ; half messages to the
// transaction topic; timer and delay-level messages to their service topics) and appended to
// the store; the answer is written by the store's completion (on the appending thread, or on
// the flush thread under SYNC_FLUSH). Every send answer carries MSG_REGION and TRACE_ON.
//
// Threading: handlers run on the send executor, or inline on the I/O thread when
// sendMessageThreadPoolNums=0. No lock of its own; the context's parts are internally locked.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "broker_context.h"
#include "send_common.h"
#include "topic_config_manager.h"
#include "topic_runtime.h"

namespace ramjet::broker {

class SendProcessor {
 public:
  // REQUIRES: bc outlives the processor. max_delay_level: the number of delay levels.
  SendProcessor(BrokerContext* bc, int max_delay_level)
      : bc_(*bc), max_delay_level_(max_delay_level) {}

  // SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE.
  void ProcessSend(const remoting::RequestContextPtr& ctx);
  // CONSUMER_SEND_MSG_BACK: a consumer failed a message; store it again into %RETRY%<group>
  // with an escalating delay, or into %DLQ%<group> when it ran out of retries.
  void ConsumerSendMsgBack(const remoting::RequestContextPtr& ctx);

  // Reroutes a message with a DELAY property to the schedule topic (also used for committed
  // transactional messages).
  void ApplyDelay(std::string* topic, int32_t* queue_id, std::string* props) const {
    ApplyDelayLevel(max_delay_level_, topic, queue_id, props);
  }

 private:
  struct Target {
    std::string topic;  // empty until Admit's end (the DLQ's, or the header's, moved)
    int32_t queue_id = 0;
    // The send state of the topic the client named, while the send still goes there.
    std::shared_ptr<TopicRuntime> runtime;
  };
  // What the answer to a put needs besides the store's result.
  struct PutReply {
    int32_t queue_id = 0;              // as the client asked (a delayed message is answered so)
    std::vector<int32_t> batch_sizes;  // a batch's record sizes (its message ids), else empty
    std::shared_ptr<const std::string> topic;  // counted under this name in the statistics
    std::shared_ptr<TopicRuntime> runtime;     // the topic's send state, if it is that topic's
    int64_t start_ms = 0;
    bool wait_store_ok = true;
    std::string recall_handle;  // a timer message's (RecallMessage)
  };
  // Whether this send's append may wait for the end of its connection's read round (one write
  // for the round; store::DeferredAppends): handled inline there, and not a SYNC_MASTER (whose
  // acknowledgement waits for the slave anyway).
  bool DeferAppends(const remoting::RequestContext& ctx) const {
    return ctx.in_read_round() && !bc_.config().IsSyncMaster();
  }
  // Finds the topic, creating it the way RocketMQ does (TBW102 inheritance, retry topics).
  Result<std::optional<TopicSendFields>> TopicForSend(const SendHeader& h, const BrokerConfig& live,
                                                      std::shared_ptr<TopicRuntime>* runtime);
  // Permissions, topic, queue and disk: where the send goes, or the refusal already answered.
  std::optional<Target> Admit(const remoting::RequestContextPtr& ctx, SendHeader* h,
                              const BrokerConfig& live);
  // A retry-topic message out of retries goes to %DLQ%<group> (DELAY removed).
  bool RouteExhaustedRetry(const remoting::RequestContextPtr& ctx, SendHeader* h,
                           const BrokerConfig& live, Target* target);
  void SendOne(const remoting::RequestContextPtr& ctx, SendHeader& h, Target target,
               const message::HostAddress& born_host, bool wait_store_ok, int64_t start_ms);
  void SendBatch(const remoting::RequestContextPtr& ctx, const SendHeader& h,
                 const std::shared_ptr<std::string>& topic, int32_t queue_id,
                 const message::HostAddress& born_host, bool wait_store_ok, int64_t start_ms);
  // Splits a batch body into messages (properties completed with the batch's); false after
  // answering MESSAGE_ILLEGAL.
  bool SplitBatch(const remoting::RequestContextPtr& ctx, const SendHeader& h,
                  std::vector<std::pair<size_t, size_t>>* bodies, std::vector<int32_t>* flags,
                  std::vector<std::string>* props);
  // Answers a send once the store is done with it, and counts it (statsAll, runtime info).
  // Answers a put: refused, or stored. A stored put of a SYNC_MASTER that waits for the store
  // (WAIT) is answered once a slave has it (FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE if not).
  void RespondPut(const remoting::RequestContextPtr& ctx, const Result<store::PutResult>& res,
                  PutReply reply);
  // replica_code: 0, or the slave's failure (kFlushSlaveTimeout, kSlaveNotAvailable).
  void RespondStored(const remoting::RequestContextPtr& ctx, const store::PutResult& res,
                     const PutReply& reply, int32_t replica_code);
  // A send refused before it reaches the store.
  void RefuseSend(const remoting::RequestContextPtr& ctx, int32_t code, std::string remark);
  void RefuseSend(const remoting::RequestContextPtr& ctx, const Status& s);

  BrokerContext& bc_;
  const int max_delay_level_;
};

}  // namespace ramjet::broker
