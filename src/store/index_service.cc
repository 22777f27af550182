#include "index_service.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <ctime>

#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"

namespace ramjet::store {
namespace {

constexpr int kPosBeginTs = 0, kPosEndTs = 8, kPosBeginPhy = 16, kPosEndPhy = 24,
              kPosSlotCount = 32, kPosIndexCount = 36;

int64_t FileSizeFor(int slots, int entries) {
  return kIndexHeaderSize + static_cast<int64_t>(slots) * kIndexSlotSize +
         static_cast<int64_t>(entries) * kIndexEntrySize;
}

std::string TimeName(int64_t ms, int seq) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  localtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02d%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  std::string s = buf;
  if (seq > 0) s += "_" + std::to_string(seq);  // two files in one millisecond (tests)
  return s;
}

}  // namespace

int32_t IndexKeyHash(std::string_view key) {
  int32_t h = JavaStringHash(key);
  int32_t a = h == INT32_MIN ? INT32_MIN : (h < 0 ? -h : h);
  return a < 0 ? 0 : a;
}

Result<std::unique_ptr<IndexFile>> IndexFile::Create(FileSystem* fs, const std::string& path,
                                                     int slots, int max_entries) {
  auto f = fs->OpenFile(path, true);
  if (!f.ok()) return f.status();
  std::unique_ptr<File> file = std::move(f).value();
  int64_t size = FileSizeFor(slots, max_entries);
  RJ_RETURN_IF_ERROR(file->Truncate(0));
  RJ_RETURN_IF_ERROR(file->Allocate(static_cast<uint64_t>(size)));
  auto map = file->Map(static_cast<uint64_t>(size), true);
  if (!map.ok()) return map.status();
  std::unique_ptr<IndexFile> idx(
      new IndexFile(path, std::move(file), std::move(map).value(), slots, max_entries));
  EncodeBE32(idx->base() + kPosIndexCount, 1);  // entry 0 is never used
  return idx;
}

Result<std::unique_ptr<IndexFile>> IndexFile::Open(FileSystem* fs, const std::string& path,
                                                   int slots, int max_entries) {
  auto f = fs->OpenFile(path, false);
  if (!f.ok()) return f.status();
  std::unique_ptr<File> file = std::move(f).value();
  auto size = file->Size();
  if (!size.ok()) return size.status();
  int64_t want = FileSizeFor(slots, max_entries);
  if (static_cast<int64_t>(*size) != want)
    return Status::Corruption("index file " + path + " is " + std::to_string(*size) +
                              " bytes, expected " + std::to_string(want));
  auto map = file->Map(static_cast<uint64_t>(want), true);
  if (!map.ok()) return map.status();
  std::unique_ptr<IndexFile> idx(
      new IndexFile(path, std::move(file), std::move(map).value(), slots, max_entries));
  int32_t count = idx->index_count();
  int32_t used_slots = static_cast<int32_t>(DecodeBE32(idx->base() + kPosSlotCount));
  if (count < 1 || count > max_entries || used_slots < 0 || used_slots > slots ||
      idx->begin_phy_offset() < 0 || idx->end_phy_offset() < idx->begin_phy_offset())
    return Status::Corruption("index file " + path + " has an invalid header");
  return idx;
}

int64_t IndexFile::begin_timestamp() const {
  return static_cast<int64_t>(DecodeBE64(base() + kPosBeginTs));
}
int64_t IndexFile::end_timestamp() const {
  return static_cast<int64_t>(DecodeBE64(base() + kPosEndTs));
}
int64_t IndexFile::begin_phy_offset() const {
  return static_cast<int64_t>(DecodeBE64(base() + kPosBeginPhy));
}
int64_t IndexFile::end_phy_offset() const {
  return static_cast<int64_t>(DecodeBE64(base() + kPosEndPhy));
}
int32_t IndexFile::index_count() const {
  return static_cast<int32_t>(DecodeBE32(base() + kPosIndexCount));
}
bool IndexFile::IsFull() const { return index_count() >= max_entries_; }

char* IndexFile::SlotFor(int32_t hash) const {
  return base() + kIndexHeaderSize + static_cast<int64_t>(hash % slots_) * kIndexSlotSize;
}

