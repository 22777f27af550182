// Producer groups as learned from heartbeats (RocketMQ's ProducerManager): where transaction
// check-backs and replies go. Thread-safety: internally locked.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client_channel.h"
#include "ramjet/base/mutex.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::broker {

class ProducerManager {
 public:
  void Register(const std::string& group, const ClientChannel& channel);
  void Unregister(const std::string& group, uint64_t connection_id);
  void OnConnectionClosed(uint64_t connection_id);
  std::vector<std::pair<std::string, remoting::ConnectionPtr>> ScanExpired(int64_t now_ms,
                                                                           int64_t expire_ms);
  std::vector<ClientChannel> Channels(const std::string& group) const;
  // Every producer channel of every group (metrics).
  std::vector<ClientChannel> AllChannels() const;
  // The open channel of a client id in any group (the freshest heartbeat wins): where a reply
  // to a request sent by that client goes (REPLY_TO_CLIENT).
  std::optional<ClientChannel> FindByClientId(const std::string& client_id) const;

 private:
  mutable Mutex mu_;
  std::map<std::string, std::map<uint64_t, ClientChannel>> groups_ RJ_GUARDED_BY(mu_);
};

}  // namespace ramjet::broker
