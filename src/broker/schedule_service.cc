#include "schedule_service.h"

#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/config_files.h"
#include "requeue.h"
#include "system_topics.h"

namespace ramjet::broker {

Result<std::vector<int64_t>> ParseDelayLevels(std::string_view text) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos >= text.size()) break;
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string tok(text.substr(pos, end - pos));
    pos = end;
    size_t digits = 0;
    while (digits < tok.size() && std::isdigit(static_cast<unsigned char>(tok[digits]))) ++digits;
    std::string unit = tok.substr(digits);
    if (digits == 0 || digits > 12) {
      return Status::InvalidArgument("bad delay level '" + tok + "'");
    }
    int64_t n = std::stoll(tok.substr(0, digits));
    int64_t mult = 0;
    if (unit == "ms") {
      mult = 1;
    } else if (unit == "s") {
      mult = 1000;
    } else if (unit == "m") {
      mult = 60000;
    } else if (unit == "h") {
      mult = 3600000;
    } else if (unit == "d") {
      mult = 86400000;
    } else {
      return Status::InvalidArgument("bad delay level unit in '" + tok + "' (ms, s, m, h, d)");
    }
    out.push_back(n * mult);
  }
  if (out.empty()) return Status::InvalidArgument("no delay levels given");
  return out;
}

ScheduleService::ScheduleService(store::MessageStore* store, std::string offsets_path,
                                 std::vector<int64_t> level_ms, store::FileSystem* fs)
    : store_(store),
      path_(std::move(offsets_path)),
      fs_(fs),
      level_ms_(std::move(level_ms)),
      offsets_(level_ms_.size(), 0) {}

ScheduleService::~ScheduleService() { Stop(); }

Status ScheduleService::Load() {
  auto text = store::ReadWholeFile(fs_, path_);
  if (!text.ok()) {
    return text.status().code() == StatusCode::kNotFound ? Status::OK() : text.status();
  }
  auto file = protocol::DelayOffsetFile::Decode(*text);
  if (!file.ok()) return Status::Corruption(path_ + ": " + std::string(file.status().message()));
  MutexLock l(&mu_);
  for (const auto& [level, off] : file->offset_table) {
    if (level <= max_level()) offsets_[static_cast<size_t>(level - 1)] = off;
  }
  return Status::OK();
}

std::string ScheduleService::Encode() const {
  protocol::DelayOffsetFile file;
  MutexLock l(&mu_);
  for (size_t i = 0; i < offsets_.size(); ++i) {
    file.offset_table[static_cast<int>(i + 1)] = offsets_[i];
  }
  return file.Encode();
}

Status ScheduleService::ReplaceOffsets(const std::map<int, int64_t>& master) {
  {
    MutexLock l(&mu_);
    for (const auto& [level, off] : master) {
      if (level < 1 || level > max_level()) continue;
      int64_t& slot = offsets_[static_cast<size_t>(level - 1)];
      if (slot != off) {
        slot = off;
        dirty_ = true;
      }
    }
  }
  return Persist();
}

Status ScheduleService::Persist() {
  protocol::DelayOffsetFile file;
  {
    MutexLock l(&mu_);
    if (!dirty_) return Status::OK();
    for (size_t i = 0; i < offsets_.size(); ++i) {
      file.offset_table[static_cast<int>(i + 1)] = offsets_[i];
    }
    dirty_ = false;
  }
  Status s = store::WriteFileAtomically(fs_, path_, file.Encode());
  if (!s.ok()) {
    MutexLock l(&mu_);
    dirty_ = true;
  }
  return s;
}

std::map<int, int64_t> ScheduleService::Offsets() const {
  MutexLock l(&mu_);
  std::map<int, int64_t> out;
  for (size_t i = 0; i < offsets_.size(); ++i) out[static_cast<int>(i + 1)] = offsets_[i];
  return out;
}

void ScheduleService::Start() {
  thread_.Start([this](ServiceThread& self) { Run(self); });
}

void ScheduleService::Stop() {
  thread_.Stop();
  if (stopped_.exchange(true)) return;
  Status s = Persist();
  if (!s.ok()) RJ_LOG(kError, "schedule", "persisting delay offsets: %s", s.ToString().c_str());
}

void ScheduleService::Wake() { thread_.Wake(); }

void ScheduleService::Run(ServiceThread& self) {
  while (!self.stopping()) {
    int64_t now = NowMillis();
    int64_t next = now + 100;  // also re-check periodically: new messages arrive all the time
    for (int level = 1; level <= max_level() && !self.stopping(); ++level) {
      next = std::min(next, DeliverLevel(level, now));
    }
    self.WaitFor(std::max<int64_t>(1, next - NowMillis()));
  }
}

int64_t ScheduleService::DeliverLevel(int level, int64_t now) {
  const int32_t qid = level - 1;
  int64_t off;
  {
    MutexLock l(&mu_);
    off = offsets_[static_cast<size_t>(qid)];
  }
  for (int rounds = 0; rounds < 64; ++rounds) {
    store::GetResult got =
        store_->GetMessages(kScheduleTopic, qid, QueueOffset(off), 32, 4 << 20, nullptr);
    if (got.status != store::GetStatus::kFound) {
      int64_t next = got.next_begin_offset.value();
      bool moved = got.status == store::GetStatus::kOffsetTooSmall ||
                   got.status == store::GetStatus::kOffsetOverflowBadly ||
                   got.status == store::GetStatus::kNoMatchedMessage ||
                   got.status == store::GetStatus::kMessageWasRemoving;
      if (moved && next != off) {
        RJ_LOG(kWarn, "schedule", "level %d: offset %lld corrected to %lld (%s)", level,
               static_cast<long long>(off), static_cast<long long>(next),
               std::string(store::GetStatusName(got.status)).c_str());
        MutexLock l(&mu_);
        offsets_[static_cast<size_t>(qid)] = off = next;
        dirty_ = true;
        continue;
      }
      return INT64_MAX;
    }
    for (const auto& m : got.messages) {
      if (m.tags_code > now) return m.tags_code;
      auto rec = message::DecodeRecord(m.data, false);
      int64_t next_off = m.queue_offset.value() + 1;
      if (!rec.ok()) {
        RJ_LOG(kError, "schedule", "level %d offset %lld: unreadable record skipped: %s", level,
               static_cast<long long>(m.queue_offset.value()), rec.status().ToString().c_str());
      } else {
        std::string_view real_topic = message::FindProperty(rec->properties, "REAL_TOPIC");
        std::string_view real_qid = message::FindProperty(rec->properties, "REAL_QID");
        if (real_topic.empty()) {
          RJ_LOG(kError, "schedule", "level %d offset %lld: no REAL_TOPIC, skipped", level,
                 static_cast<long long>(m.queue_offset.value()));
        } else {
          // Delivered with the properties it was stored with, DELAY included, as RocketMQ 4.9
          // stores a delivered message.
          std::string props(rec->properties);
          std::string topic(real_topic);
          message::MessageInput in =
              RequeueInput(*rec, topic, std::atoi(std::string(real_qid).c_str()), props);
          auto put = store_->PutMessage(in, false);
          if (!put.ok()) {
            RJ_LOG(kError, "schedule", "level %d: re-put into %s failed, retrying in 1 s: %s",
                   level, topic.c_str(), put.status().ToString().c_str());
            return now + 1000;
          }
        }
      }
      MutexLock l(&mu_);
      offsets_[static_cast<size_t>(qid)] = off = next_off;
      dirty_ = true;
    }
  }
  return now;  // more due messages: come back at once
}

}  // namespace ramjet::broker
