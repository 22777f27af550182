// POP consumption on remoting, for RocketMQ 5.x remoting clients (RocketMQ's
// PopMessageProcessor, AckMessageProcessor, ChangeInvisibleTimeProcessor, NotificationProcessor
// and PollingInfoProcessor): POP_MESSAGE (200050), ACK_MESSAGE (200051),
// CHANGE_MESSAGE_INVISIBLETIME (200053), NOTIFICATION (200054), POLLING_INFO (200055) and
// BATCH_ACK_MESSAGE (200151), all served by the PopService the gRPC door uses too, so a message
// popped on one door can be acked only with its own handle, and offsets, retries and check
// points are the same.
//
// A pop answer carries the stored records (as a pull does) and, in its header, the pop time,
// the invisible time and the offset-info strings from which the client builds each message's
// POP_CK (its receipt handle; our 8-field handle text). Messages popped from the group's pop
// retry topic are re-encoded under the topic the client asked for, with POP_CK set, as RocketMQ
// does. A pop that finds nothing is parked in its PopWaiters (long polling, pollTime) and
// answered POLLING_TIMEOUT when nothing came. Formats: docs/formats/pop-remoting.md.
//
// Threading: requests run on the pull executor; parked pops are answered on the waiters'
// thread. No lock of its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker_context.h"
#include "pop_service.h"
#include "pop_waiters.h"
#include "ramjet/protocol/pop_headers.h"

namespace ramjet::broker {

class PopProcessor {
 public:
  // REQUIRES: bc and pop outlive the processor.
  PopProcessor(BrokerContext* bc, PopService* pop) : bc_(*bc), pop_(pop) {}
  ~PopProcessor() { Stop(); }

  void Start() { waiters_.Start(); }
  // Answers every parked pop (what it finds now, or POLLING_TIMEOUT).
  void Stop() { waiters_.Stop(); }
  // The store's dispatcher: a message arrived in topic.
  void OnArrival(std::string_view topic) { waiters_.Wake(topic); }

  void PopMessage(const remoting::RequestContextPtr& ctx);
  void AckMessage(const remoting::RequestContextPtr& ctx);
  void BatchAckMessage(const remoting::RequestContextPtr& ctx);
  void ChangeInvisibleTime(const remoting::RequestContextPtr& ctx);
  void Notification(const remoting::RequestContextPtr& ctx);
  void PollingInfo(const remoting::RequestContextPtr& ctx);

  // Pops parked now (tests, POLLING_INFO).
  size_t parked() const { return waiters_.parked(); }

 private:
  // An ACK_MESSAGE / CHANGE_MESSAGE_INVISIBLETIME resolved: its header, the subscribed topic and
  // the handle (queue and offset as the header says).
  struct Target {
    protocol::AckMessageRequestHeader header;
    std::string topic;
    ReceiptHandle handle;
  };
  // Decodes and checks the request; nullopt after answering a refusal.
  std::optional<Target> TargetOf(const remoting::RequestContextPtr& ctx, bool change_invisible);

  BrokerContext& bc_;
  PopService* const pop_;
  PopWaiters waiters_{"pop-poll"};
};

}  // namespace ramjet::broker
