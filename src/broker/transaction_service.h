// Transactional messages (RocketMQ 4.x design): a prepared message is stored as a "half" in
// RMQ_SYS_TRANS_HALF_TOPIC (REAL_TOPIC / REAL_QID keep its destination) and stays invisible.
// END_TRANSACTION commits (the message is stored into its real topic with the COMMIT type) or
// rolls back; either way an "op" record (tag d, body = half queue offset, property TRAN_UNIQ =
// the message's UNIQ_KEY) goes to RMQ_SYS_TRANS_OP_HALF_TOPIC. Undecided halves older than
// transactionTimeOut are checked back: the half is re-appended with TRANSACTION_CHECK_TIMES + 1
// and CHECK_TRANSACTION_STATE goes to a live producer of its group; after transactionCheckMax
// checks it is moved to TRANS_CHECK_MAX_TIME_TOPIC.
//
// Exactly-once visibility: decisions are keyed by UNIQ_KEY; the set of decided keys is rebuilt
// from the op topic at start, so a repeated END_TRANSACTION (a retry, an answer to an older
// check, or one arriving after a restart) never stores the message twice.
// Check progress is the consumer offset of group CID_RMQ_SYS_TRANS on the half queue.
//
// Threading model: End() may be called from any thread (one mutex guards the decided set and
// serializes decisions); one checker thread runs every transactionCheckInterval.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "consumer_offset_manager.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/protocol/remoting_command.h"
#include "ramjet/store/message_store.h"

namespace ramjet::broker {

inline constexpr const char* kTransCheckGroup = "CID_RMQ_SYS_TRANS";

struct TransactionConfig {
  int64_t check_interval_ms = 60000;  // transactionCheckInterval
  int64_t timeout_ms = 6000;          // transactionTimeOut
  int32_t check_max = 15;             // transactionCheckMax
};

class TransactionService {
 public:
  // Sends a CHECK_TRANSACTION_STATE request to one live producer of `group`; false if none.
  using CheckSender = std::function<bool(const std::string& group, protocol::RemotingCommand)>;
  // Rewrites a DELAY level (used for committed messages that carry one).
  using DelayRewriter = std::function<void(std::string* topic, int32_t* qid, std::string* props)>;

  TransactionService(store::MessageStore* store, ConsumerOffsetManager* offsets,
                     TransactionConfig config, message::HostAddress store_host, CheckSender sender,
                     DelayRewriter delay);
  ~TransactionService();

  // Rebuilds the decided set from the op topic.
  Status Load();
  void Start();
  void Stop();

  // Send path: a prepared message goes to the half queue with its destination in properties.
  static void ToHalf(std::string* topic, int32_t* queue_id, std::string* props, int32_t* sys_flag);

  // END_TRANSACTION. type is the sysFlag transaction value: 8 commit, 12 rollback.
  Status End(const std::string& producer_group, int64_t commit_log_offset,
             int64_t half_queue_offset, int32_t type);

  // One check round now (tests and the checker thread).
  void CheckOnce();

 private:
  Status PutOp(const std::string& uniq, int64_t half_queue_offset, const char* tag);

  store::MessageStore* store_;
  ConsumerOffsetManager* offsets_;
  TransactionConfig config_;
  message::HostAddress store_host_;
  CheckSender sender_;
  DelayRewriter delay_;
  Mutex mu_;  // decided_, and serializes decisions
  std::set<std::string> decided_ RJ_GUARDED_BY(mu_);
  ServiceThread thread_{"tx-check"};
};

}  // namespace ramjet::broker
