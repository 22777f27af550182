#include "namesrv_auth.h"

#include <atomic>
#include <memory>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::namesrv {

namespace req = protocol::request_code;

bool IsNamesrvWrite(int32_t code) {
  switch (code) {
    case req::kRegisterBroker:
    case req::kUnregisterBroker:
    case req::kPutKvConfig:
    case req::kDeleteKvConfig:
    case req::kWipeWritePermOfBroker:
    case req::kAddWritePermOfBroker:
    case req::kDeleteTopicInNamesrv:
    case req::kUpdateNamesrvConfig:
      return true;
    default:
      return false;
  }
}

std::function<Status(const protocol::RemotingCommand&, const std::string&)> ClusterAuthorizer(
    acl::Credentials cluster) {
  auto last_log_us = std::make_shared<std::atomic<int64_t>>(0);
  return [cluster = std::move(cluster), last_log_us](const protocol::RemotingCommand& r,
                                                     const std::string& from) -> Status {
    if (!IsNamesrvWrite(r.code) || acl::SignedBy(r, cluster)) return Status::OK();
    const std::string key(r.Find(acl::kAccessKeyField).value_or(""));
    std::string why = key.empty() ? "not signed" : "not signed with the cluster credential";
    const int64_t now = MonoMicros();
    int64_t last = last_log_us->load();
    if (now - last >= 1'000'000 && last_log_us->compare_exchange_strong(last, now)) {
      RJ_LOG(kWarn, "namesrv", "request code %d from %s refused: %s (clusterAccessKey)", r.code,
             from.c_str(), why.c_str());
    }
    return Status::PermissionDenied("request code " + std::to_string(r.code) + " refused: " + why +
                                    " (clusterAccessKey)");
  };
}

}  // namespace ramjet::namesrv
