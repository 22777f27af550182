#include "ramjet/base/names.h"

#include <array>
#include <cstdint>

namespace ramjet {
namespace {

constexpr bool LegalChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '%' ||
         c == '|' || c == '_' || c == '-';
}

// LegalChar by table: every send checks its topic twice, and with many topics a branch per
// character class mispredicted on the characters that differ from one name to the next.
constexpr std::array<bool, 256> kLegal = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = LegalChar(static_cast<char>(c));
  return t;
}();

bool AllLegal(std::string_view name) {
  bool legal = true;
  for (char c : name) legal &= kLegal[static_cast<unsigned char>(c)];
  return legal;
}

Status Validate(std::string_view name, const char* what, size_t max) {
  if (name.empty()) return Status::InvalidArgument(std::string("The specified ") + what +
                                                   " is blank.");
  if (name.size() > max) {
    return Status::InvalidArgument(std::string("The specified ") + what + " is longer than " +
                                   what + " max length.");
  }
  if (!AllLegal(name)) {
    return Status::InvalidArgument(std::string("The specified ") + what +
                                   " contains illegal characters, allowing only "
                                   "^[%|a-zA-Z0-9_-]+$");
  }
  return Status::OK();
}

}  // namespace

Status ValidateTopicName(std::string_view topic) {
  return Validate(topic, "topic", kTopicMaxLength);
}

Status ValidateGroupName(std::string_view group) {
  return Validate(group, "group", kGroupMaxLength);
}

Status ValidateStoreTopicName(std::string_view topic) {
  return Validate(topic, "topic", kGroupTopicMaxLength);
}

std::string EscapeForLog(std::string_view raw, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t shown = raw.size() < max_bytes ? raw.size() : max_bytes;
  out.reserve(shown + 16);
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (shown < raw.size()) out += "...(" + std::to_string(raw.size()) + " bytes)";
  return out;
}

size_t Utf8SequenceLength(std::string_view s) {
  if (s.empty()) return 0;
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((b0 & 0xe0) == 0xc0) {
    n = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

}  // namespace ramjet
