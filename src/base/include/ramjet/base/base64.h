// Base64 (RFC 4648), padded. The standard alphabet (etcd's JSON gateway, Java's
// Base64.getEncoder: RocketMQ's BatchAck bit sets) and the URL-safe one ("-_" for "+/", Java's
// Base64.getUrlEncoder: RocketMQ 5's recall handles). Decoding is strict: canonical padding
// only, any other character is kCorruption.
#pragma once

#include <string>
#include <string_view>

#include "ramjet/base/result.h"

namespace ramjet {

enum class Base64Alphabet { kStandard, kUrlSafe };

std::string Base64Encode(std::string_view in, Base64Alphabet a = Base64Alphabet::kStandard);
Result<std::string> Base64Decode(std::string_view in, Base64Alphabet a = Base64Alphabet::kStandard);

}  // namespace ramjet
