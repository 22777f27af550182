#include "broker_context.h"

#include "ramjet/base/names.h"

namespace ramjet::broker {

namespace req = protocol::request_code;
namespace rc = protocol::response_code;

store::FileSystem* FileSystemOf(const BrokerConfig& config) {
  return config.store.file_system ? config.store.file_system : store::PosixFileSystem();
}

BrokerContext::BrokerContext(BrokerConfig config)
    : topics(config.store.root_dir + "/config/topics.json", FileSystemOf(config)),
      groups(config.store.root_dir + "/config/subscriptionGroup.json", FileSystemOf(config)),
      offsets(config.store.root_dir + "/config/consumerOffset.json", FileSystemOf(config)),
      stats(config.broker_cluster_name),
      config_(std::move(config)),
      live_(std::make_shared<const BrokerConfig>(config_)) {}

Status BrokerContext::LoadMetadata() {
  RJ_RETURN_IF_ERROR(topics.Load());
  RJ_RETURN_IF_ERROR(groups.Load());
  return offsets.Load();
}

protocol::TopicConfig BrokerContext::GroupTopicConfig(const std::string& name, int32_t queues) {
  protocol::TopicConfig t;
  t.topic_name = name;
  t.read_queue_nums = t.write_queue_nums = queues;
  t.perm = protocol::kPermRead | protocol::kPermWrite;
  return t;
}

Status BrokerContext::EnsureGroupTopic(const std::string& name, int32_t queues) {
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(name));
  auto added = topics.AddIfAbsent(GroupTopicConfig(name, queues));
  if (!added.ok()) return added.status();
  if (*added) TopicsChanged();
  return Status::OK();
}

uint32_t BrokerContext::Random() {
  MutexLock l(&rng_mu_);
  return rng_();
}

void BrokerContext::NotifyConsumerIdsChanged(const std::string& group) {
  if (server == nullptr) return;
  for (const auto& conn : consumers.Connections(group)) {
    auto n = protocol::RemotingCommand::Request(req::kNotifyConsumerIdsChanged);
    n.Set("consumerGroup", group);
    server->InvokeOneway(conn, std::move(n));
  }
}

bool BrokerContext::SendToProducer(const std::string& group, protocol::RemotingCommand cmd) {
  if (server == nullptr) return false;
  std::vector<ClientChannel> live;
  for (auto& c : producers.Channels(group)) {
    if (!c.conn->closed()) live.push_back(c);
  }
  if (live.empty()) return false;
  const auto& pick = live[Random() % live.size()];
  return server->InvokeOneway(pick.conn, std::move(cmd));
}

void RespondError(const remoting::RequestContextPtr& ctx, const Status& s) {
  ctx->RespondCode(rc::kSystemError, std::string(s.message()));
}

}  // namespace ramjet::broker
