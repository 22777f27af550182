// zlib (RFC 1950, java.util.zip.Deflater's default stream) helpers used by message bodies and
// compressed registrations.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"

namespace ramjet {

std::string ZlibDeflate(std::string_view in, int level);
// kCorruption if the input is not a complete zlib stream or inflates beyond max_out bytes.
Result<std::string> ZlibInflate(std::string_view in, size_t max_out);
// The same for a gzip member (RFC 1952): bodies the 5.x clients send with GZIP encoding.
Result<std::string> GzipInflate(std::string_view in, size_t max_out);

}  // namespace ramjet
