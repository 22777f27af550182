#include "recall.h"

#include <charconv>
#include <vector>

#include "ramjet/base/base64.h"
#include "ramjet/base/clock.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;

std::string RecallHandle::Encode() const {
  return Base64Encode(
      "v1 " + topic + " " + broker_name + " " + std::to_string(deliver_ms) + " " + message_id,
      Base64Alphabet::kUrlSafe);
}

Result<RecallHandle> RecallHandle::Decode(std::string_view text) {
  auto raw = Base64Decode(text, Base64Alphabet::kUrlSafe);
  if (!raw.ok()) return Status::InvalidArgument("recall handle is not URL-safe base64");
  std::vector<std::string_view> parts;
  std::string_view rest = *raw;
  while (!rest.empty() && parts.size() < 6) {
    const size_t sp = rest.find(' ');
    parts.push_back(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  if (parts.size() != 5 || parts[0] != "v1" || parts[1].empty() || parts[2].empty() ||
      parts[4].empty()) {
    return Status::InvalidArgument("recall handle: expected \"v1 topic broker time id\"");
  }
  RecallHandle h;
  auto [p, ec] = std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), h.deliver_ms);
  if (ec != std::errc() || p != parts[3].data() + parts[3].size()) {
    return Status::InvalidArgument("recall handle: bad timestamp");
  }
  h.topic = parts[1];
  h.broker_name = parts[2];
  h.message_id = parts[4];
  return h;
}

Result<std::string> RecallTimer(BrokerContext& bc, TimerService* timers, const std::string& topic,
                                std::string_view handle) {
  RJ_ASSIGN_OR_RETURN(RecallHandle h, RecallHandle::Decode(handle));
  if (h.topic != topic) return Status::InvalidArgument("the recall handle is of topic " + h.topic);
  if (h.broker_name != bc.config().broker_name) {
    return Status::InvalidArgument("the recall handle is of broker " + h.broker_name);
  }
  if (h.deliver_ms <= NowMillis()) {
    return Status::NotFound("the message was delivered at " + std::to_string(h.deliver_ms));
  }
  // The timer message, by its UNIQ_KEY in the index (stored under the timer topic).
  auto found = bc.store->QueryMessages(kTimerTopic, h.message_id, 4, 0, INT64_MAX);
  if (!found.ok()) return found.status();
  for (const auto& ref : *found) {
    if (message::FindProperty(ref.view.properties, "UNIQ_KEY") != h.message_id ||
        message::FindProperty(ref.view.properties, "REAL_TOPIC") != topic) {
      continue;
    }
    RJ_RETURN_IF_ERROR(timers->Cancel(ref.view.queue_offset));
    return h.message_id;
  }
  return Status::NotFound("no timer message " + h.message_id + " in " + topic);
}

void RecallProcessor::Recall(const remoting::RequestContextPtr& ctx) {
  const auto& r = ctx->request();
  auto topic = r.GetTopic("topic");
  if (!topic.ok()) return RespondError(ctx, topic.status());
  auto handle = r.GetString("recallHandle");
  if (!handle.ok()) return RespondError(ctx, handle.status());
  auto id = RecallTimer(bc_, timers_, *topic, *handle);
  if (!id.ok()) {
    const bool bad = id.status().code() == StatusCode::kInvalidArgument;
    return ctx->RespondCode(bad ? rc::kInvalidParameter : rc::kNoMessage,
                            std::string(id.status().message()));
  }
  auto resp = protocol::RemotingCommand::ResponseTo(r, rc::kSuccess);
  resp.Set("msgId", *id);
  ctx->Respond(std::move(resp));
}

}  // namespace ramjet::broker
