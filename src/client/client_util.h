// Pieces the producer and the consumers share. Private to the client module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/client/message.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::client {

// "a:1;b:2" -> {"a:1", "b:2"}.
std::vector<std::string> SplitNameServers(std::string_view addrs);

// GET_ROUTEINFO_BY_TOPIC from the first name server that answers (starting at `start`).
// kNotFound when the topic has no route.
Result<protocol::TopicRouteData> QueryRoute(remoting::RemotingClient& client,
                                            const std::vector<std::string>& namesrvs,
                                            const std::string& topic, int timeout_ms,
                                            size_t start = 0);

// The client id sent in heartbeats: ip@instance, where the instance name DEFAULT becomes
// pid#time so that several clients of one process stay distinct (as the Java client does).
std::string MakeClientId(const std::string& client_ip, const std::string& instance_name);

// UNREGISTER_CLIENT to each broker (empty group names are left out); failures are ignored, as
// the brokers drop a closed connection anyway.
void UnregisterFromBrokers(remoting::RemotingClient& client,
                           const std::vector<std::string>& brokers, const std::string& client_id,
                           const std::string& producer_group, const std::string& consumer_group);

// AllocateMessageQueueAveragely: this client's share of `all` (both lists sorted by the caller or
// not; they are sorted here), empty if client_id is not among consumer_ids.
std::vector<MessageQueue> AllocateAveragely(const std::vector<MessageQueue>& all,
                                            std::vector<std::string> consumer_ids,
                                            const std::string& client_id);

// The client's queue and the protocol's (the same fields; the public API keeps its own type).
protocol::MessageQueue ToProtocol(const MessageQueue& mq);
MessageQueue FromProtocol(const protocol::MessageQueue& mq);

}  // namespace ramjet::client
