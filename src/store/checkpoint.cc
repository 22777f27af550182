#include "checkpoint.h"

#include "ramjet/base/coding.h"
#include "ramjet/base/hash.h"

namespace ramjet::store {
namespace {
constexpr int kPosMagic = 40, kPosVersion = 44, kPosPhysicFlushed = 48, kPosLogicsFlushed = 56,
              kPosCrc = 64;
}

std::string Checkpoint::Encode() const {
  std::string b(kCheckpointFileSize, '\0');
  char* p = b.data();
  EncodeBE64(p + 0, static_cast<uint64_t>(physic_msg_timestamp));
  EncodeBE64(p + 8, static_cast<uint64_t>(logics_msg_timestamp));
  EncodeBE64(p + 16, static_cast<uint64_t>(index_msg_timestamp));
  EncodeBE32(p + kPosMagic, kCheckpointMagic);
  EncodeBE32(p + kPosVersion, 1);
  EncodeBE64(p + kPosPhysicFlushed, static_cast<uint64_t>(physic_flushed_offset));
  EncodeBE64(p + kPosLogicsFlushed, static_cast<uint64_t>(logics_flushed_offset));
  EncodeBE32(p + kPosCrc, Crc32(std::string_view(p, kPosCrc)));
  return b;
}

Result<Checkpoint> Checkpoint::Load(FileSystem* fs, const std::string& path) {
  if (!fs->Exists(path)) return Status::NotFound("no checkpoint file " + path);
  auto f = fs->OpenFile(path, false);
  if (!f.ok()) return f.status();
  std::string b(kCheckpointFileSize, '\0');
  size_t got = 0;
  RJ_RETURN_IF_ERROR((*f)->ReadAt(0, b.size(), b.data(), &got));
  const char* p = b.data();
  if (got < static_cast<size_t>(kPosCrc) + 4 || DecodeBE32(p + kPosMagic) != kCheckpointMagic)
    return Status::Corruption("checkpoint " + path + " has no valid header");
  if (DecodeBE32(p + kPosCrc) != Crc32(std::string_view(p, kPosCrc)))
    return Status::Corruption("checkpoint " + path + " CRC mismatch");
  Checkpoint c;
  c.physic_msg_timestamp = static_cast<int64_t>(DecodeBE64(p + 0));
  c.logics_msg_timestamp = static_cast<int64_t>(DecodeBE64(p + 8));
  c.index_msg_timestamp = static_cast<int64_t>(DecodeBE64(p + 16));
  c.physic_flushed_offset = static_cast<int64_t>(DecodeBE64(p + kPosPhysicFlushed));
  c.logics_flushed_offset = static_cast<int64_t>(DecodeBE64(p + kPosLogicsFlushed));
  if (c.physic_flushed_offset < 0 || c.logics_flushed_offset < 0)
    return Status::Corruption("checkpoint " + path + " has negative offsets");
  return c;
}

Status Checkpoint::Store(FileSystem* fs, const std::string& path) const {
  // Write a new file and rename it over the old one: a crash during the write leaves the previous
  // checkpoint intact instead of a torn one.
  const std::string tmp = path + ".tmp";
  {
    auto f = fs->OpenFile(tmp, true);
    if (!f.ok()) return f.status();
    RJ_RETURN_IF_ERROR((*f)->WriteAt(0, Encode()));
    RJ_RETURN_IF_ERROR((*f)->Sync());
  }
  RJ_RETURN_IF_ERROR(fs->Rename(tmp, path));
  size_t slash = path.rfind('/');
  return fs->SyncDir(slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace ramjet::store
