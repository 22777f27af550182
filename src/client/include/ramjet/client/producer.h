// Producer: sends messages to RocketMQ-compatible brokers exactly as the Java 4.9 client does
// (GET_ROUTEINFO_BY_TOPIC from the name servers, SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE to the
// master of the chosen queue, TBW102 routes for topics that do not exist yet, zlib for bodies
// over 4 KiB, retries on another queue for the codes Java retries).
//
// Threading model: a started Producer may be used from any number of threads. Routes are cached
// and refreshed every 30 s on the client instance's scheduler thread; heartbeats go to every
// known broker every 30 s. Async callbacks run on the remoting I/O thread: keep them short.
// Producers and consumers that set the same instance name share one client instance (one
// connection per broker, one heartbeat for all their groups), as Java's MQClientInstance; with
// the default instance name each has its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ramjet/acl/signature.h"
#include "ramjet/base/result.h"
#include "ramjet/client/message.h"
#include "ramjet/remoting/tls.h"

namespace ramjet::client {

struct ClientConfig {
  std::string namesrv_addr;  // "host:port;host:port"
  // ACL 1.0 (AclClientRPCHook): when set, every request is signed with these. Clients of one
  // instance name share one connection set, and the first client's credentials.
  acl::Credentials credentials;
  // TLS (RocketMQ's tls.enable): a client context from remoting::TlsContext::ForClient makes
  // every connection TLS; null: plaintext. Shared by the instance as credentials are.
  std::shared_ptr<remoting::TlsContext> tls;
  std::string instance_name = "DEFAULT";
  std::string client_ip = "127.0.0.1";
  int send_timeout_ms = 3000;  // sendMsgTimeout
  int retry_times_when_send_failed = 2;
  // retryTimesWhenSendAsyncFailed: an async send that fails on the network or with a retryable
  // code (SYSTEM_ERROR, NO_PERMISSION, ...) is sent again, to another broker when there is one.
  int retry_times_when_send_async_failed = 2;
  int compress_over_bytes = 4096;  // compressMsgBodyOverHowmuch
  int max_message_size = 4 * 1024 * 1024;
  int heartbeat_interval_ms = 30000;  // heartbeatBrokerInterval
  int poll_name_server_interval_ms = 30000;
  std::string create_topic_key = "TBW102";
  int default_topic_queue_nums = 4;
};

// Chooses a queue for a message (ordered send: the same key always maps to the same queue).
using QueueSelector = std::function<size_t(const std::vector<MessageQueue>&, const Message&)>;
// A selector hashing a sharding key (Java String.hashCode, non-negative) over the queues.
QueueSelector SelectByKey(std::string key);

enum class LocalTransactionState { kCommit, kRollback, kUnknown };

class Producer {
 public:
  Producer(std::string group, ClientConfig config);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  Status Start();
  void Shutdown();

  Result<SendResult> Send(const Message& msg);
  Result<SendResult> Send(const Message& msg, const QueueSelector& selector);
  Result<SendResult> Send(const Message& msg, const MessageQueue& queue);
  // The message is kept until the send completes: pass an rvalue to spare copying its body.
  void SendAsync(Message msg, std::function<void(Result<SendResult>)> cb);
  Status SendOneway(const Message& msg);
  // One SEND_BATCH_MESSAGE: all messages must share the topic and have no delay level.
  Result<SendResult> SendBatch(const std::vector<Message>& msgs);
  // The same without waiting: cb runs on an I/O thread with the result (not retried).
  void SendBatchAsync(const std::vector<Message>& msgs, std::function<void(Result<SendResult>)> cb);

  // Transactions: sends a half message, runs `local` and ends the transaction with its answer;
  // `check` answers the broker's CHECK_TRANSACTION_STATE for undecided ones.
  void SetTransactionCheckListener(std::function<LocalTransactionState(const MessageExt&)> check);
  Result<SendResult> SendInTransaction(
      const Message& msg,
      const std::function<LocalTransactionState(const Message&, const SendResult&)>& local);

  // Publish queues of a topic from its route (fetching it if needed).
  Result<std::vector<MessageQueue>> FetchPublishQueues(const std::string& topic);
  const std::string& client_id() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ramjet::client
