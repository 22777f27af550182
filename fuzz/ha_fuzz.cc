// libFuzzer target: the HA stream decoders (slave reports, master transfer frames) on arbitrary
// bytes in arbitrary chunks. Must never crash; whatever decodes re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ramjet/ha/ha_codec.h"

using namespace ramjet::ha;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  ReportDecoder reports;
  for (std::string_view part : {in.substr(0, cut), in.substr(cut)}) {
    auto r = reports.Feed(part);
    if (!r.ok()) break;
    if (r->has_value() && (**r < 0 || EncodeReport(**r).size() != kReportSize)) __builtin_trap();
  }
  TransferDecoder frames(4096);
  frames.Feed(in.substr(0, cut));
  for (int round = 0; round < 2; ++round) {
    for (;;) {
      auto f = frames.Next();
      if (!f.ok() || !f->has_value()) break;
      const TransferFrame& t = **f;
      if (t.master_offset < 0 || t.body.size() > 4096) __builtin_trap();
      std::string again = EncodeTransferHeader(t.master_offset, static_cast<int32_t>(t.body.size()));
      again.append(t.body);
      TransferDecoder d2(4096);
      d2.Feed(again);
      auto f2 = d2.Next();
      if (!f2.ok() || !f2->has_value() || (*f2)->master_offset != t.master_offset ||
          (*f2)->body != t.body)
        __builtin_trap();
    }
    frames.Feed(in.substr(cut));
  }
  return 0;
}
