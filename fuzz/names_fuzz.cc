// libFuzzer target for the one name validator (ramjet/base/names.h) and the log/remark escaping:
// whatever a client sends, an accepted name cannot leave the directory it is joined to, and an
// escaped string is one line of printable ASCII.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ramjet/base/names.h"

namespace {
void Require(bool cond) {
  if (!cond) std::abort();
}

void CheckAcceptedName(std::string_view name, size_t max) {
  Require(!name.empty() && name.size() <= max);
  Require(name != "." && name != "..");
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    Require(u > 0x20 && u < 0x7f && c != '/' && c != '.' && c != '\\');
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (ramjet::ValidateTopicName(in).ok()) CheckAcceptedName(in, ramjet::kTopicMaxLength);
  if (ramjet::ValidateGroupName(in).ok()) CheckAcceptedName(in, ramjet::kGroupMaxLength);
  if (ramjet::ValidateStoreTopicName(in).ok()) CheckAcceptedName(in, ramjet::kGroupTopicMaxLength);
  // A topic validated as a client topic is also a valid store topic.
  if (ramjet::ValidateTopicName(in).ok()) Require(ramjet::ValidateStoreTopicName(in).ok());
  const std::string escaped = ramjet::EscapeForLog(in, 64);
  for (char c : escaped) {
    const auto u = static_cast<unsigned char>(c);
    Require(u >= 0x20 && u < 0x7f);
  }
  // UTF-8 sequence lengths stay within the input and are 0..4.
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t n = ramjet::Utf8SequenceLength(in.substr(i));
    Require(n <= 4 && n <= in.size() - i);
  }
  return 0;
}
