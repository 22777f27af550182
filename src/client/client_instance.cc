#include "client_instance.h"

#include <algorithm>

#include "client_util.h"
#include "ramjet/base/logging.h"
#include "ramjet/client/message.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::client::detail {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

namespace {

// The process-wide table of live instances by client id (RocketMQ's MQClientManager).
Mutex registry_mu;
std::map<std::string, std::weak_ptr<ClientInstance>>& Registry() {
  static auto* table = new std::map<std::string, std::weak_ptr<ClientInstance>>();
  return *table;
}

// Requests a broker sends to a client, with the header key naming the group they are for (empty:
// the producer group is a property of the message in the body).
struct BrokerRequest {
  int32_t code;
  const char* group_key;
  bool on_io_thread;  // cheap and must not wait behind a busy pool
};
constexpr BrokerRequest kBrokerRequests[] = {
    {req::kCheckTransactionState, "", false},
    {req::kNotifyConsumerIdsChanged, "consumerGroup", true},
    {req::kResetConsumerClientOffset, "group", false},
    {req::kGetConsumerRunningInfo, "consumerGroup", true},
    {req::kConsumeMessageDirectly, "consumerGroup", false},
};

const BrokerRequest* FindBrokerRequest(int32_t code) {
  for (const auto& r : kBrokerRequests) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

}  // namespace

Result<std::shared_ptr<ClientInstance>> ClientInstance::Acquire(const std::string& client_id,
                                                                const InstanceOptions& options) {
  if (SplitNameServers(options.namesrv_addr).empty()) {
    return Status::InvalidArgument("no name server address (namesrvAddr)");
  }
  MutexLock l(&registry_mu);
  auto& table = Registry();
  if (auto it = table.find(client_id); it != table.end()) {
    if (auto live = it->second.lock()) return live;
  }
  std::shared_ptr<ClientInstance> inst(new ClientInstance(client_id, options));
  inst->Start();
  table[client_id] = inst;
  return inst;
}

ClientInstance::ClientInstance(std::string client_id, InstanceOptions options)
    : client_id_(std::move(client_id)),
      options_(std::move(options)),
      namesrvs_(SplitNameServers(options_.namesrv_addr)),
      scheduler_("mq-client") {}

ClientInstance::~ClientInstance() {
  {
    MutexLock l(&registry_mu);
    auto& table = Registry();
    auto it = table.find(client_id_);
    if (it != table.end() && it->second.expired()) table.erase(it);
  }
  scheduler_.Stop();
  request_pool_->Shutdown();
  remoting_->Shutdown();
}

void ClientInstance::Start() {
  remoting::EndpointOptions o;
  o.name = "mq-client";
  o.language = protocol::LanguageCode::kCpp;
  o.version = 409;
  if (!options_.credentials.empty()) {
    o.sign_request = [c = options_.credentials](protocol::RemotingCommand* r) { acl::Sign(r, c); };
  }
  o.tls = options_.tls;
  remoting_ = std::make_unique<remoting::RemotingClient>(o, 3000);
  request_pool_ = std::make_unique<remoting::ThreadPool>("mq-client-req", 2, 10000);
  for (const auto& r : kBrokerRequests) {
    // The instance outlives its remoting client's I/O threads (the destructor joins them).
    remoting_->RegisterProcessor(
        r.code, [this](const remoting::RequestContextPtr& ctx) { Dispatch(ctx); },
        r.on_io_thread ? nullptr : request_pool_.get());
  }
  scheduler_.RunEvery(options_.poll_name_server_interval_ms, options_.poll_name_server_interval_ms,
                      [this] { RefreshRoutes(); });
  scheduler_.RunEvery(options_.heartbeat_interval_ms, options_.heartbeat_interval_ms,
                      [this] { HeartbeatAll(); });
}

Status ClientInstance::Register(MemberRole role, const std::string& group,
                                std::shared_ptr<ClientMember> m) {
  MutexLock l(&mu_);
  auto [it, inserted] = members_.emplace(std::make_pair(role, group), std::move(m));
  if (!inserted) {
    return Status::InvalidArgument(
        std::string(role == MemberRole::kProducer ? "The producer" : "The consumer") + " group[" +
        group + "] has been created before, specify another instance name please.");
  }
  return Status::OK();
}

void ClientInstance::Unregister(MemberRole role, const std::string& group) {
  {
    MutexLock l(&mu_);
    members_.erase({role, group});
  }
  UnregisterFromBrokers(*remoting_, Brokers(), client_id_,
                        role == MemberRole::kProducer ? group : std::string(),
                        role == MemberRole::kConsumer ? group : std::string());
}

std::vector<std::shared_ptr<ClientMember>> ClientInstance::Members() {
  MutexLock l(&mu_);
  std::vector<std::shared_ptr<ClientMember>> out;
  out.reserve(members_.size());
  for (const auto& [key, m] : members_) out.push_back(m);
  return out;
}

Result<protocol::TopicRouteData> ClientInstance::UpdateRoute(const std::string& topic,
                                                             int timeout_ms) {
  RJ_ASSIGN_OR_RETURN(protocol::TopicRouteData route,
                      QueryRoute(*remoting_, namesrvs_, topic, timeout_ms, ns_index_.fetch_add(1)));
  bool new_broker = false;
  {
    MutexLock l(&mu_);
    routes_[topic] = route;
    for (const auto& b : route.broker_datas) {
      for (const auto& [id, addr] : b.broker_addrs) {
        new_broker |= (id == 0 ? brokers_ : slaves_).insert(addr).second;
      }
      auto m = b.broker_addrs.find(0);
      if (m == b.broker_addrs.end()) {
        masters_.erase(b.broker_name);
        continue;
      }
      masters_[b.broker_name] = m->second;
    }
  }
  for (const auto& m : Members()) {
    auto topics = m->TopicsInUse();
    if (std::find(topics.begin(), topics.end(), topic) != topics.end()) m->OnRoute(topic, route);
  }
  if (new_broker) HeartbeatAll();
  return route;
}

std::string ClientInstance::MasterOf(const std::string& broker_name) {
  MutexLock l(&mu_);
  auto it = masters_.find(broker_name);
  return it == masters_.end() ? std::string() : it->second;
}

std::vector<std::string> ClientInstance::Brokers() {
  MutexLock l(&mu_);
  return {brokers_.begin(), brokers_.end()};
}

void ClientInstance::RefreshRoutes() {
  std::set<std::string> topics;
  for (const auto& m : Members()) {
    for (auto& t : m->TopicsInUse()) topics.insert(std::move(t));
  }
  for (const auto& t : topics) (void)UpdateRoute(t);
}

void ClientInstance::HeartbeatAll() {
  protocol::HeartbeatData hb;
  hb.client_id = client_id_;
  for (const auto& m : Members()) m->FillHeartbeat(&hb);
  // Every Java client instance carries its inner producer group.
  if (std::find(hb.producer_groups.begin(), hb.producer_groups.end(), "CLIENT_INNER_PRODUCER") ==
      hb.producer_groups.end()) {
    hb.producer_groups.push_back("CLIENT_INNER_PRODUCER");
  }
  const std::string body = hb.ToJson();
  std::vector<std::string> to = Brokers();
  if (!hb.consumer_data_set.empty()) {
    // Consumers also tell slaves (RocketMQ's sendHeartbeatToAllBroker): a slave serves them when
    // their master is down, and answers their consumer list.
    MutexLock l(&mu_);
    to.insert(to.end(), slaves_.begin(), slaves_.end());
  }
  for (const auto& addr : to) {
    RemotingCommand r = RemotingCommand::Request(req::kHeartBeat);
    r.body = body;
    auto resp = remoting_->InvokeSync(addr, r, 3000);
    if (!resp.ok() || resp->code != rc::kSuccess) {
      RJ_LOG(kWarn, "client", "heartbeat to %s failed: %s", addr.c_str(),
             resp.ok() ? resp->remark.value_or("").c_str() : resp.status().ToString().c_str());
    }
  }
}

std::shared_ptr<ClientMember> ClientInstance::MemberFor(const RemotingCommand& request) {
  const BrokerRequest* kind = FindBrokerRequest(request.code);
  if (kind == nullptr) return nullptr;
  MutexLock l(&mu_);
  if (*kind->group_key != '\0') {
    auto it = members_.find(
        {MemberRole::kConsumer, std::string(request.Find(kind->group_key).value_or(""))});
    return it == members_.end() ? nullptr : it->second;
  }
  // CHECK_TRANSACTION_STATE: the half message names its producer group (PGROUP); without it,
  // the only producer of the instance answers.
  std::string group;
  {
    auto msgs = DecodeMessages(request.body);
    if (msgs.ok() && !msgs->empty()) group = msgs->front().Property("PGROUP");
  }
  std::shared_ptr<ClientMember> only;
  int producers = 0;
  for (const auto& [key, m] : members_) {
    if (key.first != MemberRole::kProducer) continue;
    if (key.second == group) return m;
    ++producers;
    only = m;
  }
  return group.empty() && producers == 1 ? only : nullptr;
}

void ClientInstance::Dispatch(const remoting::RequestContextPtr& ctx) {
  auto member = MemberFor(ctx->request());
  if (member) return member->OnBrokerRequest(ctx);
  const int32_t code = ctx->request().code;
  RJ_LOG(kWarn, "client", "request %d from a broker for a group this client (%s) does not have",
         code, client_id_.c_str());
  if (code == req::kGetConsumerRunningInfo || code == req::kConsumeMessageDirectly) {
    ctx->RespondCode(rc::kSystemError,
                     "The Consumer Group <" +
                         std::string(ctx->request().Find("consumerGroup").value_or("")) +
                         "> not exist in this consumer");
  }
}

}  // namespace ramjet::client::detail
