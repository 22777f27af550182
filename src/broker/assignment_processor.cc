#include "assignment_processor.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "metadata_file.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"
#include "system_topics.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;
using nlohmann::json;

namespace {

// POP with a share: the consumer's own allocation and those of the next `share` consumers.
std::vector<protocol::MessageQueue> PopShare(const std::vector<protocol::MessageQueue>& all,
                                             std::vector<std::string> cids, const std::string& cid,
                                             int32_t share) {
  std::sort(cids.begin(), cids.end());
  auto me = std::find(cids.begin(), cids.end(), cid);
  if (me == cids.end() || all.empty()) return {};
  if (cids.size() > all.size()) {  // more consumers than queues: one queue each, shared
    return {all[static_cast<size_t>(me - cids.begin()) % all.size()]};
  }
  std::set<protocol::MessageQueue> out;
  const size_t idx = static_cast<size_t>(me - cids.begin());
  for (int32_t k = 0; k <= share; ++k) {
    const std::string& other = cids[(idx + static_cast<size_t>(k)) % cids.size()];
    for (auto& mq : protocol::AllocateAveragely(all, cids, other)) out.insert(mq);
  }
  return {out.begin(), out.end()};
}

}  // namespace

AssignmentProcessor::AssignmentProcessor(BrokerContext* bc, NamesrvRegistrar* registrar)
    : bc_(*bc),
      registrar_(registrar),
      path_(bc->config().store.root_dir + "/config/messageRequestMode.json") {}

Status AssignmentProcessor::Load() {
  RJ_ASSIGN_OR_RETURN(auto text, ReadIfExists(FileSystemOf(bc_.config()), path_));
  if (!text) return Status::OK();
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(path_ + ": not a JSON object");
  MutexLock l(&mu_);
  auto map = j.find("messageRequestModeMap");
  if (map == j.end() || !map->is_object()) return Status::OK();
  for (const auto& [topic, groups] : map->items()) {
    if (!groups.is_object()) continue;
    for (const auto& [group, body] : groups.items()) {
      auto b = protocol::SetMessageRequestModeRequestBody::Decode(body.dump());
      if (!b.ok()) return Status::Corruption(path_ + ": " + b.status().ToString());
      modes_[topic][group] = *b;
    }
  }
  return Status::OK();
}

std::string AssignmentProcessor::Encode() const {
  json map = json::object();
  for (const auto& [topic, groups] : modes_) {
    for (const auto& [group, body] : groups) map[topic][group] = json::parse(body.Encode());
  }
  return json{{"messageRequestModeMap", map}}.dump();
}

std::vector<protocol::MessageQueue> AssignmentProcessor::QueuesOf(const std::string& topic) {
  std::vector<protocol::MessageQueue> out;
  auto route = registrar_->QueryRoute(topic, 3000);
  if (route.ok()) {
    for (const auto& q : route->queue_datas) {
      if ((q.perm & protocol::kPermRead) == 0) continue;
      for (int32_t i = 0; i < q.read_queue_nums; ++i) out.push_back({topic, q.broker_name, i});
    }
  }
  if (out.empty()) {  // no name server answer: this broker's queues
    if (auto tc = bc_.topics.Find(topic)) {
      for (int32_t i = 0; i < tc->read_queue_nums; ++i) {
        out.push_back({topic, bc_.config().broker_name, i});
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void AssignmentProcessor::QueryAssignment(const remoting::RequestContextPtr& ctx) {
  auto req = protocol::QueryAssignmentRequestBody::Decode(ctx->request().body);
  if (!req.ok()) return ctx->RespondCode(rc::kInvalidParameter, req.status().ToString());
  protocol::SetMessageRequestModeRequestBody mode;
  if (!req->topic.starts_with(kRetryGroupTopicPrefix)) {
    MutexLock l(&mu_);
    auto t = modes_.find(req->topic);
    if (t != modes_.end()) {
      auto g = t->second.find(req->consumer_group);
      if (g != t->second.end()) mode = g->second;
    }
  }
  std::vector<protocol::MessageQueue> all = QueuesOf(req->topic);
  std::vector<std::string> cids = bc_.consumers.ClientIds(req->consumer_group);
  std::vector<protocol::MessageQueue> mine;
  if (req->message_model == "BROADCASTING") {
    mine = all;
  } else if (mode.mode == "POP") {
    if (mode.pop_share_queue_num <= 0 ||
        mode.pop_share_queue_num >= static_cast<int32_t>(cids.size()) - 1) {
      std::set<protocol::MessageQueue> brokers;
      for (const auto& mq : all) brokers.insert({mq.topic, mq.broker_name, -1});
      mine.assign(brokers.begin(), brokers.end());
    } else {
      mine = PopShare(all, cids, req->client_id, mode.pop_share_queue_num);
    }
  } else if (req->strategy_name == "AVG_BY_CIRCLE") {
    mine = protocol::AllocateAveragelyByCircle(all, cids, req->client_id);
  } else {
    mine = protocol::AllocateAveragely(all, cids, req->client_id);
  }
  std::vector<protocol::MessageQueueAssignment> out;
  out.reserve(mine.size());
  for (auto& mq : mine) out.push_back({std::move(mq), mode.mode});
  auto resp = protocol::RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = protocol::EncodeQueryAssignmentResponse(out);
  ctx->Respond(std::move(resp));
}

void AssignmentProcessor::SetMessageRequestMode(const remoting::RequestContextPtr& ctx) {
  auto b = protocol::SetMessageRequestModeRequestBody::Decode(ctx->request().body);
  if (!b.ok()) return ctx->RespondCode(rc::kInvalidParameter, b.status().ToString());
  if (b->topic.starts_with(kRetryGroupTopicPrefix)) {
    return ctx->RespondCode(rc::kNoPermission, "retry topic is not allowed to set mode");
  }
  if (!bc_.topics.Find(b->topic)) {
    return ctx->RespondCode(rc::kTopicNotExist, "topic[" + b->topic + "] not exist");
  }
  if (!bc_.groups.Find(b->consumer_group)) {
    return ctx->RespondCode(rc::kSubscriptionGroupNotExist,
                            "subscription group [" + b->consumer_group + "] does not exist");
  }
  Status s;
  {
    MutexLock l(&mu_);
    auto before = modes_;
    modes_[b->topic][b->consumer_group] = *b;
    s = WriteIndented(FileSystemOf(bc_.config()), path_, Encode());
    if (!s.ok()) modes_ = std::move(before);  // nothing lives that a restart would lose
  }
  if (!s.ok()) return RespondError(ctx, s);
  RJ_LOG(kInfo, "broker", "request mode of %s / %s set to %s (popShareQueueNum %d)",
         b->topic.c_str(), b->consumer_group.c_str(), b->mode.c_str(), b->pop_share_queue_num);
  ctx->RespondCode(rc::kSuccess);
}

void AssignmentProcessor::GetAllMessageRequestMode(const remoting::RequestContextPtr& ctx) {
  MutexLock l(&mu_);
  if (modes_.empty()) {
    return ctx->RespondCode(rc::kSystemError, "No message request mode in this broker");
  }
  auto resp = protocol::RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = Encode();
  ctx->Respond(std::move(resp));
}

}  // namespace ramjet::broker
