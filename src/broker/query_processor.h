// Message lookup (RocketMQ's QueryMessageProcessor): QUERY_MESSAGE (12) by key or unique key
// through the index, VIEW_MESSAGE_BY_ID (33) by commit-log offset.
// Threading: handlers run on the query executor. No lock of its own.
#pragma once

#include "broker_context.h"

namespace ramjet::broker {

class QueryProcessor {
 public:
  // REQUIRES: bc outlives the processor.
  explicit QueryProcessor(BrokerContext* bc) : bc_(*bc) {}

  void QueryMessage(const remoting::RequestContextPtr& ctx);
  void ViewMessageById(const remoting::RequestContextPtr& ctx);

 private:
  BrokerContext& bc_;
};

}  // namespace ramjet::broker