char* IndexFile::EntryAt(int32_t n) const {
  return base() + kIndexHeaderSize + static_cast<int64_t>(slots_) * kIndexSlotSize +
         static_cast<int64_t>(n) * kIndexEntrySize;
}

void IndexFile::PrefetchSlot(int32_t hash) const { __builtin_prefetch(SlotFor(hash), 1); }

bool IndexFile::PutHash(int32_t hash, int64_t phy, int64_t ts) {
  int32_t count = index_count();
  if (count >= max_entries_) return false;
  char* slot_p = SlotFor(hash);
  int32_t prev = static_cast<int32_t>(DecodeBE32(slot_p));
  if (prev <= 0 || prev > count) prev = 0;
  int64_t begin_ts = begin_timestamp();
  if (count <= 1 && begin_ts == 0) {
    EncodeBE64(base() + kPosBeginTs, static_cast<uint64_t>(ts));
    EncodeBE64(base() + kPosBeginPhy, static_cast<uint64_t>(phy));
    begin_ts = ts;
  }
  int64_t diff = (ts - begin_ts) / 1000;
  if (diff < 0) diff = 0;
  if (diff > INT32_MAX) diff = INT32_MAX;
  char* e = EntryAt(count);
  EncodeBE32(e, static_cast<uint32_t>(hash));
  EncodeBE64(e + 4, static_cast<uint64_t>(phy));
  EncodeBE32(e + 12, static_cast<uint32_t>(diff));
  EncodeBE32(e + 16, static_cast<uint32_t>(prev));
  EncodeBE32(slot_p, static_cast<uint32_t>(count));
  if (prev == 0) {
    EncodeBE32(base() + kPosSlotCount, DecodeBE32(base() + kPosSlotCount) + 1);
  }
  EncodeBE32(base() + kPosIndexCount, static_cast<uint32_t>(count + 1));
  EncodeBE64(base() + kPosEndPhy, static_cast<uint64_t>(phy));
  EncodeBE64(base() + kPosEndTs, static_cast<uint64_t>(ts));
  return true;
}

void IndexFile::Select(std::string_view key, int max, int64_t begin_ms, int64_t end_ms,
                       std::vector<int64_t>* out) const {
  int32_t hash = IndexKeyHash(key);
  int32_t count = index_count();
  int32_t cur = static_cast<int32_t>(DecodeBE32(SlotFor(hash)));
  int64_t begin_ts = begin_timestamp();
  int guard = 0;
  while (cur > 0 && cur < count && static_cast<int>(out->size()) < max && guard++ < count) {
    const char* e = EntryAt(cur);
    int32_t h = static_cast<int32_t>(DecodeBE32(e));
    int64_t phy = static_cast<int64_t>(DecodeBE64(e + 4));
    int64_t t = begin_ts + static_cast<int64_t>(static_cast<int32_t>(DecodeBE32(e + 12))) * 1000;
    int32_t prev = static_cast<int32_t>(DecodeBE32(e + 16));
    // Time is stored in seconds: widen the window by the truncation.
    if (h == hash && t >= begin_ms - 1000 && t <= end_ms) out->push_back(phy);
    if (prev <= 0 || prev >= cur) break;
    cur = prev;
  }
}

IndexService::IndexService(const StoreConfig& config, FileSystem* fs)
    : config_(config), fs_(fs), dir_(JoinPath(config.root_dir, "index")) {}

Status IndexService::Load() {
  RJ_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  auto names = fs_->ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::string> sorted = *names;
  std::sort(sorted.begin(), sorted.end());
  std::lock_guard<std::mutex> l(mu_);
  files_.clear();
  for (const auto& n : sorted) {
    std::string path = JoinPath(dir_, n);
    auto f = IndexFile::Open(fs_, path, config_.max_hash_slot_num, config_.max_index_num);
    if (!f.ok()) {
      RJ_LOG(kError, "store",
             "dropping unreadable index file %s: %s (key lookups lose its "
             "entries; messages are intact)",
             path.c_str(), f.status().ToString().c_str());
      fs_->RemoveFile(path).IgnoreError();
      continue;
    }
    files_.push_back(std::move(f).value());
  }
  if (!files_.empty() && files_.back()->index_count() > 1)
    indexed_below_ = files_.back()->end_phy_offset() + 1;
  return Status::OK();
}

