#include "ramjet/base/hash.h"

#include <libdeflate.h>

namespace ramjet {

uint32_t Crc32(std::string_view data) {
  // The same CRC-32 as java.util.zip.CRC32 and zlib, computed with carry-less multiplication
  // where the CPU has it (several times faster than zlib's table-driven loop).
  return libdeflate_crc32(0, data.data(), data.size());
}

int32_t JavaStringHash(std::string_view s) {
  uint32_t h = 0;
  auto mix = [&h](uint32_t unit) { h = h * 31u + unit; };
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  while (i < n) {
    uint32_t c = p[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else {
      mix(0xFFFD);
      ++i;
      continue;
    }
    bool valid = i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80)
        valid = false;
      else
        cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (!valid) {
      mix(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      mix(0xD800 + (cp >> 10));
      mix(0xDC00 + (cp & 0x3FF));
    } else {
      mix(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

}  // namespace ramjet
