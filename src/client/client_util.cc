#include "client_util.h"

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

}  // namespace ramjet::client
