// Server-side assignment for RocketMQ 5.x remoting consumers (RocketMQ's
// QueryAssignmentProcessor and MessageRequestModeManager): QUERY_ASSIGNMENT (400) answers a
// consumer's share of a topic's queues, each with its request mode; SET_MESSAGE_REQUEST_MODE
// (401) sets the mode of a topic and group (PULL, the default, or POP with popShareQueueNum),
// persisted in config/messageRequestMode.json; GET_ALL_MESSAGE_REQUEST_MODE (402) returns that
// file's content.
//
// PULL: the queues of every broker of the topic's route (from the name server, else this
// broker's own), allocated among the group's consumers by their strategy ("AVG" or
// "AVG_BY_CIRCLE"). POP: one assignment per broker with queue -1 (pop any queue) when
// popShareQueueNum <= 0 or covers every other consumer; else the consumer's own share plus the
// shares of the next popShareQueueNum consumers. Retry topics are always PULL.
//
// Threading: requests run on the consumer-manage executor; one mutex guards the mode table.
#pragma once

#include <map>
#include <string>

#include "broker_context.h"
#include "namesrv_registrar.h"
#include "ramjet/base/mutex.h"
#include "ramjet/protocol/pop_headers.h"

namespace ramjet::broker {

class AssignmentProcessor {
 public:
  // REQUIRES: bc and registrar outlive the processor.
  AssignmentProcessor(BrokerContext* bc, NamesrvRegistrar* registrar);

  // Reads config/messageRequestMode.json (none yet: an empty table).
  [[nodiscard]] Status Load() RJ_EXCLUDES(mu_);

  void QueryAssignment(const remoting::RequestContextPtr& ctx) RJ_EXCLUDES(mu_);
  void SetMessageRequestMode(const remoting::RequestContextPtr& ctx) RJ_EXCLUDES(mu_);
  void GetAllMessageRequestMode(const remoting::RequestContextPtr& ctx) RJ_EXCLUDES(mu_);

 private:
  std::string Encode() const RJ_REQUIRES(mu_);
  // Every readable queue of topic: the route's brokers, or this broker's when the name server
  // does not answer.
  std::vector<protocol::MessageQueue> QueuesOf(const std::string& topic);

  BrokerContext& bc_;
  NamesrvRegistrar* const registrar_;
  const std::string path_;
  mutable Mutex mu_;
  // topic -> group -> mode
  std::map<std::string, std::map<std::string, protocol::SetMessageRequestModeRequestBody>> modes_
      RJ_GUARDED_BY(mu_);
};

}  // namespace ramjet::broker
