#include "grpc_convert.h"

#include <openssl/evp.h>

#include <charconv>
#include <set>
#include <vector>

#include "pop_service.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/compression.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"

namespace ramjet::broker::grpc_api {
namespace {

namespace rc = protocol::response_code;

// Properties the broker or the 5.x API owns (RocketMQ's MessageConst.STRING_HASH_SET and the
// ones Ramjet adds): not user properties, neither accepted from a client nor shown as one.
const std::set<std::string, std::less<>>& SystemPropertyKeys() {
  static const std::set<std::string, std::less<>> keys = {"TRACE_ON",
                                                          "MSG_REGION",
                                                          "KEYS",
                                                          "TAGS",
                                                          "WAIT",
                                                          "DELAY",
                                                          "RETRY_TOPIC",
                                                          "REAL_TOPIC",
                                                          "REAL_QID",
                                                          "TRAN_MSG",
                                                          "PGROUP",
                                                          "MIN_OFFSET",
                                                          "MAX_OFFSET",
                                                          "BUYER_ID",
                                                          "ORIGIN_MESSAGE_ID",
                                                          "TRANSFER_FLAG",
                                                          "CORRECTION_FLAG",
                                                          "MQ2_FLAG",
                                                          "RECONSUME_TIME",
                                                          "UNIQ_KEY",
                                                          "MAX_RECONSUME_TIMES",
                                                          "CONSUME_START_TIME",
                                                          "POP_CK",
                                                          "POP_CK_OFFSET",
                                                          "1ST_POP_TIME",
                                                          "TRAN_PREPARED_QUEUE_OFFSET",
                                                          "DUP_INFO",
                                                          "EXTEND_UNIQ_INFO",
                                                          "INSTANCE_ID",
                                                          "CORRELATION_ID",
                                                          "REPLY_TO_CLIENT",
                                                          "TTL",
                                                          "ARRIVE_TIME",
                                                          "PUSH_REPLY_TIME",
                                                          "CLUSTER",
                                                          "MSG_TYPE",
                                                          "__transactionId__",
                                                          "TRANSACTION_CHECK_TIMES",
                                                          "CHECK_IMMUNITY_TIME_IN_SECONDS",
                                                          "SHARDING_KEY",
                                                          "__SHARDINGKEY",
                                                          "TIMER_DELIVER_MS",
                                                          "TIMER_DELAY_SEC",
                                                          "TIMER_DELAY_MS",
                                                          "TIMER_OUT_MS",
                                                          "TIMER_ENQUEUE_MS",
                                                          "TIMER_DEQUEUE_MS",
                                                          "TIMER_ROLL_TIMES",
                                                          "TIMER_DEL_UNIQKEY",
                                                          "TRACE_CONTEXT",
                                                          "BORN_HOST",
                                                          "bname",
                                                          "__STARTDELIVERTIME"};
  return keys;
}

std::string Md5Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

bool HasControlChars(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::optional<Refusal> Refuse(v2::Code code, std::string message) {
  return Refusal{code, std::move(message)};
}

// The message's system properties as stored properties; a refusal when one is malformed.
std::optional<Refusal> SystemProperties(const v2::SystemProperties& sp, const std::string& group,
                                        std::vector<std::pair<std::string, std::string>>* props,
                                        int32_t* sys_flag) {
  if (sp.has_tag()) {
    if (sp.tag().empty() || sp.tag().find('|') != std::string::npos || HasControlChars(sp.tag())) {
      return Refuse(v2::ILLEGAL_MESSAGE_TAG, "illegal tag: " + EscapeForLog(sp.tag()));
    }
    props->emplace_back("TAGS", sp.tag());
  }
  std::string keys;
  for (const auto& k : sp.keys()) {
    if (k.empty() || HasControlChars(k) || k.find(' ') != std::string::npos) {
      return Refuse(v2::ILLEGAL_MESSAGE_KEY, "illegal key: " + EscapeForLog(k));
    }
    if (!keys.empty()) keys.push_back(' ');
    keys += k;
  }
  if (!keys.empty()) props->emplace_back("KEYS", keys);
  if (sp.message_id().empty() || sp.message_id().size() > 128 || HasControlChars(sp.message_id())) {
    return Refuse(v2::ILLEGAL_MESSAGE_ID, "illegal message id: " + EscapeForLog(sp.message_id()));
  }
  props->emplace_back("UNIQ_KEY", sp.message_id());
  if (sp.has_message_group()) {
    if (sp.message_group().empty() || sp.message_group().size() > 64 ||
        HasControlChars(sp.message_group())) {
      return Refuse(v2::ILLEGAL_MESSAGE_GROUP,
                    "illegal message group: " + EscapeForLog(sp.message_group()));
    }
    props->emplace_back("__SHARDINGKEY", sp.message_group());
  }
  if (sp.has_delivery_timestamp()) {
    int64_t at = MillisOf(sp.delivery_timestamp());
    if (at <= 0) return Refuse(v2::ILLEGAL_DELIVERY_TIME, "illegal delivery time");
    props->emplace_back("TIMER_DELIVER_MS", std::to_string(at));
  }
  if (sp.message_type() == v2::TRANSACTION) {
    if (sp.has_delivery_timestamp() || sp.has_message_group()) {
      return Refuse(v2::MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
                    "a transactional message has no delivery time or message group");
    }
    props->emplace_back("TRAN_MSG", "true");
    props->emplace_back("PGROUP", group);
    *sys_flag |= message::kTransactionPreparedType;
    if (sp.has_orphaned_transaction_recovery_duration()) {
      props->emplace_back("CHECK_IMMUNITY_TIME_IN_SECONDS",
                          std::to_string(std::max<int64_t>(
                              1, sp.orphaned_transaction_recovery_duration().seconds())));
    }
  }
  if (sp.has_trace_context()) props->emplace_back("TRACE_CONTEXT", sp.trace_context());
  return std::nullopt;
}

}  // namespace

v2::Code CodeOfResponse(int32_t code) {
  switch (code) {
    case rc::kSuccess:
      return v2::OK;
    case rc::kSystemBusy:
      return v2::TOO_MANY_REQUESTS;
    case rc::kRequestCodeNotSupported:
      return v2::NOT_IMPLEMENTED;
    case rc::kFlushDiskTimeout:
      return v2::MASTER_PERSISTENCE_TIMEOUT;
    case rc::kSlaveNotAvailable:
      return v2::HA_NOT_AVAILABLE;
    case rc::kFlushSlaveTimeout:
      return v2::SLAVE_PERSISTENCE_TIMEOUT;
    case rc::kMessageIllegal:
      return v2::BAD_REQUEST;
    case rc::kVersionNotSupported:
      return v2::VERSION_UNSUPPORTED;
    case rc::kNoPermission:
      return v2::FORBIDDEN;
    case rc::kTopicNotExist:
      return v2::TOPIC_NOT_FOUND;
    case rc::kPullNotFound:
    case rc::kQueryNotFound:
      return v2::MESSAGE_NOT_FOUND;
    case rc::kSubscriptionParseFailed:
      return v2::ILLEGAL_FILTER_EXPRESSION;
    case rc::kSubscriptionNotExist:
    case rc::kSubscriptionGroupNotExist:
      return v2::CONSUMER_GROUP_NOT_FOUND;
    case rc::kSystemError:
    case rc::kServiceNotAvailable:
      return v2::INTERNAL_SERVER_ERROR;
    default:
      return v2::INTERNAL_ERROR;
  }
}

v2::Code CodeOfStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return v2::OK;
    case StatusCode::kNotFound:
      return v2::NOT_FOUND;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return v2::BAD_REQUEST;
    case StatusCode::kPermissionDenied:
      return v2::FORBIDDEN;
    case StatusCode::kBusy:
      return v2::TOO_MANY_REQUESTS;
    case StatusCode::kTimeout:
      return v2::PROXY_TIMEOUT;
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kNoSpace:
    case StatusCode::kUnavailable:
    case StatusCode::kAlreadyExists:
    case StatusCode::kInternal:
      return v2::INTERNAL_SERVER_ERROR;
  }
  return v2::INTERNAL_ERROR;
}

