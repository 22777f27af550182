// Consumer groups as learned from heartbeats (RocketMQ's ConsumerManager): channels,
// subscriptions, consume settings. Thread-safety: internally locked; callers send notifications
// (NOTIFY_CONSUMER_IDS_CHANGED) outside the lock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client_channel.h"
#include "ramjet/base/mutex.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::broker {

struct ConsumerGroupSnapshot {
  std::string group;
  protocol::ConsumeType consume_type = protocol::ConsumeType::kConsumePassively;
  protocol::MessageModel message_model = protocol::MessageModel::kClustering;
  int32_t consume_from_where = 0;
  std::vector<ClientChannel> channels;
  std::map<std::string, protocol::SubscriptionData> subscriptions;
};

class ConsumerManager {
 public:
  // Registers or refreshes a consumer channel. Returns true when the group's membership or
  // subscriptions changed (so the group should be told to rebalance).
  bool Register(const protocol::ConsumerData& data, const ClientChannel& channel);
  // Removes one channel from a group; true if it was there.
  bool Unregister(const std::string& group, uint64_t connection_id);
  // Removes a closed connection from every group; returns the groups that changed.
  std::vector<std::string> OnConnectionClosed(uint64_t connection_id);
  // Drops channels silent for longer than expire_ms; returns (group, connection) pairs removed.
  std::vector<std::pair<std::string, remoting::ConnectionPtr>> ScanExpired(int64_t now_ms,
                                                                           int64_t expire_ms);
  std::optional<ConsumerGroupSnapshot> Find(const std::string& group) const;
  std::vector<std::string> ClientIds(const std::string& group) const;
  std::vector<remoting::ConnectionPtr> Connections(const std::string& group) const;
  std::set<std::string> Groups() const;

 private:
  struct Group {
    protocol::ConsumeType consume_type;
    protocol::MessageModel message_model;
    int32_t consume_from_where = 0;
    std::map<uint64_t, ClientChannel> channels;
    std::map<std::string, protocol::SubscriptionData> subscriptions;
  };
  mutable Mutex mu_;
  std::map<std::string, Group> groups_ RJ_GUARDED_BY(mu_);
};

}  // namespace ramjet::broker
