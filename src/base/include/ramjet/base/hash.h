// Checksums and hashes that RocketMQ's byte formats depend on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace ramjet {

// CRC-32 (zlib / java.util.zip.CRC32 polynomial) of data.
uint32_t Crc32(std::string_view data);

// RocketMQ body CRC: Crc32(body) & 0x7FFFFFFF (UtilAll.crc32).
inline int32_t RocketBodyCrc(std::string_view body) {
  return static_cast<int32_t>(Crc32(body) & 0x7FFFFFFFu);
}

// Java String.hashCode() of the UTF-16 form of a UTF-8 string, in 32-bit wrapping arithmetic.
// Invalid UTF-8 bytes are hashed as U+FFFD, as Java's decoder replaces them.
int32_t JavaStringHash(std::string_view utf8);

// std::hash of a string, callable with a string_view: a
// std::unordered_map<std::string, V, StringHash, std::equal_to<>> finds a key without building a
// std::string (the send path looks topics up per message).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace ramjet
