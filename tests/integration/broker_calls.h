// Raw remoting calls the multi-process replication and failover tests make to one broker or
// name server (no client library in between): a send, the members of a group's route, every
// message of a topic, runtime info.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ramjet/base/clock.h"
#include "ramjet/client/message.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::testing {

class BrokerCalls {
 public:
  BrokerCalls() : raw_(std::make_unique<remoting::RemotingClient>(remoting::EndpointOptions{})) {}
  ~BrokerCalls() { raw_->Shutdown(); }

  Result<protocol::RemotingCommand> Call(const std::string& addr, int32_t code,
                                         std::vector<std::pair<std::string, std::string>> fields,
                                         std::string body = {}, int timeout_ms = 8000) {
    auto c = protocol::RemotingCommand::Request(code);
    for (auto& [k, v] : fields) c.Set(k, v);
    c.body = std::move(body);
    return raw_->InvokeSync(addr, std::move(c), timeout_ms);
  }
  // SEND_MESSAGE_V2 of one message to the broker at addr (topic auto-created from TBW102).
  Result<protocol::RemotingCommand> Send(const std::string& addr, const std::string& topic,
                                         const std::string& body, int timeout_ms = 8000) {
    return Call(addr, protocol::request_code::kSendMessageV2,
                {{"a", "PG"},
                 {"b", topic},
                 {"c", "TBW102"},
                 {"d", "4"},
                 {"e", "0"},
                 {"f", "0"},
                 {"g", std::to_string(NowMillis())},
                 {"h", "0"},
                 {"i", ""},
                 {"j", "0"},
                 {"k", "false"}},
                body, timeout_ms);
  }
  // The route's members of the topic's first broker group once the name server lists
  // `members` of them (or what it lists after 15 s).
  std::map<int64_t, std::string> WaitMembers(const std::string& ns, const std::string& topic,
                                             size_t members) {
    std::map<int64_t, std::string> out;
    const int64_t end = NowMillis() + 15000;
    while (NowMillis() < end) {
      out = Members(ns, topic);
      if (out.size() >= members) return out;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return out;
  }
  std::map<int64_t, std::string> Members(const std::string& ns, const std::string& topic) {
    auto r = Call(ns, protocol::request_code::kGetRouteinfoByTopic, {{"topic", topic}}, {}, 3000);
    if (!r.ok() || r->code != protocol::response_code::kSuccess) return {};
    auto route = protocol::TopicRouteData::Parse(r->body);
    if (!route.ok() || route->broker_datas.empty()) return {};
    return route->broker_datas[0].broker_addrs;
  }
  std::map<std::string, std::string> RuntimeInfo(const std::string& addr) {
    auto r = Call(addr, protocol::request_code::kGetBrokerRuntimeInfo, {}, {}, 3000);
    if (!r.ok() || r->code != protocol::response_code::kSuccess) return {};
    auto t = protocol::KVTable::Parse(r->body);
    return t.ok() ? t->table : std::map<std::string, std::string>{};
  }
  // Every message of a queue read from addr: offset message id -> body. *exists turns false
  // when the broker does not know the queue.
  std::map<std::string, std::string> ReadQueue(const std::string& addr, const std::string& topic,
                                               int qid, bool* exists = nullptr) {
    namespace rc = protocol::response_code;
    std::map<std::string, std::string> out;
    int64_t off = 0;
    for (int rounds = 0; rounds < 1000; ++rounds) {
      auto r = Call(addr, protocol::request_code::kPullMessage,
                    {{"consumerGroup", "HA_CG"},
                     {"topic", topic},
                     {"queueId", std::to_string(qid)},
                     {"queueOffset", std::to_string(off)},
                     {"maxMsgNums", "32"},
                     {"sysFlag", "4"},
                     {"commitOffset", "0"},
                     {"suspendTimeoutMillis", "0"},
                     {"subscription", "*"},
                     {"subVersion", "0"}});
      if (!r.ok()) break;
      if (r->code != rc::kSuccess) {
        if (exists && r->code != rc::kPullNotFound && r->code != rc::kPullOffsetMoved) {
          *exists = false;
        } else if (r->code != rc::kPullNotFound) {
          ADD_FAILURE() << "pull from " << addr << ": " << r->code << " " << r->remark.value_or("");
        }
        break;
      }
      auto msgs = client::DecodeMessages(r->body);
      EXPECT_TRUE(msgs.ok());
      if (!msgs.ok()) break;
      for (auto& m : *msgs) out[m.offset_msg_id] = m.body;
      off = r->GetInt64Or("nextBeginOffset", off);
    }
    return out;
  }
  // Reads every queue of topic from addr into *found until each acknowledged message is there
  // with its body, or 10 s pass (a slave dispatches replicated records a moment after it
  // appends them); returns how many are missing.
  size_t MissingOn(const std::string& addr, const std::string& topic,
                   const std::map<std::string, std::string>& acked,
                   std::map<std::string, std::string>* found) {
    size_t missing = acked.size();
    for (const int64_t end = NowMillis() + 10000; missing > 0 && NowMillis() < end;) {
      found->clear();
      int queues = 0;
      for (bool exists = true; exists && queues < 64; ++queues) {
        auto part = ReadQueue(addr, topic, queues, &exists);
        found->insert(part.begin(), part.end());
      }
      missing = 0;
      for (const auto& [id, body] : acked) {
        auto it = found->find(id);
        if (it == found->end() || it->second != body) ++missing;
      }
      if (missing > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return missing;
  }

 private:
  std::unique_ptr<remoting::RemotingClient> raw_;
};

}  // namespace ramjet::testing
