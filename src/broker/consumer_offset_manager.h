// Consumer offsets (RocketMQ's ConsumerOffsetManager), kept in
// <storePathRootDir>/config/consumerOffset.json, written atomically through the store's FileSystem
// seam by Persist (every flushConsumerOffsetInterval and at shutdown). Thread-safety: internally
// locked.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/config_files.h"
#include "ramjet/store/file_system.h"

namespace ramjet::broker {

class ConsumerOffsetManager {
 public:
  // REQUIRES: fs outlives the manager (the store's seam, so fault injection covers the file).
  explicit ConsumerOffsetManager(std::string path, store::FileSystem* fs = store::PosixFileSystem())
      : path_(std::move(path)), fs_(fs) {}
  Status Load();
  void Commit(const std::string& group, const std::string& topic, int32_t queue_id, int64_t offset);
  // -1 if none.
  int64_t Query(const std::string& group, const std::string& topic, int32_t queue_id) const;
  std::map<int32_t, int64_t> QueryAll(const std::string& group, const std::string& topic) const;
  // Groups with offsets on topic.
  std::set<std::string> GroupsOf(const std::string& topic) const;
  std::set<std::string> TopicsOf(const std::string& group) const;
  void RemoveTopic(const std::string& topic);
  void RemoveGroup(const std::string& group);
  // Copies src_group's offsets on topic to dest_group (CLONE_GROUP_OFFSET); returns how many
  // queues were copied.
  int Clone(const std::string& src_group, const std::string& dest_group, const std::string& topic);
  // A slave takes its master's offsets (SlaveSynchronize); written at the next Persist.
  void ReplaceAll(const protocol::ConsumerOffsetWrapper& master);
  // Writes consumerOffset.json if anything changed since the last call.
  Status Persist();
  // ConsumerOffsetSerializeWrapper JSON: {"offsetTable":{"topic@group":{"queueId":offset}}}.
  std::string ToJson() const;

 private:
  std::string path_;
  store::FileSystem* const fs_;
  mutable Mutex mu_;
  // "topic@group" -> qid -> offset
  std::map<std::string, std::map<int32_t, int64_t>> table_ RJ_GUARDED_BY(mu_);
  bool dirty_ RJ_GUARDED_BY(mu_) = false;
};

}  // namespace ramjet::broker
