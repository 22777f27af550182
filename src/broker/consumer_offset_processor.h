// Consumer and queue offsets (RocketMQ's ConsumerManageProcessor and the offset requests of
// AdminBrokerProcessor): QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32),
// SEARCH_OFFSET_BY_TIMESTAMP (29).
// Threading: QUERY/UPDATE run on the consumer-manage executor, the queue queries on the admin
// executor. No lock of its own.
#pragma once

#include "broker_context.h"

namespace ramjet::broker {

class ConsumerOffsetProcessor {
 public:
  // REQUIRES: bc outlives the processor.
  explicit ConsumerOffsetProcessor(BrokerContext* bc) : bc_(*bc) {}

  void QueryConsumerOffset(const remoting::RequestContextPtr& ctx);
  void UpdateConsumerOffset(const remoting::RequestContextPtr& ctx);
  // GET_MAX_OFFSET, GET_MIN_OFFSET, GET_EARLIEST_MSG_STORETIME, SEARCH_OFFSET_BY_TIMESTAMP
  // (by the request's code).
  void QueueQuery(const remoting::RequestContextPtr& ctx);

 private:
  BrokerContext& bc_;
};

}  // namespace ramjet::broker
