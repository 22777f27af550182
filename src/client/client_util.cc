#include "client_util.h"

#include <unistd.h>

#include <algorithm>

#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/pop_headers.h"

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

std::vector<MessageQueue> AllocateAveragely(const std::vector<MessageQueue>& all,
                                            std::vector<std::string> cids,
                                            const std::string& client_id) {
  std::vector<protocol::MessageQueue> mqs;
  mqs.reserve(all.size());
  for (const auto& mq : all) mqs.push_back(ToProtocol(mq));
  std::vector<MessageQueue> out;
  for (const auto& mq : protocol::AllocateAveragely(std::move(mqs), std::move(cids), client_id)) {
    out.push_back(FromProtocol(mq));
  }
  return out;
}

protocol::MessageQueue ToProtocol(const MessageQueue& mq) {
  return {mq.topic, mq.broker_name, mq.queue_id};
}

MessageQueue FromProtocol(const protocol::MessageQueue& mq) {
  return {mq.topic, mq.broker_name, mq.queue_id};
}

}  // namespace ramjet::client
