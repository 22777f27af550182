// The translations between apache.rocketmq.v2 (the 5.x gRPC API) and Ramjet: the one mapping of
// Ramjet outcomes (remoting response codes and Status values) to apache.rocketmq.v2.Code, a gRPC
// message to the SEND_MESSAGE_V2 request the send processor takes, and a stored record to the
// gRPC message a consumer receives. Resource names carry the client's namespace as RocketMQ 5
// does (`<namespace>%<name>`). Private to the broker module. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apache/rocketmq/v2/service.pb.h"
#include "ramjet/base/result.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::broker::grpc_api {

namespace v2 = apache::rocketmq::v2;

// A refusal: the Code and the message a client sees.
struct Refusal {
  v2::Code code = v2::INTERNAL_ERROR;
  std::string message;
};

// Remoting response code (what a processor answered) -> Code.
v2::Code CodeOfResponse(int32_t remoting_code);
// Ramjet Status -> Code (the generic mapping; handlers refine where a Status means more).
v2::Code CodeOfStatus(const Status& s);
void SetStatus(v2::Status* out, v2::Code code, std::string_view message);

// `<namespace>%<name>` (or name alone), and back (the namespace prefix stripped).
std::string WithNamespace(const v2::Resource& r);
std::string WithoutNamespace(std::string_view name, std::string_view ns);
// Topic and group names as the broker validates them; the refusal carries ILLEGAL_TOPIC or
// ILLEGAL_CONSUMER_GROUP.
std::optional<Refusal> CheckTopicName(const std::string& topic);
std::optional<Refusal> CheckGroupName(const std::string& group);

// Milliseconds of a protobuf time or duration, and a time from milliseconds.
int64_t MillisOf(const google::protobuf::Timestamp& t);
int64_t MillisOf(const google::protobuf::Duration& d);
void SetTimestamp(google::protobuf::Timestamp* t, int64_t ms);
// The subscription of a filter expression on topic: SQL92, or TAG ("*" when empty).
// The remoting LanguageCode of a 5.x client's language (OTHER when remoting has none).
protocol::LanguageCode LanguageOf(v2::Language language);
// RocketMQ's MQVersion ordinal of a 5.x client version "5.m.p" (V5_0_0 = 413, two ordinals per
// release); 0 for anything else.
int32_t MqVersionOf(std::string_view version);

protocol::SubscriptionData SubscriptionOf(const std::string& topic, const v2::FilterExpression& f);

// One gRPC message as the SEND_MESSAGE_V2 request of producer_group.
struct SendConversion {
  protocol::RemotingCommand request;
  std::string message_id;  // the client's (UNIQ_KEY)
  bool transactional = false;
};
// max_body: the broker's maxMessageSize. Refusals: ILLEGAL_TOPIC, ILLEGAL_MESSAGE_TAG,
// ILLEGAL_MESSAGE_KEY, ILLEGAL_MESSAGE_GROUP, ILLEGAL_MESSAGE_PROPERTY_KEY, ILLEGAL_MESSAGE_ID,
// ILLEGAL_DELIVERY_TIME, MESSAGE_BODY_TOO_LARGE, MESSAGE_CORRUPTED (a GZIP body that does not
// inflate), MESSAGE_PROPERTY_CONFLICT_WITH_TYPE.
Result<SendConversion> ToSendRequest(const v2::Message& m, const std::string& producer_group,
                                     int32_t max_body, Refusal* refusal);

// What a consumer gets besides the record.
struct DeliveryInfo {
  std::string_view topic;  // as the consumer subscribed (retry topics undone), with namespace
  std::string_view ns;
  std::string_view receipt_handle;  // empty: none (pull)
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t invisible_ms = 0;
  int32_t delivery_attempt = 1;
};
// A stored record as the gRPC message: user properties, the system properties (tag, keys,
// message id, MD5 body digest, type, times, hosts, group, handle, attempt) and the body
// (decompressed when it was stored compressed).
void ToMessage(const message::RecordView& r, const DeliveryInfo& d, v2::Message* out);

}  // namespace ramjet::broker::grpc_api
