#include "producer_impl.h"

#include <set>

namespace ramjet::client {

QueueSelector SelectByKey(std::string key) {
  return [key = std::move(key)](const std::vector<MessageQueue>& qs, const Message&) -> size_t {
    int64_t h = JavaStringHash(key);
    if (h < 0) h = -h;
    return static_cast<size_t>(h % static_cast<int64_t>(qs.size()));
  };
}

namespace detail {

namespace {
const std::set<std::string, std::less<>> kReservedProperties = {"KEYS",
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
                                                                "UNIQ_KEY",
                                                                "RECONSUME_TIME",
                                                                "MAX_RECONSUME_TIMES",
                                                                "CLUSTER",
                                                                "ORIGIN_MESSAGE_ID",
                                                                "TRANSACTION_CHECK_TIMES",
                                                                "MSG_REGION",
                                                                "TRACE_ON"};
}  // namespace

Status ValidateMessage(const Message& m, int max_size) {
  if (m.topic.empty() || m.topic.size() > 127) {
    return Status::InvalidArgument("topic must be 1..127 characters");
  }
  for (char c : m.topic) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '%' || c == '|' || c == '_' ||
          c == '-')) {
      return Status::InvalidArgument("topic contains illegal characters: " + m.topic);
    }
  }
  if (m.body.empty()) return Status::InvalidArgument("the message body is empty");
  if (static_cast<int>(m.body.size()) > max_size) {
    return Status::InvalidArgument("the message body size is over the max of " +
                                   std::to_string(max_size));
  }
  for (const auto& [k, v] : m.properties) {
    if (kReservedProperties.count(k)) {
      return Status::InvalidArgument("the property name " + k + " is reserved by the system");
    }
    if (k.find_first_of("\x01\x02") != std::string::npos ||
        v.find_first_of("\x01\x02") != std::string::npos) {
      return Status::InvalidArgument("property names and values must not contain \\x01 or \\x02");
    }
  }
  return Status::OK();
}

bool RetryCode(int32_t code) {
  return code == rc::kTopicNotExist || code == rc::kServiceNotAvailable ||
         code == rc::kSystemError || code == rc::kNoPermission || code == 204 || code == 205;
}

}  // namespace detail

Producer::Producer(std::string group, ClientConfig config)
    : impl_(std::make_shared<Impl>(std::move(group), std::move(config))) {}
Producer::~Producer() { Shutdown(); }
Status Producer::Start() { return impl_->Start(); }
void Producer::Shutdown() { impl_->Shutdown(); }
Result<SendResult> Producer::Send(const Message& msg) {
  return impl_->SendTo(msg, std::nullopt, nullptr, false);
}
Result<SendResult> Producer::Send(const Message& msg, const QueueSelector& selector) {
  return impl_->SendTo(msg, std::nullopt, &selector, false);
}
Result<SendResult> Producer::Send(const Message& msg, const MessageQueue& queue) {
  return impl_->SendTo(msg, queue, nullptr, false);
}
void Producer::SendAsync(Message msg, std::function<void(Result<SendResult>)> cb) {
  impl_->SendAsync(std::move(msg), std::move(cb));
}
Status Producer::SendOneway(const Message& msg) { return impl_->SendOneway(msg); }
Result<SendResult> Producer::SendBatch(const std::vector<Message>& msgs) {
  return impl_->SendBatch(msgs);
}
void Producer::SendBatchAsync(const std::vector<Message>& msgs,
                              std::function<void(Result<SendResult>)> cb) {
  impl_->SendBatchAsync(msgs, std::move(cb));
}
void Producer::SetTransactionCheckListener(
    std::function<LocalTransactionState(const MessageExt&)> check) {
  std::lock_guard<std::mutex> l(impl_->mu_);
  impl_->check_ = std::move(check);
}
Result<SendResult> Producer::SendInTransaction(
    const Message& msg,
    const std::function<LocalTransactionState(const Message&, const SendResult&)>& local) {
  return impl_->SendInTransaction(msg, local);
}
Result<std::vector<MessageQueue>> Producer::FetchPublishQueues(const std::string& topic) {
  RJ_ASSIGN_OR_RETURN(auto info, impl_->GetPublishInfo(topic));
  return info->queues;
}
const std::string& Producer::client_id() const { return impl_->client_id_; }

}  // namespace ramjet::client
