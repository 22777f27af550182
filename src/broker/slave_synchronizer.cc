#include "slave_synchronizer.h"

#include "ramjet/acl/signature.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/config_files.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;
namespace req = protocol::request_code;

SlaveSynchronizer::SlaveSynchronizer(BrokerContext* bc, ScheduleService* schedule)
    : bc_(*bc), schedule_(schedule) {}

void SlaveSynchronizer::Start() {
  remoting::EndpointOptions o;
  o.name = "slave-sync";
  o.version = protocol::kVersionV4_9_8;
  if (Status s = bc_.config().tls.ApplyToClient(&o); !s.ok()) {  // checked at start: unexpected
    RJ_LOG(kError, "broker", "tlsEnable: %s", std::string(s.message()).c_str());
  }
  if (const BrokerConfig& c = bc_.config(); !c.cluster_access_key.empty()) {
    o.sign_request = [cred = acl::Credentials{c.cluster_access_key, c.cluster_secret_key, ""}](
                         protocol::RemotingCommand* r) { acl::Sign(r, cred); };
  }
  client_ = std::make_unique<remoting::RemotingClient>(o, 3000);
  scheduler_.RunEvery(3000, 10000, [this] { SyncAll(); });
}

void SlaveSynchronizer::Stop() {
  scheduler_.Stop();
  if (client_) client_->Shutdown();
}

void SlaveSynchronizer::SetMasterAddr(const std::string& addr) {
  {
    MutexLock l(&mu_);
    if (addr == master_addr_) return;
    master_addr_ = addr;
  }
  RJ_LOG(kInfo, "broker", "slave: master is %s", addr.empty() ? "unknown" : addr.c_str());
  if (!addr.empty()) scheduler_.RunAfter(0, [this] { SyncAll(); });
}

void SlaveSynchronizer::SyncAll() {
  std::string master;
  {
    MutexLock l(&mu_);
    master = master_addr_;
  }
  if (master.empty() || !client_) return;
  MutexLock l(&sync_mu_);
  // One after the other, and none after a failure: an unreachable master costs one request
  // timeout per round, not four (a slave's shutdown waits for the round in progress).
  Status s = SyncTopics(master);
  if (s.ok()) s = SyncOffsets(master);
  if (s.ok()) s = SyncDelayOffsets(master);
  if (s.ok()) s = SyncGroups(master);
  if (!s.ok()) {
    RJ_LOG(kWarn, "broker", "slave sync from master %s: %s", master.c_str(), s.ToString().c_str());
  }
}

Result<std::string> SlaveSynchronizer::Fetch(const std::string& master, int32_t code) {
  auto r = client_->InvokeSync(master, protocol::RemotingCommand::Request(code), 3000);
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) {
    return Status::Unavailable("request " + std::to_string(code) + " answered " +
                               std::to_string(r->code) + " " + r->remark.value_or(""));
  }
  return std::move(r->body);
}

Status SlaveSynchronizer::SyncTopics(const std::string& master) {
  RJ_ASSIGN_OR_RETURN(std::string body, Fetch(master, req::kGetAllTopicConfig));
  RJ_ASSIGN_OR_RETURN(auto w, protocol::TopicConfigSerializeWrapper::Parse(body));
  RJ_ASSIGN_OR_RETURN(bool changed, bc_.topics.ReplaceAll(w));
  if (changed) bc_.TopicsChanged();  // the name servers learn the slave's topics
  return Status::OK();
}

Status SlaveSynchronizer::SyncOffsets(const std::string& master) {
  RJ_ASSIGN_OR_RETURN(std::string body, Fetch(master, req::kGetAllConsumerOffset));
  RJ_ASSIGN_OR_RETURN(auto w, protocol::ConsumerOffsetWrapper::Decode(body));
  bc_.offsets.ReplaceAll(w);
  return bc_.offsets.Persist();
}

Status SlaveSynchronizer::SyncDelayOffsets(const std::string& master) {
  RJ_ASSIGN_OR_RETURN(std::string body, Fetch(master, req::kGetAllDelayOffset));
  RJ_ASSIGN_OR_RETURN(auto file, protocol::DelayOffsetFile::Decode(body));
  return schedule_->ReplaceOffsets(file.offset_table);
}

Status SlaveSynchronizer::SyncGroups(const std::string& master) {
  RJ_ASSIGN_OR_RETURN(std::string body, Fetch(master, req::kGetAllSubscriptionGroupConfig));
  RJ_ASSIGN_OR_RETURN(auto w, protocol::SubscriptionGroupWrapper::Decode(body));
  return bc_.groups.ReplaceAll(w);
}

}  // namespace ramjet::broker
