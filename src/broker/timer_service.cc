#include "timer_service.h"

#include <charconv>

#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/config_files.h"
#include "requeue.h"

namespace ramjet::broker {

namespace {
std::optional<int64_t> ParseI64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

TimerService::TimerService(store::MessageStore* store, std::string progress_path,
                           message::HostAddress store_host, store::FileSystem* fs)
    : store_(store), path_(std::move(progress_path)), fs_(fs), store_host_(store_host) {}

TimerService::~TimerService() { Stop(); }

Result<std::optional<int64_t>> TimerService::ToTimer(std::string* topic, int32_t* queue_id,
                                                     std::string* props, int64_t now,
                                                     int64_t max_delay_ms) {
  std::string_view at = message::FindProperty(*props, "TIMER_DELIVER_MS");
  std::string_view sec = message::FindProperty(*props, "TIMER_DELAY_SEC");
  std::string_view ms = message::FindProperty(*props, "TIMER_DELAY_MS");
  if (at.empty() && sec.empty() && ms.empty()) return std::optional<int64_t>();
  int64_t deliver = 0;
  if (!at.empty()) {
    auto v = ParseI64(at);
    if (!v) return Status::InvalidArgument("TIMER_DELIVER_MS is not a number: " + std::string(at));
    deliver = *v;
  } else if (!sec.empty()) {
    auto v = ParseI64(sec);
    if (!v || *v < 0 || *v > max_delay_ms / 1000 + 1) {
      return Status::InvalidArgument("TIMER_DELAY_SEC is not a valid delay: " + std::string(sec));
    }
    deliver = now + *v * 1000;
  } else {
    auto v = ParseI64(ms);
    if (!v || *v < 0 || *v > max_delay_ms) {
      return Status::InvalidArgument("TIMER_DELAY_MS is not a valid delay: " + std::string(ms));
    }
    deliver = now + *v;
  }
  if (deliver - now > max_delay_ms) {
    return Status::InvalidArgument("timer more than timerMaxDelaySec in the future");
  }
  if (deliver <= now) return std::optional<int64_t>();  // due already: deliver normally
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& [k, v] : message::ParseProperties(*props)) {
    if (k == "TIMER_OUT_MS" || k == "REAL_TOPIC" || k == "REAL_QID") continue;
    kv.emplace_back(std::string(k), std::string(v));
  }
  kv.emplace_back("TIMER_OUT_MS", std::to_string(deliver));
  kv.emplace_back("REAL_TOPIC", *topic);
  kv.emplace_back("REAL_QID", std::to_string(*queue_id));
  *props = message::BuildProperties(kv);
  *topic = kTimerTopic;
  *queue_id = 0;
  return std::optional<int64_t>(deliver);
}

Status TimerService::Load() {
  auto text = store::ReadWholeFile(fs_, path_);
  int64_t saved = 0;
  if (text.ok()) {
    auto file = protocol::TimerProgressFile::Decode(*text);
    if (!file.ok()) return Status::Corruption(path_ + ": " + std::string(file.status().message()));
    saved = file->watermark;
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status();
  }
  {
    // Runs before the timer thread starts; the lock only keeps the analysis honest.
    MutexLock l(&mu_);
    watermark_ = std::max(saved, store_->GetMinOffsetInQueue(kTimerTopic, 0).value());
    // Offsets delivered above the watermark, from the op records.
    int64_t off = store_->GetMinOffsetInQueue(kTimerOpTopic, 0).value();
    for (;;) {
      auto got = store_->GetMessages(kTimerOpTopic, 0, QueueOffset(off), 256, 16 << 20, nullptr);
      if (got.status != store::GetStatus::kFound) break;
      for (const auto& m : got.messages) {
        auto rec = message::DecodeRecord(m.data, false);
        if (!rec.ok()) continue;
        for (size_t i = 0; i + 8 <= rec->body.size(); i += 8) {
          int64_t d = static_cast<int64_t>(DecodeBE64(rec->body.data() + i));
          if (d >= watermark_) delivered_.insert(d);
        }
      }
      off = got.next_begin_offset.value();
    }
    scan_offset_ = watermark_;
    AdvanceWatermarkLocked();
  }
  LoadNew();
  MutexLock l(&mu_);
  RJ_LOG(kInfo, "timer", "%zu pending timers loaded (watermark %lld)", heap_.size(),
         static_cast<long long>(watermark_));
  return Status::OK();
}

void TimerService::AdvanceWatermarkLocked() {
  while (delivered_.count(watermark_)) {
    delivered_.erase(watermark_);
    ++watermark_;
    dirty_ = true;
  }
}

Status TimerService::Persist() {
  int64_t w;
  {
    MutexLock l(&mu_);
    if (!dirty_) return Status::OK();
    w = watermark_;
    dirty_ = false;
  }
  return store::WriteFileAtomically(fs_, path_, protocol::TimerProgressFile{w}.Encode());
}

size_t TimerService::Pending() const {
  MutexLock l(&mu_);
  return heap_.size();
}

void TimerService::Start() {
  thread_.Start([this](ServiceThread& self) { Run(self); });
}

void TimerService::Stop() {
  thread_.Stop();
  if (stopped_.exchange(true)) return;
  Status s = Persist();
  if (!s.ok()) RJ_LOG(kError, "timer", "persisting timer progress: %s", s.ToString().c_str());
}

void TimerService::LoadNew() {
  for (;;) {
    int64_t from;
    {
      MutexLock l(&mu_);
      from = scan_offset_;
    }
    auto got = store_->GetMessages(kTimerTopic, 0, QueueOffset(from), 4096, 64 << 20, nullptr);
    if (got.status != store::GetStatus::kFound) {
      if (got.status == store::GetStatus::kOffsetTooSmall) {
        MutexLock l(&mu_);
        scan_offset_ = got.next_begin_offset.value();
        continue;
      }
      return;
    }
    MutexLock l(&mu_);
    for (const auto& m : got.messages) {
      int64_t off = m.queue_offset.value();
      if (!delivered_.count(off)) {
        heap_.push(Entry{m.tags_code, off});
      } else {
        cancelled_.erase(off);  // recalled before it was loaded
      }
    }
    scan_offset_ = got.next_begin_offset.value();
    if (got.messages.size() < 4096) return;
  }
}

int64_t TimerService::DeliverDue() {
  const int64_t now = NowMillis();
  std::vector<int64_t> done;
  int64_t next = INT64_MAX;
  for (int i = 0; i < 10000; ++i) {
    Entry e;
    {
      MutexLock l(&mu_);
      if (heap_.empty()) break;
      e = heap_.top();
      if (e.deliver_ms > now) {
        next = e.deliver_ms;
        break;
      }
      heap_.pop();
      if (cancelled_.erase(e.offset)) continue;  // recalled (its op record is Cancel's)
      popped_.insert(e.offset);
    }
    auto phy = store_->GetCommitLogOffsetInQueue(kTimerTopic, 0, QueueOffset(e.offset));
    auto rec = phy.ok() ? store_->ReadRecord(*phy) : Result<store::RecordRef>(phy.status());
    if (!rec.ok()) {
      RJ_LOG(kError, "timer", "timer at offset %lld unreadable, dropped: %s",
             static_cast<long long>(e.offset), rec.status().ToString().c_str());
      done.push_back(e.offset);
      continue;
    }
    const message::RecordView& r = rec->view;
    std::string topic(message::FindProperty(r.properties, "REAL_TOPIC"));
    if (topic.empty()) {
      done.push_back(e.offset);
      continue;
    }
    int32_t qid = std::atoi(std::string(message::FindProperty(r.properties, "REAL_QID")).c_str());
    std::string props =
        EditProperties(r.properties, {"TIMER_DELIVER_MS", "TIMER_DELAY_SEC", "TIMER_DELAY_MS"}, {});
    message::MessageInput in = RequeueInput(r, topic, qid, props);
    auto put = store_->PutMessage(in, false);
    if (!put.ok()) {
      RJ_LOG(kError, "timer", "delivering timer %lld into %s failed, retrying: %s",
             static_cast<long long>(e.offset), topic.c_str(), put.status().ToString().c_str());
      MutexLock l(&mu_);
      heap_.push(e);
      next = now + 1000;
      break;
    }
    done.push_back(e.offset);
  }
  if (!done.empty()) {
    Status s = PutOp(done, now);
    if (!s.ok())
      RJ_LOG(kError, "timer", "writing a timer op record failed: %s", s.ToString().c_str());
  }
  MutexLock l(&mu_);
  for (int64_t d : done) {
    if (d >= watermark_) delivered_.insert(d);
  }
  popped_.clear();
  if (!done.empty()) {
    AdvanceWatermarkLocked();
    if (next == INT64_MAX && !heap_.empty()) next = now;  // the 10000-per-round cap was hit
  }
  return next;
}

Status TimerService::PutOp(const std::vector<int64_t>& offsets, int64_t now) {
  std::string body;
  for (int64_t d : offsets) PutBE64(&body, static_cast<uint64_t>(d));
  message::MessageInput op;
  op.topic = kTimerOpTopic;
  op.queue_id = 0;
  op.body = body;
  op.born_timestamp = now;
  op.born_host = store_host_;
  auto put = store_->PutMessage(op, false);
  return put.ok() ? Status::OK() : put.status();
}

Status TimerService::Cancel(int64_t offset) {
  {
    MutexLock l(&mu_);
    if (offset < watermark_ || delivered_.count(offset) || popped_.count(offset) ||
        cancelled_.count(offset)) {
      return Status::NotFound("the timer message was delivered or recalled already");
    }
    cancelled_.insert(offset);  // the timer thread skips it from now on
  }
  Status s = PutOp({offset}, NowMillis());
  MutexLock l(&mu_);
  if (s.ok()) {
    if (offset >= watermark_) delivered_.insert(offset);
    AdvanceWatermarkLocked();
    return s;
  }
  // Not persisted: undo. If the timer thread skipped it meanwhile, it goes back into the heap.
  if (!cancelled_.erase(offset)) {
    auto phy = store_->GetCommitLogOffsetInQueue(kTimerTopic, 0, QueueOffset(offset));
    auto rec = phy.ok() ? store_->ReadRecord(*phy) : Result<store::RecordRef>(phy.status());
    int64_t at = NowMillis();
    if (rec.ok()) {
      std::string_view out = message::FindProperty(rec->view.properties, "TIMER_OUT_MS");
      std::from_chars(out.data(), out.data() + out.size(), at);
    }
    heap_.push(Entry{at, offset});
  }
  return s;
}

void TimerService::Run(ServiceThread& self) {
  int64_t last_persist = NowMillis();
  while (!self.stopping()) {
    LoadNew();
    int64_t next = DeliverDue();
    int64_t now = NowMillis();
    if (now - last_persist > 1000) {
      Status s = Persist();
      if (!s.ok()) RJ_LOG(kError, "timer", "persisting timer progress: %s", s.ToString().c_str());
      last_persist = now;
    }
    const int64_t wait = std::clamp<int64_t>(next - NowMillis(), 0, 50);
    if (wait > 0) self.WaitFor(wait);
  }
}

}  // namespace ramjet::broker
