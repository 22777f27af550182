// The checkpoint file (docs/formats/checkpoint.md): 4 KiB; RocketMQ's three timestamps at 0/8/16,
// then Ramjet's recovery offsets guarded by a CRC. Written to `checkpoint.tmp`, fsynced and renamed
// over `checkpoint` (never through mmap); a damaged checkpoint is still detected by its CRC.
#pragma once

#include <cstdint>
#include <string>

#include "ramjet/store/file_system.h"

namespace ramjet::store {

inline constexpr int kCheckpointFileSize = 4096;
inline constexpr uint32_t kCheckpointMagic = 0x524A434Bu;  // "RJCK"

struct Checkpoint {
  int64_t physic_msg_timestamp = 0;
  int64_t logics_msg_timestamp = 0;
  int64_t index_msg_timestamp = 0;
  // Everything in the CommitLog below this offset was fsynced.
  int64_t physic_flushed_offset = 0;
  // Consume-queue and index entries of every record below this CommitLog offset were fsynced.
  int64_t logics_flushed_offset = 0;

  std::string Encode() const;  // kCheckpointFileSize bytes
  // Fails with kCorruption if the magic or CRC is wrong, kNotFound if the file is absent.
  static Result<Checkpoint> Load(FileSystem* fs, const std::string& path);
  Status Store(FileSystem* fs, const std::string& path) const;
};

}  // namespace ramjet::store