int64_t MillisOf(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

int64_t MillisOf(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1000000;
}

void SetTimestamp(google::protobuf::Timestamp* t, int64_t ms) {
  t->set_seconds(ms / 1000);
  t->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
}

protocol::LanguageCode LanguageOf(v2::Language language) {
  using L = protocol::LanguageCode;
  switch (language) {
    case v2::JAVA:
    case v2::KOTLIN:
      return L::kJava;
    case v2::CPP:
      return L::kCpp;
    case v2::DOT_NET:
      return L::kDotnet;
    case v2::GOLANG:
      return L::kGo;
    case v2::RUST:
      return L::kRust;
    case v2::PYTHON:
      return L::kPython;
    case v2::PHP:
      return L::kPhp;
    case v2::NODE_JS:
      return L::kNodeJs;
    case v2::RUBY:
      return L::kRuby;
    default:
      return L::kOther;
  }
}

int32_t MqVersionOf(std::string_view version) {
  int v[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), v[i]);
    if (ec != std::errc()) return 0;
    version.remove_prefix(static_cast<size_t>(p - version.data()));
    if (i < 2) {
      if (version.empty() || version.front() != '.') return 0;
      version.remove_prefix(1);
    }
  }
  if (v[0] != 5 || v[1] < 0 || v[1] > 9 || v[2] < 0 || v[2] > 9) return 0;
  return 413 + 2 * (10 * v[1] + v[2]);
}

