#include "reply_processor.h"

#include "ramjet/base/clock.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/codes.h"
#include "requeue.h"
#include "send_common.h"

namespace ramjet::broker {
namespace {

namespace rc = protocol::response_code;
namespace req = protocol::request_code;
using protocol::RemotingCommand;

constexpr int kPushTimeoutMs = 3000;
constexpr const char* kReplyToClient = "REPLY_TO_CLIENT";
constexpr const char* kPushReplyTime = "PUSH_REPLY_TIME";

}  // namespace

struct ReplyProcessor::Reply {
  SendHeader header;
  int32_t queue_id = 0;
  std::string born_host;
  std::string store_host;
  std::string body;
};

void ReplyProcessor::Process(const remoting::RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto header = ParseSendHeader(r);
  if (!header.ok())
    return ctx->RespondCode(rc::kSystemError, std::string(header.status().message()));
  const auto live = live_();
  if ((live->broker_permission & protocol::kPermWrite) == 0) {
    return ctx->RespondCode(rc::kNoPermission,
                            "the broker[" + live->broker_name + "] sending message is forbidden");
  }
  auto topic = topics_->Find(header->topic);
  if (!topic) {
    return ctx->RespondCode(rc::kTopicNotExist, "topic[" + header->topic +
                                                    "] not exist, apply first please!" +
                                                    std::string(protocol::kFaqSuffix));
  }
  auto reply = std::make_shared<Reply>();
  reply->header = std::move(header).value();
  reply->header.properties =
      StoredSendProperties(reply->header.properties, live->broker_cluster_name);
  reply->queue_id = reply->header.queue_id;
  if (auto refused =
          ChooseWriteQueue(reply->header.topic, *topic, &reply->queue_id, ctx->remote_address())) {
    return ctx->RespondCode(refused->code, refused->remark);
  }
  reply->born_host = ctx->remote_address();
  reply->store_host = live->store.store_host.ToString();
  reply->body = r.body;
  if (!live->store_reply_message_enable) return Push(ctx, std::move(reply));

  auto born = message::HostAddress::Parse(reply->born_host);
  message::MessageInput msg;
  msg.topic = reply->header.topic;
  msg.queue_id = reply->queue_id;
  msg.flag = reply->header.flag;
  msg.body = reply->body;
  msg.properties = reply->header.properties;
  msg.sys_flag =
      reply->header.sys_flag & ~(message::kSysFlagBornHostV6 | message::kSysFlagStoreHostV6);
  msg.born_timestamp = reply->header.born_timestamp;
  msg.born_host = born.ok() ? *born : message::HostAddress::V4(0, 0, 0, 0, 0);
  msg.reconsume_times = reply->header.reconsume_times;
  store_->PutMessageAsync(msg, true, [this, ctx, reply](const Result<store::PutResult>& res) {
    if (!res.ok()) {
      auto [code, remark] = PutStatusToResponse(res.status());
      return ctx->RespondCode(code, remark);
    }
    Push(ctx, reply);
  });
}

void ReplyProcessor::Push(const remoting::RequestContextPtr& ctx,
                          const std::shared_ptr<const Reply>& reply) {
  const SendHeader& h = reply->header;
  const std::string client_id(message::FindProperty(h.properties, kReplyToClient));
  if (client_id.empty()) {
    return ctx->RespondCode(
        rc::kSystemError, std::string("reply message properties[") + kReplyToClient + "] is null");
  }
  auto channel = producers_->FindByClientId(client_id);
  if (!channel) {
    return ctx->RespondCode(rc::kSystemError, "push reply message fail, channel of <" +
                                                  EscapeForLog(client_id) + "> not found.");
  }
  RemotingCommand push = RemotingCommand::Request(req::kPushReplyMessageToClient);
  push.Set("producerGroup", h.producer_group);
  push.Set("topic", h.topic);
  push.Set("defaultTopic", h.default_topic);
  push.Set("defaultTopicQueueNums", static_cast<int64_t>(h.default_topic_queue_nums));
  push.Set("queueId", static_cast<int64_t>(reply->queue_id));
  push.Set("sysFlag", static_cast<int64_t>(h.sys_flag));
  push.Set("bornTimestamp", h.born_timestamp);
  push.Set("flag", static_cast<int64_t>(h.flag));
  push.Set("properties", EditProperties(h.properties, {kPushReplyTime},
                                        {{kPushReplyTime, std::to_string(NowMillis())}}));
  push.Set("reconsumeTimes", static_cast<int64_t>(h.reconsume_times));
  push.Set("unitMode", std::string(h.unit_mode ? "true" : "false"));
  push.Set("bornHost", reply->born_host);
  push.Set("storeHost", reply->store_host);
  push.Set("storeTimestamp", NowMillis());
  push.body = reply->body;
  server_->InvokeAsync(
      channel->conn, std::move(push), kPushTimeoutMs,
      [ctx, reply, client_id](Result<RemotingCommand> r) {
        if (!r.ok() || r->code != rc::kSuccess) {
          std::string why = r.ok() ? r->remark.value_or("code " + std::to_string(r->code))
                                   : std::string(r.status().message());
          return ctx->RespondCode(
              rc::kSystemError,
              "push reply message to " + EscapeForLog(client_id) + " fail: " + EscapeForLog(why));
        }
        RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
        resp.Set("msgId", std::string("0"));  // as Apache RocketMQ: avoids client decoding errors
        resp.Set("queueId", static_cast<int64_t>(reply->queue_id));
        resp.Set("queueOffset", int64_t{0});
        ctx->Respond(std::move(resp));
      });
}

}  // namespace ramjet::broker
