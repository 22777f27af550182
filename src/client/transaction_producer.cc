// Producer: transactional sends (a half message, the local transaction, END_TRANSACTION) and the
// broker's check-backs (CHECK_TRANSACTION_STATE), as RocketMQ's TransactionMQProducer.
#include "producer_impl.h"

namespace ramjet::client {

int32_t Producer::Impl::TransactionType(LocalTransactionState state) {
  switch (state) {
    case LocalTransactionState::kCommit:
      return message::kTransactionCommitType;
    case LocalTransactionState::kRollback:
      return message::kTransactionRollbackType;
    default:
      return message::kTransactionNotType;
  }
}

Status Producer::Impl::EndTransaction(const std::string& broker_addr, const SendResult& half,
                                      LocalTransactionState state, bool from_check) {
  auto decoded = message::DecodeOffsetMessageId(half.offset_msg_id);
  if (!decoded.ok()) return decoded.status();
  protocol::EndTransactionRequestHeader h;
  h.producer_group = group_;
  h.tran_state_table_offset = half.queue_offset;
  h.commit_log_offset = decoded->second;
  h.commit_or_rollback = TransactionType(state);
  h.from_transaction_check = from_check;
  h.msg_id = half.msg_id;
  h.transaction_id = half.transaction_id;
  RemotingCommand e = RemotingCommand::Request(req::kEndTransaction);
  h.Encode(&e);
  return client_->InvokeOneway(broker_addr, e);
}

Result<SendResult> Producer::Impl::SendInTransaction(
    const Message& m,
    const std::function<LocalTransactionState(const Message&, const SendResult&)>& local) {
  if (m.delay_level > 0) {
    return Status::InvalidArgument("delay level is not supported for transactional messages");
  }
  RJ_ASSIGN_OR_RETURN(SendResult half, SendTo(m, std::nullopt, nullptr, true));
  LocalTransactionState state = LocalTransactionState::kUnknown;
  try {
    state = local(m, half);
  } catch (const std::exception& ex) {
    RJ_LOG(kWarn, "client", "local transaction threw: %s", ex.what());
  }
  std::string addr;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (const PublishInfoPtr* known = KnownRoute(m.topic)) {
      auto a = (*known)->master.find(half.queue.broker_name);
      if (a != (*known)->master.end()) addr = a->second;
    }
  }
  if (addr.empty()) {
    auto d = message::DecodeOffsetMessageId(half.offset_msg_id);
    if (d.ok()) addr = d->first.ToString();
  }
  Status s = EndTransaction(addr, half, state, false);
  if (!s.ok()) RJ_LOG(kWarn, "client", "END_TRANSACTION not sent: %s", s.ToString().c_str());
  return half;
}

void Producer::Impl::OnCheck(const remoting::RequestContextPtr& ctx) {
  std::function<LocalTransactionState(const MessageExt&)> check;
  {
    std::lock_guard<std::mutex> l(mu_);
    check = check_;
  }
  if (!check) return;
  auto msgs = DecodeMessages(ctx->request().body);
  if (!msgs.ok() || msgs->empty()) {
    RJ_LOG(kWarn, "client", "CHECK_TRANSACTION_STATE with an undecodable body ignored");
    return;
  }
  const MessageExt& m = (*msgs)[0];
  LocalTransactionState state = LocalTransactionState::kUnknown;
  try {
    state = check(m);
  } catch (const std::exception& ex) {
    RJ_LOG(kWarn, "client", "transaction check listener threw: %s", ex.what());
  }
  const auto& q = ctx->request();
  // CHECK_TRANSACTION_STATE carries the half message's offsets; echo them.
  protocol::EndTransactionRequestHeader h;
  h.producer_group = group_;
  h.tran_state_table_offset = q.GetInt64Or("tranStateTableOffset", 0);
  h.commit_log_offset = q.GetInt64Or("commitLogOffset", 0);
  h.commit_or_rollback = TransactionType(state);
  h.from_transaction_check = true;
  h.msg_id = std::string(q.Find("msgId").value_or(m.msg_id));
  h.transaction_id = std::string(q.Find("transactionId").value_or(m.msg_id));
  RemotingCommand e = RemotingCommand::Request(req::kEndTransaction);
  h.Encode(&e);
  client_->Endpoint::InvokeOneway(ctx->connection(), e);
}

}  // namespace ramjet::client
