// Recalling a timer message before it is delivered (RocketMQ 5.3's RecallMessage): a send that
// becomes a timer message (TIMER_DELIVER_MS / TIMER_DELAY_*) is answered with a recall handle
// (remoting header recallHandle, gRPC SendResultEntry.recall_handle); RECALL_MESSAGE (370, header
// producerGroup, topic, recallHandle; answer msgId) and the gRPC RecallMessage cancel the timer:
// an op record in rmq_sys_timer_op names it, so neither this run nor a restart delivers it.
//
// The handle is RocketMQ's HandleV1: URL-safe base64 of "v1 topic brokerName deliverMs
// messageId" (messageId the UNIQ_KEY). Threading: no state; TimerService is locked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker_context.h"
#include "ramjet/base/result.h"
#include "timer_service.h"

namespace ramjet::broker {

struct RecallHandle {
  std::string topic;
  std::string broker_name;
  int64_t deliver_ms = 0;
  std::string message_id;  // UNIQ_KEY
  std::string Encode() const;
  // kInvalidArgument for anything but a well-formed v1 handle.
  static Result<RecallHandle> Decode(std::string_view text);
};

// Recalls the timer message handle names, sent to topic. Its message id; kInvalidArgument
// (malformed handle, another topic or broker), kNotFound (no such timer, delivered or
// recalled already).
Result<std::string> RecallTimer(BrokerContext& bc, TimerService* timers, const std::string& topic,
                                std::string_view handle);

// RECALL_MESSAGE (370) on the send executor.
class RecallProcessor {
 public:
  // REQUIRES: bc and timers outlive the processor.
  RecallProcessor(BrokerContext* bc, TimerService* timers) : bc_(*bc), timers_(timers) {}
  void Recall(const remoting::RequestContextPtr& ctx);

 private:
  BrokerContext& bc_;
  TimerService* const timers_;
};

}  // namespace ramjet::broker
