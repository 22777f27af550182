// libFuzzer target: the CommitLog record decoder, property parsing and message-id decoding must
// never crash or read out of bounds, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ramjet/message/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = ramjet::message::DecodeRecord(in, true);
  if (r.ok()) {
    // A decoded record's views lie inside the input.
    if (r->body.data() < in.data() || r->body.data() + r->body.size() > in.data() + in.size())
      __builtin_trap();
    (void)ramjet::message::ParseProperties(r->properties);
    (void)ramjet::message::FindProperty(r->properties, "TAGS");
  }
  (void)ramjet::message::ParseProperties(in);
  (void)ramjet::message::DecodeOffsetMessageId(in.substr(0, 56));
  (void)ramjet::message::HostAddress::Parse(in.substr(0, 64));
  return 0;
}
