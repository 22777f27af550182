#include "client_util.h"

#include <unistd.h>

#include <algorithm>

#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::client {

std::vector<std::string> SplitNameServers(std::string_view s) { return SplitList(s, ';'); }

Result<protocol::TopicRouteData> QueryRoute(remoting::RemotingClient& client,
                                            const std::vector<std::string>& namesrvs,
                                            const std::string& topic, int timeout_ms,
                                            size_t start) {
  namespace rc = protocol::response_code;
  Status last = Status::Unavailable("no name server answered");
  for (size_t i = 0; i < namesrvs.size(); ++i) {
    const std::string& ns = namesrvs[(start + i) % namesrvs.size()];
    auto r = protocol::RemotingCommand::Request(protocol::request_code::kGetRouteinfoByTopic);
    r.Set("topic", topic);
    auto resp = client.InvokeSync(ns, r, timeout_ms);
    if (!resp.ok()) {
      last = resp.status();
      continue;
    }
    if (resp->code == rc::kTopicNotExist) {
      return Status::NotFound("No route info of this topic: " + topic);
    }
    if (resp->code != rc::kSuccess) {
      return Status::Unavailable("name server " + ns + " answered " + std::to_string(resp->code) +
                                 ": " + resp->remark.value_or(""));
    }
    return protocol::TopicRouteData::Parse(resp->body);
  }
  return last;
}

std::string MakeClientId(const std::string& client_ip, const std::string& instance_name) {
  std::string inst = instance_name;
  if (inst == "DEFAULT") {
    inst = std::to_string(::getpid()) + "#" + std::to_string(MonoMicros() * 1000);
  }
  return client_ip + "@" + inst;
}

void UnregisterFromBrokers(remoting::RemotingClient& client,
                           const std::vector<std::string>& brokers, const std::string& client_id,
                           const std::string& producer_group, const std::string& consumer_group) {
  for (const auto& addr : brokers) {
    auto u = protocol::RemotingCommand::Request(protocol::request_code::kUnregisterClient);
    u.Set("clientID", client_id);
    if (!producer_group.empty()) u.Set("producerGroup", producer_group);
    if (!consumer_group.empty()) u.Set("consumerGroup", consumer_group);
    (void)client.InvokeSync(addr, u, 3000);
  }
}

std::vector<MessageQueue> AllocateAveragely(std::vector<MessageQueue> all,
                                            std::vector<std::string> cids,
                                            const std::string& client_id) {
  std::sort(all.begin(), all.end());
  std::sort(cids.begin(), cids.end());
  auto me = std::find(cids.begin(), cids.end(), client_id);
  std::vector<MessageQueue> out;
  if (me == cids.end() || all.empty()) return out;
  size_t n = all.size(), m = cids.size(), idx = static_cast<size_t>(me - cids.begin());
  size_t mod = n % m;
  size_t avg = n <= m ? 1 : (mod > 0 && idx < mod ? n / m + 1 : n / m);
  size_t start = (mod > 0 && idx < mod) ? idx * avg : idx * avg + mod;
  size_t range = start < n ? std::min(avg, n - start) : 0;
  for (size_t i = 0; i < range; ++i) out.push_back(all[(start + i) % n]);
  return out;
}

protocol::MessageQueue ToProtocol(const MessageQueue& mq) {
  return {mq.topic, mq.broker_name, mq.queue_id};
}

MessageQueue FromProtocol(const protocol::MessageQueue& mq) {
  return {mq.topic, mq.broker_name, mq.queue_id};
}

}  // namespace ramjet::client
