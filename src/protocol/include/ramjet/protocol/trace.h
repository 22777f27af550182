// Message trace records as RocketMQ clients write them (TraceDataEncoder) into the trace topic
// (RMQ_SYS_TRACE_TOPIC, msgTraceTopicName): records separated by char 2, fields by char 1; a
// record's first field is its type. The message's KEYS are the traced message ids, so the index
// finds a message's records by its id. Pub: type timestamp region group topic msgId tags keys
// storeHost bodyLength costMs msgType [offsetMsgId] success [clientHost]; SubBefore: type
// timestamp region group requestId msgId retryTimes keys; SubAfter: type requestId msgId costMs
// success keys [contextCode [timestamp group]]; EndTransaction: type timestamp region group topic
// msgId tags keys storeHost msgType transactionId transactionState fromTransactionCheck; Recall:
// type timestamp region group topic msgId success.
//
// Decoding never fails: malformed records (unknown type, missing or non-numeric fields) are
// skipped. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ramjet::protocol {

struct TraceRecord {
  std::string type;       // Pub, SubBefore, SubAfter, EndTransaction, Recall
  int64_t timestamp = 0;  // ms; SubAfter records of old clients have none (0)
  std::string region;
  std::string group;  // producer group (Pub, EndTransaction, Recall) or consumer group
  std::string topic;
  std::string msg_id;
  std::string tags;
  std::string keys;
  std::string store_host;
  std::string client_host;
  std::string request_id;  // pairs a SubBefore with its SubAfter
  std::string offset_msg_id;
  std::string transaction_id;
  std::string transaction_state;
  int32_t body_length = 0;
  int32_t cost_ms = 0;
  int32_t retry_times = 0;
  bool success = true;
};

std::vector<TraceRecord> DecodeTraceData(std::string_view data);

}  // namespace ramjet::protocol
