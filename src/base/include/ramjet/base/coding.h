// Big-endian fixed-width encoding, as every RocketMQ byte format uses.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace ramjet {

inline void EncodeBE32(char* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void EncodeBE64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline void EncodeBE16(char* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline uint32_t DecodeBE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t DecodeBE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline uint16_t DecodeBE16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline void PutBE32(std::string* s, uint32_t v) {
  char b[4];
  EncodeBE32(b, v);
  s->append(b, 4);
}
inline void PutBE64(std::string* s, uint64_t v) {
  char b[8];
  EncodeBE64(b, v);
  s->append(b, 8);
}
inline void PutBE16(std::string* s, uint16_t v) {
  char b[2];
  EncodeBE16(b, v);
  s->append(b, 2);
}

}  // namespace ramjet