protocol::SubscriptionData SubscriptionOf(const std::string& topic, const v2::FilterExpression& f) {
  const std::string expr = f.expression().empty() ? "*" : f.expression();
  return PopSubscription(topic, f.type() == v2::SQL, expr);
}

void SetStatus(v2::Status* out, v2::Code code, std::string_view message) {
  out->set_code(code);
  out->set_message(message.empty() && code == v2::OK ? "OK" : std::string(message));
}

std::string WithNamespace(const v2::Resource& r) {
  if (r.resource_namespace().empty()) return r.name();
  return r.resource_namespace() + "%" + r.name();
}

std::string WithoutNamespace(std::string_view name, std::string_view ns) {
  if (!ns.empty() && name.size() > ns.size() && name.starts_with(ns) && name[ns.size()] == '%') {
    name.remove_prefix(ns.size() + 1);
  }
  return std::string(name);
}

std::optional<Refusal> CheckTopicName(const std::string& topic) {
  if (Status s = ValidateTopicName(topic); !s.ok()) {
    return Refuse(v2::ILLEGAL_TOPIC, std::string(s.message()));
  }
  return std::nullopt;
}

std::optional<Refusal> CheckGroupName(const std::string& group) {
  if (Status s = ValidateGroupName(group); !s.ok()) {
    return Refuse(v2::ILLEGAL_CONSUMER_GROUP, std::string(s.message()));
  }
  return std::nullopt;
}

Result<SendConversion> ToSendRequest(const v2::Message& m, const std::string& producer_group,
                                     int32_t max_body, Refusal* refusal) {
  auto refuse = [&](std::optional<Refusal> r) -> Status {
    *refusal = std::move(*r);
    return Status::InvalidArgument(refusal->message);
  };
  std::string topic = WithNamespace(m.topic());
  if (auto r = CheckTopicName(topic)) return refuse(std::move(r));
  const v2::SystemProperties& sp = m.system_properties();
  std::string body = m.body();
  if (sp.body_encoding() == v2::GZIP) {
    auto raw = GzipInflate(body, static_cast<size_t>(max_body));
    if (!raw.ok()) {
      return refuse(Refusal{v2::MESSAGE_CORRUPTED, "the GZIP body does not inflate: " +
                                                       std::string(raw.status().message())});
    }
    body = std::move(*raw);
  }
  if (body.size() > static_cast<size_t>(max_body)) {
    return refuse(Refusal{v2::MESSAGE_BODY_TOO_LARGE,
                          "message body of " + std::to_string(body.size()) +
                              " bytes exceeds the limit of " + std::to_string(max_body)});
  }
  std::vector<std::pair<std::string, std::string>> props;
  for (const auto& [k, v] : m.user_properties()) {
    if (k.empty() || SystemPropertyKeys().count(k) || HasControlChars(k) || HasControlChars(v)) {
      return refuse(Refusal{v2::ILLEGAL_MESSAGE_PROPERTY_KEY,
                            "illegal user property key: " + EscapeForLog(k)});
    }
    props.emplace_back(k, v);
  }
  int32_t sys_flag = 0;
  if (auto r = SystemProperties(sp, producer_group, &props, &sys_flag)) return refuse(std::move(r));
  props.emplace_back("WAIT", "true");
  SendConversion out;
  out.message_id = sp.message_id();
  out.transactional = (sys_flag & message::kTransactionPreparedType) != 0;
  protocol::SendMessageRequestHeader h;
  h.producer_group = producer_group;
  h.topic = topic;
  h.queue_id = sp.queue_id();
  h.sys_flag = sys_flag;
  h.born_timestamp = sp.has_born_timestamp() ? MillisOf(sp.born_timestamp()) : 0;
  h.properties = message::BuildProperties(props);
  out.request = protocol::RemotingCommand::Request(protocol::request_code::kSendMessageV2);
  h.Encode(&out.request);
  out.request.body = std::move(body);
  return out;
}

