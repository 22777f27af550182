#include "ramjet/base/compression.h"

#include <zlib.h>

namespace ramjet {

std::string ZlibDeflate(std::string_view in, int level) {
  uLongf cap = compressBound(static_cast<uLong>(in.size()));
  std::string out(cap, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &cap, reinterpret_cast<const Bytef*>(in.data()),
            static_cast<uLong>(in.size()), level);
  out.resize(cap);
  return out;
}

namespace {

// window_bits: 15 for a zlib stream, 16 + 15 for a gzip member.
Result<std::string> Inflate(std::string_view in, size_t max_out, int window_bits) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return Status::Internal("inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::Corruption(window_bits > 15 ? "data does not inflate (not a gzip stream)"
                                                 : "data does not inflate (not a zlib stream)");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > max_out) {
      inflateEnd(&zs);
      return Status::Corruption("data inflates beyond " + std::to_string(max_out) + " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Status::Corruption("truncated compressed stream");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

Result<std::string> ZlibInflate(std::string_view in, size_t max_out) {
  return Inflate(in, max_out, 15);
}

Result<std::string> GzipInflate(std::string_view in, size_t max_out) {
  return Inflate(in, max_out, 16 + 15);
}

}  // namespace ramjet
