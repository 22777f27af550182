// libFuzzer target: the remoting frame decoder (length field, JSON and binary headers, extFields)
// and every JSON body parser the servers run on untrusted input. Must never crash or leak; any
// input either decodes or yields an error Status.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/pop_headers.h"
#include "ramjet/protocol/remoting_command.h"
#include "ramjet/protocol/trace.h"

using namespace ramjet::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // 1. As a byte stream, fed in two chunks.
  FrameDecoder d(1 << 16);
  size_t half = size / 2;
  d.Append(in.data(), half);
  for (int round = 0; round < 2; ++round) {
    for (;;) {
      auto r = d.Next();
      if (!r.ok() || !r->has_value()) break;
      // Whatever decodes must re-encode and decode to the same command.
      std::string again = EncodeFrame(**r);
      FrameDecoder d2(1 << 20);
      d2.Append(again.data(), again.size());
      auto r2 = d2.Next();
      if (!r2.ok() || !r2->has_value()) __builtin_trap();
      if ((*r2)->code != (**r).code || (*r2)->opaque != (**r).opaque ||
          (*r2)->ext_fields != (**r).ext_fields || (*r2)->body != (**r).body) {
        __builtin_trap();
      }
      (void)(**r).GetInt64("queueOffset");
      (void)(**r).GetBool("m");
      // The POP family's typed headers.
      (void)PopMessageRequestHeader::Decode(**r);
      (void)PopMessageResponseHeader::Decode(**r);
      (void)AckMessageRequestHeader::Decode(**r, true);
      (void)NotificationRequestHeader::Decode(**r, false);
    }
    if (round == 0) d.Append(in.data() + half, size - half);
  }
  // 2. As a frame body directly.
  (void)DecodeFrameBody(in);
  // 3. As each JSON body.
  (void)HeartbeatData::Parse(in);
  (void)TopicRouteData::Parse(in);
  (void)RegisterBrokerBody::Parse(in, false);
  (void)RegisterBrokerBody::Parse(in, true);
  (void)ClusterInfo::Parse(in);
  (void)KVTable::Parse(in);
  (void)ConsumerListBody::Parse(in);
  (void)QuoteNumericKeys(in);
  (void)BatchAckMessageRequestBody::Decode(in);
  (void)QueryAssignmentRequestBody::Decode(in);
  (void)DecodeQueryAssignmentResponse(in);
  (void)SetMessageRequestModeRequestBody::Decode(in);
  (void)DecodeTraceData(in);
  return 0;
}
