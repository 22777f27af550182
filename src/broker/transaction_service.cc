#include "transaction_service.h"

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/codes.h"
#include "requeue.h"
#include "system_topics.h"

namespace ramjet::broker {

namespace {
std::string UniqOf(const message::RecordView& r) {
  std::string_view u = message::FindProperty(r.properties, "UNIQ_KEY");
  if (!u.empty()) return std::string(u);
  return "offset:" + std::to_string(r.physical_offset);
}

}  // namespace

TransactionService::TransactionService(store::MessageStore* store, ConsumerOffsetManager* offsets,
                                       TransactionConfig config, message::HostAddress store_host,
                                       CheckSender sender, DelayRewriter delay)
    : store_(store),
      offsets_(offsets),
      config_(config),
      store_host_(store_host),
      sender_(std::move(sender)),
      delay_(std::move(delay)) {}

TransactionService::~TransactionService() { Stop(); }

Status TransactionService::Load() {
  int64_t off = store_->GetMinOffsetInQueue(kTransOpHalfTopic, 0).value();
  for (;;) {
    auto got = store_->GetMessages(kTransOpHalfTopic, 0, QueueOffset(off), 256, 8 << 20, nullptr);
    if (got.status != store::GetStatus::kFound) break;
    MutexLock l(&mu_);
    for (const auto& m : got.messages) {
      auto rec = message::DecodeRecord(m.data, false);
      if (rec.ok()) {
        std::string_view u = message::FindProperty(rec->properties, "TRAN_UNIQ");
        if (!u.empty()) decided_.insert(std::string(u));
      }
    }
    off = got.next_begin_offset.value();
  }
  size_t decided = 0;
  {
    MutexLock l(&mu_);
    decided = decided_.size();
  }
  RJ_LOG(kInfo, "transaction", "%zu decided transactions loaded from the op queue", decided);
  return Status::OK();
}

void TransactionService::Start() {
  thread_.Start([this](ServiceThread& self) {
    while (self.WaitFor(config_.check_interval_ms)) CheckOnce();
  });
}

void TransactionService::Stop() { thread_.Stop(); }

void TransactionService::ToHalf(std::string* topic, int32_t* queue_id, std::string* props,
                                int32_t* sys_flag) {
  *props =
      EditProperties(*props, {}, {{"REAL_TOPIC", *topic}, {"REAL_QID", std::to_string(*queue_id)}});
  *topic = kTransHalfTopic;
  *queue_id = 0;
  // Stored as a normal record so the half queue indexes it.
  *sys_flag &= ~message::kTransactionTypeMask;
}

Status TransactionService::PutOp(const std::string& uniq, int64_t half_queue_offset,
                                 const char* tag) {
  std::string props = message::BuildProperties({{"TAGS", tag}, {"TRAN_UNIQ", uniq}});
  std::string body = std::to_string(half_queue_offset);
  message::MessageInput in;
  in.topic = kTransOpHalfTopic;
  in.queue_id = 0;
  in.body = body;
  in.properties = props;
  in.born_timestamp = NowMillis();
  in.born_host = store_host_;
  auto r = store_->PutMessage(in, true);
  return r.ok() ? Status::OK() : r.status();
}

Status TransactionService::End(const std::string& producer_group, int64_t commit_log_offset,
                               int64_t half_queue_offset, int32_t type) {
  if (type != message::kTransactionCommitType && type != message::kTransactionRollbackType) {
    return Status::OK();  // unknown: the producer will be asked again
  }
  auto rec = store_->ReadRecord(PhysicalOffset(commit_log_offset));
  if (!rec.ok()) {
    return Status::NotFound("find prepared transaction message failed: " +
                            std::string(rec.status().message()));
  }
  const message::RecordView& h = rec->view;
  if (h.topic != kTransHalfTopic) {
    return Status::InvalidArgument("the message at commitLogOffset " +
                                   std::to_string(commit_log_offset) + " is not a half message");
  }
  if (message::FindProperty(h.properties, "PGROUP") != producer_group) {
    return Status::InvalidArgument("the producer group wrong: " + producer_group);
  }
  if (h.queue_offset != half_queue_offset) {
    return Status::InvalidArgument("the transaction state table offset wrong: " +
                                   std::to_string(half_queue_offset));
  }
  const std::string uniq = UniqOf(h);
  MutexLock l(&mu_);
  if (decided_.count(uniq)) {
    RJ_LOG(kInfo, "transaction", "transaction %s already decided; repeated END ignored",
           uniq.c_str());
    return Status::OK();
  }
  if (type == message::kTransactionCommitType) {
    std::string topic(message::FindProperty(h.properties, "REAL_TOPIC"));
    int32_t qid = std::atoi(std::string(message::FindProperty(h.properties, "REAL_QID")).c_str());
    if (topic.empty()) return Status::Corruption("half message without REAL_TOPIC");
    // As Apache RocketMQ 4.9 stores a committed message: the half message's properties as they
    // are (TRAN_MSG, REAL_TOPIC, REAL_QID and WAIT included; consumers and traces read them).
    std::string props = EditProperties(h.properties, {"TRANSACTION_CHECK_TIMES"}, {});
    if (delay_) delay_(&topic, &qid, &props);
    message::MessageInput in = RequeueInput(h, topic, qid, props);
    in.sys_flag = (in.sys_flag & ~message::kTransactionTypeMask) | message::kTransactionCommitType;
    in.prepared_transaction_offset = commit_log_offset;
    auto put = store_->PutMessage(in, true);
    if (!put.ok()) return put.status();
  }
  RJ_RETURN_IF_ERROR(PutOp(uniq, half_queue_offset, "d"));
  decided_.insert(uniq);
  return Status::OK();
}

void TransactionService::CheckOnce() {
  int64_t off = offsets_->Query(kTransCheckGroup, kTransHalfTopic, 0);
  if (off < 0) off = store_->GetMinOffsetInQueue(kTransHalfTopic, 0).value();
  const int64_t now = NowMillis();
  const int64_t max = store_->GetMaxOffsetInQueue(kTransHalfTopic, 0).value();
  // Only the halves present when the round started: re-appended copies wait for the next round.
  while (off < max) {
    auto got = store_->GetMessages(kTransHalfTopic, 0, QueueOffset(off), 32, 4 << 20, nullptr);
    if (got.status != store::GetStatus::kFound) {
      if (got.next_begin_offset.value() != off &&
          got.status != store::GetStatus::kOffsetOverflowOne) {
        off = got.next_begin_offset.value();
        continue;
      }
      break;
    }
    bool stop = false;
    for (const auto& m : got.messages) {
      if (m.queue_offset.value() >= max) {
        stop = true;
        break;
      }
      auto rec = message::DecodeRecord(m.data, false);
      if (!rec.ok()) {
        off = m.queue_offset.value() + 1;
        continue;
      }
      const message::RecordView& h = *rec;
      const std::string uniq = UniqOf(h);
      {
        MutexLock l(&mu_);
        if (decided_.count(uniq)) {
          off = m.queue_offset.value() + 1;
          continue;
        }
      }
      int64_t immunity = config_.timeout_ms;
      std::string_view imm = message::FindProperty(h.properties, "CHECK_IMMUNITY_TIME_IN_SECONDS");
      if (!imm.empty())
        immunity = std::max<int64_t>(immunity, std::atoll(std::string(imm).c_str()) * 1000);
      if (now - h.born_timestamp < immunity &&
          message::FindProperty(h.properties, "TRANSACTION_CHECK_TIMES").empty()) {
        stop = true;  // younger halves follow
        break;
      }
      int checks = std::atoi(
          std::string(message::FindProperty(h.properties, "TRANSACTION_CHECK_TIMES")).c_str());
      std::string body(h.body);
      std::string group(message::FindProperty(h.properties, "PGROUP"));
      if (checks >= config_.check_max) {
        // Give up: park it where RESUME_CHECK_HALF_MESSAGE could find it.
        message::MessageInput in = RequeueInput(h, kTransCheckMaxTimeTopic, 0, h.properties);
        auto put = store_->PutMessage(in, true);
        MutexLock l(&mu_);
        if (put.ok() && PutOp(uniq, m.queue_offset.value(), "discard").ok()) {
          decided_.insert(uniq);
          RJ_LOG(kWarn, "transaction", "transaction %s of group %s checked %d times: discarded",
                 uniq.c_str(), group.c_str(), checks);
        } else {
          stop = true;
          break;
        }
        off = m.queue_offset.value() + 1;
        continue;
      }
      // Re-append with one more check, then ask a producer about the new copy.
      std::string props = EditProperties(h.properties, {},
                                         {{"TRANSACTION_CHECK_TIMES", std::to_string(checks + 1)}});
      message::MessageInput in = RequeueInput(h, kTransHalfTopic, 0, props);
      auto put = store_->PutMessage(in, true);
      if (!put.ok()) {
        RJ_LOG(kError, "transaction", "re-appending half %s failed: %s", uniq.c_str(),
               put.status().ToString().c_str());
        stop = true;
        break;
      }
      // The check body: the half re-encoded with its real topic and queue.
      std::string real_topic(message::FindProperty(h.properties, "REAL_TOPIC"));
      message::MessageInput view = in;
      view.topic = real_topic;
      view.queue_id =
          std::atoi(std::string(message::FindProperty(h.properties, "REAL_QID")).c_str());
      view.sys_flag |= message::kTransactionPreparedType;
      std::string encoded;
      if (message::EncodeRecord(view, store_host_, &encoded).ok()) {
        message::PatchRecord(encoded.data(), put->queue_offset.value(),
                             put->physical_offset.value(), put->store_timestamp);
      }
      protocol::RemotingCommand cmd =
          protocol::RemotingCommand::Request(protocol::request_code::kCheckTransactionState);
      cmd.Set("tranStateTableOffset", put->queue_offset.value());
      cmd.Set("commitLogOffset", put->physical_offset.value());
      cmd.Set("msgId", uniq);
      cmd.Set("transactionId", uniq);
      cmd.Set("offsetMsgId", put->msg_id);
      cmd.body = std::move(encoded);
      if (!sender_(group, std::move(cmd))) {
        RJ_LOG(kWarn, "transaction", "no live producer of group %s to check transaction %s",
               group.c_str(), uniq.c_str());
      }
      off = m.queue_offset.value() + 1;
    }
    if (stop) break;
  }
  offsets_->Commit(kTransCheckGroup, kTransHalfTopic, 0, off);
}

}  // namespace ramjet::broker
