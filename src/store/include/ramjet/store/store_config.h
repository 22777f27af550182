// Typed store settings. Names in comments are RocketMQ's MessageStoreConfig / broker.conf keys,
// which the broker's config loader maps onto these fields.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ramjet/message/record.h"
#include "ramjet/store/file_system.h"

namespace ramjet::store {

enum class FlushDiskType { kAsyncFlush, kSyncFlush };

struct StoreConfig {
  std::string root_dir = "store";                              // storePathRootDir
  int64_t commit_log_segment_size = 1024LL * 1024 * 1024;      // mappedFileSizeCommitLog
  int64_t consume_queue_entries_per_file = 300000;             // mappedFileSizeConsumeQueue / 20
  FlushDiskType flush_disk_type = FlushDiskType::kAsyncFlush;  // flushDiskType
  int flush_interval_commit_log_ms = 500;                      // flushIntervalCommitLog
  int flush_commit_log_least_pages = 4;                        // flushCommitLogLeastPages
  int flush_commit_log_thorough_interval_ms = 10000;           // flushCommitLogThoroughInterval
  int sync_flush_timeout_ms = 5000;                            // syncFlushTimeout
  // A slave's store (brokerRole SLAVE): puts are refused (kUnavailable); only replicated bytes
  // (AppendCommitLog) are written.
  bool replica = false;
  // A member rejoining its group under a new master (controller mode): the CommitLog is cut
  // here when the store opens, before recovery (which then drops the consume-queue and index
  // entries past the cut). -1: no cut. Bytes past it were never acknowledged by the group.
  int64_t truncate_commit_log_at = -1;
  int flush_interval_consume_queue_ms = 1000;  // flushIntervalConsumeQueue
  // Consume-queue entries reach their files in runs of up to 64 or when the oldest is this old
  // (ms; 0: every flushIntervalConsumeQueue); until then readers are served from memory, and a
  // crash re-dispatches them from the CommitLog (the checkpoint stays below them).
  int flush_consume_queue_thorough_interval_ms = 10000;  // flushConsumeQueueThoroughInterval
  // Between thorough passes a consume queue is fsynced only with this many 4 KiB pages written
  // since its last fsync; the checkpoint stays below the rest.
  int flush_consume_queue_least_pages = 2;     // flushConsumeQueueLeastPages
  int64_t max_message_size = 4 * 1024 * 1024;  // maxMessageSize (body)
  bool check_crc_on_recover = true;            // checkCRCOnRecover
  // Index (IndexFile).
  int max_hash_slot_num = 5000000;   // maxHashSlotNum
  int max_index_num = 20000000;      // maxIndexNum
  bool message_index_enable = true;  // messageIndexEnable
  // Retention.
  int file_reserved_time_hours = 72;              // fileReservedTime
  std::string delete_when = "04";                 // deleteWhen: hours of day, ';'-separated
  int disk_max_used_space_ratio = 75;             // diskMaxUsedSpaceRatio (percent, 10..95)
  double disk_space_clean_forcibly_ratio = 0.85;  // rocketmq.broker.diskSpaceCleanForciblyRatio
  double disk_space_warning_level_ratio = 0.90;   // rocketmq.broker.diskSpaceWarningLevelRatio
  int clean_resource_interval_ms = 10000;         // cleanResourceInterval
  int delete_files_batch_max = 10;
  // The address written as STOREHOST in every record: brokerIP1:listenPort.
  message::HostAddress store_host = message::HostAddress::V4(127, 0, 0, 1, 10911);

  // Overrides the consume-queue tags code of a record (the default is the hash of TAGS). The
  // broker uses it for SCHEDULE_TOPIC_XXXX, whose entries carry the delivery time instead.
  // Called on the dispatcher thread (and during recovery); must be cheap and thread-safe.
  std::function<std::optional<int64_t>(const message::RecordView&)> tags_code_override;

  // SYNC_FLUSH: the flush thread calls each group commit's completions (the callbacks of every
  // send one fsync made durable) inside run_completions(calls). The broker wraps them in a
  // remoting::WriteCork, so that the answers bound for one connection leave in one send().
  // Null: called directly.
  std::function<void(const std::function<void()>& calls)> run_completions;

  // Seams for tests. Null means the real thing.
  FileSystem* file_system = nullptr;
  std::function<int64_t()> clock_ms;  // wall clock used for store timestamps and retention
};

}  // namespace ramjet::store
