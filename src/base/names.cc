#include "ramjet/base/names.h"

namespace ramjet {
namespace {

bool LegalChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '%' ||
         c == '|' || c == '_' || c == '-';
}

Status Validate(std::string_view name, const char* what, size_t max) {
  if (name.empty()) return Status::InvalidArgument(std::string("The specified ") + what +
                                                   " is blank.");
  if (name.size() > max) {
    return Status::InvalidArgument(std::string("The specified ") + what + " is longer than " +
                                   what + " max length " + std::to_string(max) + ".");
  }
  for (char c : name) {
    if (!LegalChar(c)) {
      return Status::InvalidArgument(std::string("The specified ") + what + "[" +
                                     EscapeForLog(name, 128) +
                                     "] contains illegal characters, allowing only "
                                     "^[%|a-zA-Z0-9_-]+$");
    }
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

}  // namespace ramjet
