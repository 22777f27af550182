#include "transaction_processor.h"

#include "ramjet/base/logging.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;

void TransactionProcessor::EndTransaction(const remoting::RequestContextPtr& ctx) {
  auto h = protocol::EndTransactionRequestHeader::Decode(ctx->request());
  if (!h.ok()) {
    RJ_LOG(kWarn, "broker", "END_TRANSACTION from %s refused: %s", ctx->remote_address().c_str(),
           std::string(h.status().message()).c_str());
    return RespondError(ctx, h.status());
  }
  if (h->commit_or_rollback == 0) return;  // TRANSACTION_NOT_TYPE: undecided, nothing to answer
  Status s = transactions_.End(h->producer_group, h->commit_log_offset, h->tran_state_table_offset,
                               h->commit_or_rollback);
  if (!s.ok()) {
    RJ_LOG(kWarn, "broker", "END_TRANSACTION %s from %s (group %s, offset %lld) failed: %s",
           h->commit_or_rollback == message::kTransactionCommitType ? "commit" : "rollback",
           ctx->remote_address().c_str(), h->producer_group.c_str(),
           static_cast<long long>(h->commit_log_offset), s.ToString().c_str());
    return ctx->RespondCode(rc::kSystemError, std::string(s.message()));
  }
  ctx->RespondCode(rc::kSuccess);
}

}  // namespace ramjet::broker
