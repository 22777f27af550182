#include "consumer_offset_manager.h"

#include "metadata_file.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/config_files.h"

namespace ramjet::broker {

Status ConsumerOffsetManager::Load() {
  RJ_ASSIGN_OR_RETURN(auto text, ReadIfExists(fs_, path_));
  if (!text) return Status::OK();
  auto w = protocol::ConsumerOffsetWrapper::Decode(*text);
  if (!w.ok()) return Status::Corruption(path_ + ": " + std::string(w.status().message()));
  MutexLock l(&mu_);
  for (const auto& [key, queues] : w->offset_table) {
    for (const auto& [qid, off] : queues) table_[key][qid] = off;
  }
  return Status::OK();
}

void ConsumerOffsetManager::ReplaceAll(const protocol::ConsumerOffsetWrapper& master) {
  MutexLock l(&mu_);
  if (master.offset_table == table_) return;
  table_ = master.offset_table;
  dirty_ = true;
}

void ConsumerOffsetManager::Commit(const std::string& group, const std::string& topic,
                                   int32_t queue_id, int64_t offset) {
  MutexLock l(&mu_);
  int64_t& slot = table_[topic + "@" + group][queue_id];
  if (slot != offset) {
    slot = offset;
    dirty_ = true;
  }
}

int64_t ConsumerOffsetManager::Query(const std::string& group, const std::string& topic,
                                     int32_t queue_id) const {
  MutexLock l(&mu_);
  auto it = table_.find(topic + "@" + group);
  if (it == table_.end()) return -1;
  auto q = it->second.find(queue_id);
  return q == it->second.end() ? -1 : q->second;
}

std::map<int32_t, int64_t> ConsumerOffsetManager::QueryAll(const std::string& group,
                                                           const std::string& topic) const {
  MutexLock l(&mu_);
  auto it = table_.find(topic + "@" + group);
  return it == table_.end() ? std::map<int32_t, int64_t>() : it->second;
}

std::set<std::string> ConsumerOffsetManager::GroupsOf(const std::string& topic) const {
  MutexLock l(&mu_);
  std::set<std::string> out;
  for (const auto& [k, v] : table_) {
    size_t at = k.find('@');
    if (at != std::string::npos && k.compare(0, at, topic) == 0 && at == topic.size()) {
      out.insert(k.substr(at + 1));
    }
  }
  return out;
}

std::set<std::string> ConsumerOffsetManager::TopicsOf(const std::string& group) const {
  MutexLock l(&mu_);
  std::set<std::string> out;
  for (const auto& [k, v] : table_) {
    size_t at = k.rfind('@');
    if (at != std::string::npos && k.substr(at + 1) == group) out.insert(k.substr(0, at));
  }
  return out;
}

void ConsumerOffsetManager::RemoveTopic(const std::string& topic) {
  MutexLock l(&mu_);
  for (auto it = table_.begin(); it != table_.end();) {
    if (it->first.size() > topic.size() && it->first.compare(0, topic.size(), topic) == 0 &&
        it->first[topic.size()] == '@') {
      it = table_.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
}

void ConsumerOffsetManager::RemoveGroup(const std::string& group) {
  MutexLock l(&mu_);
  for (auto it = table_.begin(); it != table_.end();) {
    size_t at = it->first.rfind('@');
    if (at != std::string::npos && it->first.substr(at + 1) == group) {
      it = table_.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
}

std::string ConsumerOffsetManager::ToJson() const {
  protocol::ConsumerOffsetWrapper w;
  {
    MutexLock l(&mu_);
    w.offset_table = table_;
  }
  return w.Encode();
}

int ConsumerOffsetManager::Clone(const std::string& src_group, const std::string& dest_group,
                                 const std::string& topic) {
  MutexLock l(&mu_);
  auto it = table_.find(topic + "@" + src_group);
  if (it == table_.end()) return 0;
  table_[topic + "@" + dest_group] = it->second;
  dirty_ = true;
  return static_cast<int>(it->second.size());
}

Status ConsumerOffsetManager::Persist() {
  protocol::ConsumerOffsetWrapper w;
  {
    MutexLock l(&mu_);
    if (!dirty_) return Status::OK();
    w.offset_table = table_;
    dirty_ = false;
  }
  Status s = WriteIndented(fs_, path_, w.Encode());
  if (!s.ok()) {
    MutexLock l(&mu_);
    dirty_ = true;
  }
  return s;
}

}  // namespace ramjet::broker
