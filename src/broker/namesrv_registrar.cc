#include "namesrv_registrar.h"

#include "ramjet/acl/signature.h"
#include "ramjet/base/config.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::broker {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

NamesrvRegistrar::NamesrvRegistrar(BrokerContext* bc) : bc_(*bc) {}

NamesrvRegistrar::~NamesrvRegistrar() {
  if (client_) client_->Shutdown();
  pool_.Shutdown();
}

void NamesrvRegistrar::Start() {
  remoting::EndpointOptions co;
  co.name = "broker-out";
  co.version = protocol::kVersionV4_9_8;
  if (Status s = bc_.config().tls.ApplyToClient(&co); !s.ok()) {  // checked at start: unexpected
    RJ_LOG(kError, "broker", "tlsEnable: %s", std::string(s.message()).c_str());
  }
  if (const BrokerConfig& c = bc_.config(); !c.cluster_access_key.empty()) {
    co.sign_request = [cred = acl::Credentials{c.cluster_access_key, c.cluster_secret_key, ""}](
                          protocol::RemotingCommand* r) { acl::Sign(r, cred); };
  }
  client_ = std::make_unique<remoting::RemotingClient>(co, 3000);
  started_ = true;
}

std::vector<std::string> NamesrvRegistrar::NameServers() const {
  return SplitList(bc_.config().namesrv_addr);
}

RemotingCommand NamesrvRegistrar::IdentifiedRequest(int32_t code) const {
  const BrokerConfig& config = bc_.config();
  RemotingCommand cmd = RemotingCommand::Request(code);
  cmd.Set("brokerAddr", config.BrokerAddr());
  cmd.Set("brokerId", config.broker_id);
  cmd.Set("brokerName", config.broker_name);
  cmd.Set("clusterName", config.broker_cluster_name);
  return cmd;
}

Result<protocol::TopicRouteData> NamesrvRegistrar::QueryRoute(const std::string& topic,
                                                              int timeout_ms) {
  if (!started_ || !client_) return Status::Unavailable("not connected to name servers");
  Status last = Status::Unavailable("no name server configured");
  for (const auto& ns : NameServers()) {
    RemotingCommand cmd = RemotingCommand::Request(req::kGetRouteinfoByTopic);
    cmd.Set("topic", topic);
    auto r = client_->InvokeSync(ns, std::move(cmd), timeout_ms);
    if (!r.ok()) {
      last = r.status();
    } else if (r->code != rc::kSuccess) {
      std::string what = "no route of " + topic;
      what += " on ";
      what += ns;
      last = Status::NotFound(what);
    } else {
      return protocol::TopicRouteData::Parse(r->body);
    }
  }
  return last;
}

void NamesrvRegistrar::Trigger() {
  if (!started_) return;
  pool_.TrySubmit([this] { RegisterNow(); });
}

void NamesrvRegistrar::RegisterNow() {
  MutexLock l(&register_mu_);
  if (!client_) return;
  const BrokerConfig& config = bc_.config();
  if (bc_.controller != nullptr && !config.IsSlave() && !bc_.controller->Writable()) {
    // A fenced master must not claim brokerId 0 back from the group's new master.
    RJ_LOG(kWarn, "broker", "not registering: no longer the group's master");
    return;
  }
  protocol::RegisterBrokerBody body;
  body.topic_config_wrapper = bc_.topics.Snapshot();
  const int32_t perm = bc_.Live()->broker_permission;
  if ((perm & (protocol::kPermRead | protocol::kPermWrite)) !=
      (protocol::kPermRead | protocol::kPermWrite)) {
    for (auto& [k, t] : body.topic_config_wrapper.topic_config_table) {
      t.perm &= perm | protocol::kPermInherit;
    }
  }
  std::string json = body.ToJson();
  for (const auto& ns : NameServers()) {
    RemotingCommand cmd = IdentifiedRequest(req::kRegisterBroker);
    cmd.Set("haServerAddr", config.broker_ip2 + ":" + std::to_string(config.ha_listen_port));
    cmd.Set("compressed", std::string("false"));
    cmd.Set("bodyCrc32", static_cast<int64_t>(Crc32(json) & 0x7FFFFFFF));
    cmd.body = json;
    auto r = client_->InvokeSync(ns, std::move(cmd), config.register_broker_timeout_mills);
    if (!r.ok()) {
      RJ_LOG(kWarn, "broker", "register to name server %s failed: %s", ns.c_str(),
             r.status().ToString().c_str());
    } else if (r->code != rc::kSuccess) {
      RJ_LOG(kWarn, "broker", "name server %s refused registration: code %d %s", ns.c_str(),
             r->code, r->remark.value_or("").c_str());
    } else if (on_registered_) {
      on_registered_(std::string(r->Find("masterAddr").value_or("")),
                     std::string(r->Find("haServerAddr").value_or("")));
    }
  }
}

void NamesrvRegistrar::Shutdown() {
  if (!started_.exchange(false)) return;
  pool_.Shutdown();  // a queued registration runs before the unregistration, not after
  for (const auto& ns : NameServers()) {
    RemotingCommand cmd = IdentifiedRequest(req::kUnregisterBroker);
    auto r = client_->InvokeSync(ns, std::move(cmd), 3000);
    if (!r.ok()) {
      RJ_LOG(kWarn, "broker", "unregister from name server %s failed: %s", ns.c_str(),
             r.status().ToString().c_str());
    }
  }
  client_->Shutdown();
}

}  // namespace ramjet::broker
