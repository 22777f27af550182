#include "metadata_file.h"

#include "ramjet/base/clock.h"
#include "ramjet/protocol/config_files.h"

namespace ramjet::broker {

Result<std::optional<std::string>> ReadIfExists(store::FileSystem* fs, const std::string& path) {
  auto text = store::ReadWholeFile(fs, path);
  if (text.ok()) return std::optional<std::string>(std::move(*text));
  if (text.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return text.status();
}

Status WriteIndented(store::FileSystem* fs, const std::string& path, std::string_view json) {
  RJ_ASSIGN_OR_RETURN(std::string text, protocol::IndentJson(json));
  return store::WriteFileAtomically(fs, path, text);
}

void Bump(protocol::DataVersion* v) {
  v->counter++;
  v->timestamp = NowMillis();
}

}  // namespace ramjet::broker
