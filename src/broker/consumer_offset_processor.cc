#include "consumer_offset_processor.h"

#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"

namespace ramjet::broker {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

namespace {
constexpr int32_t kConsumeFromTimestamp = 5;  // ConsumeFromWhere.CONSUME_FROM_TIMESTAMP
}  // namespace

void ConsumerOffsetProcessor::QueryConsumerOffset(const RequestContextPtr& ctx) {
  auto h = protocol::QueryConsumerOffsetRequestHeader::Decode(ctx->request());
  if (!h.ok()) return RespondError(ctx, h.status());
  int64_t off = bc_.offsets.Query(h->consumer_group, h->topic, h->queue_id);
  if (off < 0) {
    // A young queue that still starts at offset 0 is read from the beginning (as RocketMQ 4.x
    // does), except for groups that start from a timestamp - they must search by time - and
    // for 5.x clients that ask not to (setZeroIfNotFound=false).
    auto info = bc_.consumers.Find(h->consumer_group);
    bool by_time = info && info->consume_from_where == kConsumeFromTimestamp;
    bool zero_ok = h->set_zero_if_not_found.value_or(true);
    if (!by_time && zero_ok && bc_.store->GetMinOffsetInQueue(h->topic, h->queue_id).value() <= 0) {
      off = 0;
    } else {
      return ctx->RespondCode(rc::kQueryNotFound,
                              "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
    }
  }
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.Set("offset", off);
  ctx->Respond(std::move(resp));
}

void ConsumerOffsetProcessor::UpdateConsumerOffset(const RequestContextPtr& ctx) {
  auto h = protocol::UpdateConsumerOffsetRequestHeader::Decode(ctx->request());
  if (!h.ok()) {
    if (ctx->oneway()) {
      RJ_LOG(kWarn, "broker", "UPDATE_CONSUMER_OFFSET from %s ignored: %s",
             ctx->remote_address().c_str(), std::string(h.status().message()).c_str());
    }
    return RespondError(ctx, h.status());
  }
  bc_.offsets.Commit(h->consumer_group, h->topic, h->queue_id, h->commit_offset);
  ctx->RespondCode(rc::kSuccess);
}

void ConsumerOffsetProcessor::QueueQuery(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto h = protocol::QueueRequestHeader::Decode(r);
  if (!h.ok()) return RespondError(ctx, h.status());
  store::MessageStore& store = *bc_.store;
  const char* key = "offset";
  int64_t value = 0;
  switch (r.code) {
    case req::kGetMaxOffset:
      value = store.GetMaxOffsetInQueue(h->topic, h->queue_id).value();
      break;
    case req::kGetMinOffset:
      value = store.GetMinOffsetInQueue(h->topic, h->queue_id).value();
      break;
    case req::kSearchOffsetByTimestamp:
      value = store.GetOffsetInQueueByTime(h->topic, h->queue_id, *h->timestamp).value();
      break;
    case req::kGetEarliestMsgStoretime: {
      key = "timestamp";
      auto t = store.GetEarliestMessageTime(h->topic, h->queue_id);
      value = t.ok() ? *t : -1;  // an empty or unknown queue, as RocketMQ answers
      break;
    }
    default:
      return ctx->RespondCode(rc::kRequestCodeNotSupported,
                              "request type " + std::to_string(r.code) + " not supported");
  }
  RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
  resp.Set(key, value);
  ctx->Respond(std::move(resp));
}

}  // namespace ramjet::broker
