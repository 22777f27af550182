// END_TRANSACTION (37) (RocketMQ's EndTransactionProcessor): a producer commits or rolls back a
// half message; the TransactionService does the work. Check-backs go the other way
// (CHECK_TRANSACTION_STATE, sent by the service through BrokerContext::SendToProducer).
// Threading: runs on the send executor. No lock of its own.
#pragma once

#include "broker_context.h"
#include "transaction_service.h"

namespace ramjet::broker {

class TransactionProcessor {
 public:
  // REQUIRES: transactions outlives the processor.
  explicit TransactionProcessor(TransactionService* transactions) : transactions_(*transactions) {}

  void EndTransaction(const remoting::RequestContextPtr& ctx);

 private:
  TransactionService& transactions_;
};

}  // namespace ramjet::broker