void ToMessage(const message::RecordView& r, const DeliveryInfo& d, v2::Message* out) {
  out->mutable_topic()->set_resource_namespace(std::string(d.ns));
  out->mutable_topic()->set_name(WithoutNamespace(d.topic, d.ns));
  v2::SystemProperties* sp = out->mutable_system_properties();
  auto& user = *out->mutable_user_properties();
  std::string_view group;
  bool timed = false;
  for (const auto& [k, v] : message::ParseProperties(r.properties)) {
    if (k == "TAGS") {
      sp->set_tag(std::string(v));
    } else if (k == "KEYS") {
      size_t start = 0;
      while (start <= v.size()) {
        size_t sp_at = v.find(' ', start);
        std::string_view key =
            v.substr(start, sp_at == std::string_view::npos ? v.npos : sp_at - start);
        if (!key.empty()) sp->add_keys(std::string(key));
        if (sp_at == std::string_view::npos) break;
        start = sp_at + 1;
      }
    } else if (k == "UNIQ_KEY") {
      sp->set_message_id(std::string(v));
    } else if (k == "__SHARDINGKEY") {
      group = v;
      sp->set_message_group(std::string(v));
    } else if (k == "TIMER_DELIVER_MS" || k == "TIMER_OUT_MS") {
      int64_t at = 0;
      for (char c : v) at = at * 10 + (c >= '0' && c <= '9' ? c - '0' : 0);
      SetTimestamp(sp->mutable_delivery_timestamp(), at);
      timed = true;
    } else if (k == "TRACE_CONTEXT") {
      sp->set_trace_context(std::string(v));
    } else if (!SystemPropertyKeys().count(k)) {
      user[std::string(k)] = std::string(v);
    }
  }
  if (sp->message_id().empty()) {
    sp->set_message_id(message::CreateOffsetMessageId(r.store_host, r.physical_offset));
  }
  std::string body(r.body);
  if (r.sys_flag & message::kSysFlagCompressed) {
    if (auto raw = ZlibInflate(r.body, 64u << 20); raw.ok()) body = std::move(*raw);
  }
  sp->mutable_body_digest()->set_type(v2::MD5);
  sp->mutable_body_digest()->set_checksum(Md5Hex(body));
  sp->set_body_encoding(v2::IDENTITY);
  const bool tx = (r.sys_flag & message::kTransactionCommitType) != 0 ||
                  !message::FindProperty(r.properties, "TRAN_MSG").empty();
  sp->set_message_type(tx               ? v2::TRANSACTION
                       : !group.empty() ? v2::FIFO
                       : timed          ? v2::DELAY
                                        : v2::NORMAL);
  SetTimestamp(sp->mutable_born_timestamp(), r.born_timestamp);
  sp->set_born_host(r.born_host.ToString());
  SetTimestamp(sp->mutable_store_timestamp(), r.store_timestamp);
  sp->set_store_host(r.store_host.ToString());
  if (!d.receipt_handle.empty()) {
    sp->set_receipt_handle(std::string(d.receipt_handle));
    sp->mutable_invisible_duration()->set_seconds(d.invisible_ms / 1000);
    sp->mutable_invisible_duration()->set_nanos(static_cast<int32_t>(d.invisible_ms % 1000) *
                                                1000000);
  }
  sp->set_queue_id(d.queue_id);
  sp->set_queue_offset(d.queue_offset);
  sp->set_delivery_attempt(d.delivery_attempt);
  out->set_body(std::move(body));
}

}  // namespace ramjet::broker::grpc_api
