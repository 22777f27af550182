// libFuzzer target: everything the failover controller decodes from the network or from etcd:
// HTTP/1.1 responses (chunked or not), etcd's JSON gateway answers, base64, and the
// controller's records. Must never crash; a decoded base64 value re-encodes to its input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "etcd_codec.h"
#include "ramjet/controller/records.h"

using namespace ramjet::controller;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto http = ParseHttpResponse(in);
  if (http.ok() && http->body.size() > in.size()) __builtin_trap();
  (void)DecodeRangeResponse(in);
  (void)DecodeTxnResponse(in);
  (void)DecodeLeaseGrantResponse(in);
  (void)DecodeKeepAliveResponse(in);
  (void)DecodeEmptyResponse(in);
  for (auto alphabet : {ramjet::Base64Alphabet::kStandard, ramjet::Base64Alphabet::kUrlSafe}) {
    auto b64 = ramjet::Base64Decode(in, alphabet);
    if (b64.ok() && ramjet::Base64Encode(*b64, alphabet) != in) __builtin_trap();
  }
  (void)DecodeLeader(in);
  (void)DecodeEpoch(in);
  auto set = DecodeSyncStateSet(in);
  if (set.ok()) (void)DecodeSyncStateSet(EncodeSyncStateSet(*set)).value();
  (void)DecodeMember(in);
  (void)DecodeElect(in);
  return 0;
}
