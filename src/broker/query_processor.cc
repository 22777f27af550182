#include "query_processor.h"

#include <algorithm>
#include <climits>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::broker {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;

void QueryProcessor::QueryMessage(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto topic = r.GetTopic("topic");
  auto key = r.GetString("key");
  if (!topic.ok()) return RespondError(ctx, topic.status());
  if (!key.ok()) return RespondError(ctx, key.status());
  int max_num = std::clamp(r.GetInt32Or("maxNum", 32), 1, 64);
  if (r.GetBool("_UNIQUE_KEY_QUERY")) max_num = 32;
  int64_t begin = r.GetInt64Or("beginTimestamp", 0);
  int64_t end = r.GetInt64Or("endTimestamp", INT64_MAX);
  auto found = bc_.store->QueryMessages(*topic, *key, max_num, begin, end);
  if (!found.ok()) return RespondError(ctx, found.status());
  if (found->empty()) {
    RemotingCommand resp = RemotingCommand::ResponseTo(
        r, rc::kQueryNotFound, "can not find message, maybe time range not correct");
    resp.Set("indexLastUpdateTimestamp", int64_t{0});  // as RocketMQ answers a miss
    resp.Set("indexLastUpdatePhyoffset", int64_t{0});
    return ctx->Respond(std::move(resp));
  }
  RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
  for (const auto& m : *found) resp.body.append(m.data);
  auto stats = bc_.store->Stats();
  resp.Set("indexLastUpdateTimestamp", NowMillis());
  resp.Set("indexLastUpdatePhyoffset", stats.dispatched.value());
  ctx->Respond(std::move(resp));
}

void QueryProcessor::ViewMessageById(const RequestContextPtr& ctx) {
  auto off = ctx->request().GetInt64("offset");
  if (!off.ok()) return RespondError(ctx, off.status());
  auto rec = bc_.store->ReadRecord(PhysicalOffset(*off));
  if (!rec.ok()) {
    RJ_LOG(kInfo, "broker", "view of offset %lld: %s", static_cast<long long>(*off),
           rec.status().ToString().c_str());
    return ctx->RespondCode(rc::kSystemError,
                            "can not find message by the offset, " + std::to_string(*off));
  }
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body.assign(rec->data);
  ctx->Respond(std::move(resp));
}

}  // namespace ramjet::broker
