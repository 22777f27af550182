// Private to the admin library: the remoting client and name-server fallback every call uses.
// Threading: as Admin (the remoting client is thread-safe; the members are set once).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ramjet/admin/admin.h"
#include "ramjet/base/config.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::admin {

// broker name -> master address, from a topic route.
std::map<std::string, std::string> Masters(const protocol::TopicRouteData& route);

class Admin::Impl {
  using RemotingCommand = protocol::RemotingCommand;

 public:
  Impl(const std::string& ns, int timeout_ms, const acl::Credentials& credentials,
       std::shared_ptr<remoting::TlsContext> tls)
      : namesrvs_(SplitList(ns)), timeout_ms_(timeout_ms) {
    remoting::EndpointOptions o;
    o.tls = std::move(tls);
    if (!credentials.empty()) {
      o.sign_request = [credentials](protocol::RemotingCommand* r) { acl::Sign(r, credentials); };
    }
    o.name = "admin";
    o.language = protocol::LanguageCode::kCpp;
    client_ = std::make_unique<remoting::RemotingClient>(o, 3000);
  }
  ~Impl() { client_->Shutdown(); }

  Result<RemotingCommand> Call(const std::string& addr, int32_t code,
                               const std::vector<std::pair<std::string, std::string>>& fields,
                               std::string body = {}, int timeout_ms = 0) {
    RemotingCommand r = RemotingCommand::Request(code);
    for (auto& [k, v] : fields) r.Set(k, v);
    r.body = std::move(body);
    return client_->InvokeSync(addr, std::move(r), timeout_ms > 0 ? timeout_ms : timeout_ms_);
  }
  // PULL_MESSAGE of up to max_num (1..32) records of a queue from `offset`, as the tools do
  // (TOOLS_CONSUMER, no commit, no suspension). Not SUCCESS: no records, and `next` says where
  // the queue goes on (nextBeginOffset: past a hole, or the queue's first offset after
  // retention), or `offset` when the answer has none.
  struct PullBatch {
    std::vector<client::MessageExt> messages;
    int64_t next = 0;
    std::optional<std::string> refused;  // the remark of an answer that is not SUCCESS
    int32_t code = 0;                    // the answer's code
  };
  Result<PullBatch> Pull(const std::string& addr, const std::string& topic, int32_t queue_id,
                         int64_t offset, int max_num);
  // First name server that answers with SUCCESS.
  Result<RemotingCommand> CallNamesrv(
      int32_t code, const std::vector<std::pair<std::string, std::string>>& fields) {
    if (namesrvs_.empty()) return Status::InvalidArgument("no name server address (-n)");
    Status last = Status::Unavailable("no name server answered");
    for (const auto& ns : namesrvs_) {
      auto r = Call(ns, code, fields);
      if (!r.ok()) {
        last = r.status();
        continue;
      }
      return r;
    }
    return last;
  }
  static Status Expect(const RemotingCommand& r, const std::string& what) {
    if (r.code == protocol::response_code::kSuccess) return Status::OK();
    return Status(
        r.code == protocol::response_code::kTopicNotExist ||
                r.code == protocol::response_code::kQueryNotFound
            ? StatusCode::kNotFound
            : StatusCode::kUnavailable,
        what + " failed: CODE " + std::to_string(r.code) + " DESC: " + r.remark.value_or(""));
  }

  std::vector<std::string> namesrvs_;
  int timeout_ms_;
  std::unique_ptr<remoting::RemotingClient> client_;
};

}  // namespace ramjet::admin
