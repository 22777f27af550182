// The pull family (RocketMQ's PullMessageProcessor): PULL_MESSAGE (11) and LITE_PULL_MESSAGE
// (361). A pull is checked (broker, group, topic and queue permissions; the subscription, sent
// with the pull or registered by heartbeat), filtered (TAG or SQL92) and read from the store;
// a pull that finds nothing and may wait is parked in the PullHoldService and run again, without
// waiting a second time, when a message arrives or its time is up.
//
// Threading: handlers and re-executions run on the pull executor. No lock of its own.
#pragma once

#include "broker_context.h"
#include "pull_hold_service.h"
#include "ramjet/protocol/headers.h"
#include "ramjet/remoting/thread_pool.h"

namespace ramjet::broker {

class PullProcessor {
 public:
  // REQUIRES: bc and executor outlive the processor; executor runs woken pulls.
  PullProcessor(BrokerContext* bc, remoting::ThreadPool* executor);

  void ProcessPull(const remoting::RequestContextPtr& ctx) { Process(ctx, true); }
  PullHoldService& hold_service() { return hold_; }

 private:
  // On a slave: a topic it has messages of but no configuration for yet (read-only).
  std::optional<protocol::TopicConfig> ReplicatedTopic(const std::string& topic);
  // suggestWhichBrokerId of a pull response.
  int64_t SuggestBroker(const protocol::PullMessageRequestHeader& h, const store::GetResult& got,
                        const BrokerConfig& live);
  void Process(const remoting::RequestContextPtr& ctx, bool allow_suspend);
  // Group, topic and queue checks; false after answering.
  bool Admit(const remoting::RequestContextPtr& ctx, const protocol::PullMessageRequestHeader& h,
             const BrokerConfig& live);
  // The subscription the pull reads with; nullopt after answering.
  std::optional<protocol::SubscriptionData> SubscriptionOf(
      const remoting::RequestContextPtr& ctx, const protocol::PullMessageRequestHeader& h);
  // Runs a woken pull again on the executor (SYSTEM_BUSY when it is full).
  void Reexecute(const remoting::RequestContextPtr& ctx);

  BrokerContext& bc_;
  remoting::ThreadPool* const executor_;
  PullHoldService hold_;
};

}  // namespace ramjet::broker
