// Request–reply (RocketMQ 4.7+): SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325).
//
// A responder answers a request message with a reply to <cluster>_REPLY_TOPIC carrying the
// request's CORRELATION_ID and REPLY_TO_CLIENT (the requester's client id). The broker stores the
// reply (storeReplyMessageEnable) and pushes it to the requester's connection, found among the
// producers by REPLY_TO_CLIENT, with PUSH_REPLY_MESSAGE_TO_CLIENT (326); the sender of the reply
// gets SUCCESS (msgId "0", queueOffset 0, as Apache RocketMQ answers) once the requester has
// acknowledged the push, or SYSTEM_ERROR naming what failed.
//
// Threading: Process runs on an executor thread; the store and push callbacks run on store and
// I/O threads. The processor holds no lock of its own; its collaborators are internally locked.
#pragma once

#include <functional>
#include <memory>

#include "producer_manager.h"
#include "ramjet/broker/broker.h"
#include "ramjet/remoting/remoting.h"
#include "ramjet/store/message_store.h"
#include "topic_config_manager.h"

namespace ramjet::broker {

class ReplyProcessor {
 public:
  using LiveConfig = std::function<std::shared_ptr<const BrokerConfig>()>;
  ReplyProcessor(store::MessageStore* store, TopicConfigManager* topics,
                 const ProducerManager* producers, remoting::Endpoint* server, LiveConfig live)
      : store_(store),
        topics_(topics),
        producers_(producers),
        server_(server),
        live_(std::move(live)) {}

  void Process(const remoting::RequestContextPtr& ctx);

 private:
  struct Reply;
  void Push(const remoting::RequestContextPtr& ctx, const std::shared_ptr<const Reply>& reply);

  store::MessageStore* store_;
  TopicConfigManager* topics_;
  const ProducerManager* producers_;
  remoting::Endpoint* server_;
  LiveConfig live_;
};

}  // namespace ramjet::broker
