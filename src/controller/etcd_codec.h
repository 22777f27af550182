// The bytes of etcd's v3 JSON gateway (docs/formats/etcd-gateway.md): request bodies, response
// decoders, base64, and the HTTP/1.1 response framing they travel in. Pure functions, no I/O:
// unit-tested with captured etcd 3.4 answers and fuzzed (fuzz/etcd_fuzz.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/base64.h"  // the gateway base64-encodes keys and values
#include "ramjet/base/result.h"
#include "ramjet/controller/etcd_client.h"

namespace ramjet::controller {

struct HttpResponse {
  int status = 0;
  std::string body;  // de-chunked
};
// A whole HTTP/1.1 response as read until the server closed the connection: status line,
// headers, then a body framed by Content-Length, chunked transfer coding, or the close.
Result<HttpResponse> ParseHttpResponse(std::string_view raw);
// "POST path HTTP/1.1" with Host, JSON content type, Content-Length and Connection: close.
std::string EncodeHttpPost(std::string_view host, std::string_view path, std::string_view body);

// Request bodies.
std::string EncodeRangeRequest(std::string_view key, bool prefix);
std::string EncodePutRequest(std::string_view key, std::string_view value, int64_t lease);
std::string EncodeDeleteRequest(std::string_view key);
std::string EncodeTxnRequest(const std::vector<Compare>& compare, const std::vector<Op>& success,
                             const std::vector<Op>& failure);
std::string EncodeLeaseGrantRequest(int64_t ttl_s);
std::string EncodeLeaseIdRequest(int64_t lease);

// Response decoders. An answer carrying etcd's {"error": ..., "code": n} becomes a Status with
// etcd's message (kNotFound for code 5, kInvalidArgument for code 3, kUnavailable otherwise).
Result<std::vector<KeyValue>> DecodeRangeResponse(std::string_view body);
Result<TxnResult> DecodeTxnResponse(std::string_view body);
Result<int64_t> DecodeLeaseGrantResponse(std::string_view body);  // the lease id
Status DecodeEmptyResponse(std::string_view body);                // put, delete, revoke
// Keep-alive answers are a stream of {"result": {...}}; the first is decoded: the remaining TTL,
// 0 when the lease has expired.
Result<int64_t> DecodeKeepAliveResponse(std::string_view body);

}  // namespace ramjet::controller
