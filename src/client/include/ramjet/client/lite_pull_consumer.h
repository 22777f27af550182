// LitePullConsumer: the Java 4.9 DefaultLitePullConsumer model. The application polls; queues
// are either assigned explicitly (Assign) or shared out among the group's members (Subscribe,
// average allocation, re-checked every rebalance interval). Offsets: Seek / SeekToBegin /
// SeekToEnd move a queue's position; Commit writes consumed positions to the broker
// (UPDATE_CONSUMER_OFFSET), automatically after each Poll when auto_commit is on.
//
// Threading model: one application thread calls Poll/Seek/Commit; the client instance's
// scheduler thread sends heartbeats and refreshes routes (see producer.h). Not safe for
// concurrent Poll calls.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/client/message.h"
#include "ramjet/client/push_consumer.h"

namespace ramjet::client {

class LitePullConsumer {
 public:
  LitePullConsumer(std::string group, ConsumerConfig config, bool auto_commit = true);
  ~LitePullConsumer();
  LitePullConsumer(const LitePullConsumer&) = delete;
  LitePullConsumer& operator=(const LitePullConsumer&) = delete;

  Status Start();
  void Shutdown();

  Result<std::vector<MessageQueue>> FetchMessageQueues(const std::string& topic);
  void Assign(const std::vector<MessageQueue>& queues, const std::string& expression = "*");
  Status Subscribe(const std::string& topic, const std::string& expression = "*");
  std::vector<MessageQueue> Assignment();

  Status Seek(const MessageQueue& mq, int64_t offset);
  Status SeekToBegin(const MessageQueue& mq);
  Status SeekToEnd(const MessageQueue& mq);
  // The offset committed on the broker (-1 if none).
  Result<int64_t> Committed(const MessageQueue& mq);

  // Up to pull_batch_size messages per queue, waiting up to timeout_ms when nothing is there.
  std::vector<MessageExt> Poll(int timeout_ms);
  Status CommitSync();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ramjet::client