Status IndexService::PutHashLocked(int32_t hash, int64_t phy, int64_t ts) {
  if (files_.empty() || files_.back()->IsFull()) {
    int64_t now = config_.clock_ms ? config_.clock_ms() : NowMillis();
    std::string path;
    do {
      path = JoinPath(dir_, TimeName(now, name_seq_++));
    } while (fs_->Exists(path));
    if (!files_.empty()) RJ_RETURN_IF_ERROR(files_.back()->Flush());
    auto f = IndexFile::Create(fs_, path, config_.max_hash_slot_num, config_.max_index_num);
    if (!f.ok()) return f.status();
    files_.push_back(std::move(f).value());
  }
  if (!files_.back()->PutHash(hash, phy, ts)) return Status::Internal("index file full");
  return Status::OK();
}

Status IndexService::DrainLocked() {
  size_t done = 0;
  Status s;
  for (; done < pending_.size(); ++done) {
    const PendingKey& k = pending_[done];
    s = PutHashLocked(k.hash, k.phy, k.ts);
    if (!s.ok()) break;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
  return s;
}

Status IndexService::Build(std::string_view topic, std::string_view keys, std::string_view uniq_key,
                           int64_t phy, int64_t ts) {
  std::lock_guard<std::mutex> l(mu_);
  if (phy < indexed_below_) return Status::OK();  // already indexed (re-dispatch after recovery)
  if (pending_.size() >= kPendingKeys) RJ_RETURN_IF_ERROR(DrainLocked());
  const IndexFile* live = files_.empty() || files_.back()->IsFull() ? nullptr : files_.back().get();
  std::string& key = key_buf_;
  auto queue = [&](std::string_view k) {
    if (k.empty()) return;
    key.assign(topic);
    key.push_back('#');
    key.append(k);
    const int32_t hash = IndexKeyHash(key);
    if (live != nullptr) live->PrefetchSlot(hash);
    pending_.push_back(PendingKey{hash, phy, ts});
  };
  queue(uniq_key);
  size_t pos = 0;
  while (pos < keys.size()) {
    size_t sp = keys.find(' ', pos);
    if (sp == std::string_view::npos) sp = keys.size();
    queue(keys.substr(pos, sp - pos));
    pos = sp + 1;
  }
  indexed_below_ = phy + 1;
  return Status::OK();
}

std::vector<int64_t> IndexService::Query(std::string_view topic, std::string_view key, int max,
                                         int64_t begin_ms, int64_t end_ms) {
  std::string k(topic);
  k.push_back('#');
  k.append(key);
  std::vector<int64_t> out;
  std::lock_guard<std::mutex> l(mu_);
  // Keys still queued are written first (a failure is the dispatcher's to report and retry).
  DrainLocked().IgnoreError();
  for (auto it = files_.rbegin(); it != files_.rend() && static_cast<int>(out.size()) < max; ++it) {
    const auto& f = *it;
    if (f->index_count() <= 1) continue;
    if (f->end_timestamp() < begin_ms - 1000 || f->begin_timestamp() > end_ms) continue;
    f->Select(k, max, begin_ms, end_ms, &out);
  }
  return out;
}

void IndexService::SetRecoveredEnd(int64_t end) {
  std::lock_guard<std::mutex> l(mu_);
  DrainLocked().IgnoreError();
  int64_t indexed = 0;
  if (!files_.empty() && files_.back()->index_count() > 1)
    indexed = files_.back()->end_phy_offset() + 1;
  indexed_below_ = std::min(indexed, end);
}

Status IndexService::Flush() {
  std::lock_guard<std::mutex> l(mu_);
  RJ_RETURN_IF_ERROR(DrainLocked());
  if (!files_.empty()) return files_.back()->Flush();
  return Status::OK();
}

int IndexService::DeleteBefore(int64_t cl_min) {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  while (files_.size() > 1 && files_.front()->end_phy_offset() < cl_min) {
    fs_->RemoveFile(files_.front()->path()).IgnoreError();
    files_.erase(files_.begin());
    ++n;
  }
  return n;
}

size_t IndexService::file_count() {
  std::lock_guard<std::mutex> l(mu_);
  return files_.size();
}

}  // namespace ramjet::store
