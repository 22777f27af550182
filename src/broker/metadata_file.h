// What the metadata managers share: reading and writing one config/*.json file through the
// store's FileSystem seam (tmp + fsync + rename; RocketMQ's two-space indentation) and changing a
// table so that a change that cannot be persisted is undone. Thread-safety: the callers' locks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ramjet/base/result.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/store/file_system.h"

namespace ramjet::broker {

// The text of a metadata file, or nullopt when there is none yet (a new store).
Result<std::optional<std::string>> ReadIfExists(store::FileSystem* fs, const std::string& path);

// Writes a wrapper's compact JSON indented by two spaces, as RocketMQ writes config/*.json.
Status WriteIndented(store::FileSystem* fs, const std::string& path, std::string_view json);

// A new data version: counter + 1, timestamp now.
void Bump(protocol::DataVersion* v);

// Applies a change to a table and persists it. A change that cannot be persisted (a full disk)
// is undone, so nothing lives that would be gone after a restart.
template <typename Table, typename Change, typename Persist>
Status ChangeAndPersist(Table* table, protocol::DataVersion* version, Change change,
                        Persist persist) {
  Table before = *table;
  const protocol::DataVersion version_before = *version;
  change();
  Bump(version);
  Status s = persist();
  if (!s.ok()) {
    *table = std::move(before);
    *version = version_before;
  }
  return s;
}

// A slave takes its master's table and data version (SlaveSynchronize) and persists them; a
// failed write leaves the old ones. Returns whether anything changed.
template <typename Table, typename Persist>
Result<bool> ReplaceAndPersist(Table* table, protocol::DataVersion* version, const Table& next,
                               const protocol::DataVersion& next_version, Persist persist) {
  if (next_version == *version && next == *table) return false;
  Table before = std::move(*table);
  const protocol::DataVersion version_before = *version;
  *table = next;
  *version = next_version;
  if (Status s = persist(); !s.ok()) {
    *table = std::move(before);
    *version = version_before;
    return s;
  }
  return true;
}

}  // namespace ramjet::broker
