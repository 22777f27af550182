// The etcd gateway codec against answers captured from etcd 3.4.23 (Debian 12's etcd-server).
#include "etcd_codec.h"

#include <gtest/gtest.h>

namespace ramjet::controller {
namespace {

TEST(Base64Test, RoundTripsEveryLengthAndRefusesGarbage) {
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("lead"), "bGVhZA==");
  EXPECT_EQ(Base64Encode("x"), "eA==");
  EXPECT_EQ(Base64Encode(""), "");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < all.size(); n += 37) {
    auto back = Base64Decode(Base64Encode(all.substr(0, n)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, all.substr(0, n));
  }
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_FALSE(Base64Decode("ab!d").ok());
  EXPECT_FALSE(Base64Decode("a=bc").ok());
  EXPECT_FALSE(Base64Decode("ab==cdef").ok());
  EXPECT_FALSE(Base64Decode("vkq=").ok());  // leftover bits set: not what any encoder writes
  EXPECT_FALSE(Base64Decode("eB==").ok());
}

TEST(HttpResponseTest, ParsesChunkedContentLengthAndClose) {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  auto r = ParseHttpResponse(chunked);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  auto l = ParseHttpResponse("HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nabcdef");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->status, 404);
  EXPECT_EQ(l->body, "abc");
  auto c = ParseHttpResponse("HTTP/1.1 200 OK\r\n\r\n{}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->body, "{}");
}

TEST(HttpResponseTest, RefusesMalformedFraming) {
  EXPECT_FALSE(ParseHttpResponse("HTTP/1.1 200 OK\r\n").ok());
  EXPECT_FALSE(ParseHttpResponse("HTTX/1.1 200 OK\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpResponse("HTTP/1.1 2x0 OK\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpResponse("HTTP/1.1 200 OK\r\nno colon\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").ok());
  EXPECT_FALSE(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").ok());
  EXPECT_FALSE(
      ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n").ok());
  EXPECT_FALSE(
      ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab\r\n").ok());
}

TEST(EtcdCodecTest, EncodesRequestsAsTheGatewayWantsThem) {
  EXPECT_EQ(EncodeRangeRequest("foo", false), R"({"key":"Zm9v"})");
  EXPECT_EQ(EncodeRangeRequest("e/", true), R"({"key":"ZS8=","range_end":"ZTA="})");
  EXPECT_EQ(EncodePutRequest("foo", "bar", 0), R"({"key":"Zm9v","value":"YmFy"})");
  EXPECT_EQ(EncodePutRequest("foo", "bar", 7587899375906237957),
            R"({"key":"Zm9v","lease":"7587899375906237957","value":"YmFy"})");
  EXPECT_EQ(EncodeLeaseGrantRequest(3), R"({"TTL":3})");
  EXPECT_EQ(EncodeLeaseIdRequest(42), R"({"ID":"42"})");
  EXPECT_EQ(
      EncodeTxnRequest({Compare{"lead", Compare::kCreateRevision, 0, {}}},
                       {Op::Put("lead", "x", 9)}, {Op::Range("lead")}),
      R"({"compare":[{"create_revision":"0","key":"bGVhZA==","result":"EQUAL","target":"CREATE"}],)"
      R"("failure":[{"request_range":{"key":"bGVhZA=="}}],)"
      R"("success":[{"request_put":{"key":"bGVhZA==","lease":"9","value":"eA=="}}]})");
  EXPECT_EQ(EncodeHttpPost("127.0.0.1:2379", "/v3/kv/range", "{}"),
            "POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nContent-Type: "
            "application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
}

TEST(EtcdCodecTest, DecodesCapturedAnswers) {
  auto lease = DecodeLeaseGrantResponse(
      R"({"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437",)"
      R"("revision":"1","raft_term":"2"},"ID":"7587899375906237957","TTL":"3"})");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(*lease, 7587899375906237957);
  auto kvs = DecodeRangeResponse(
      R"({"header":{"revision":"2"},"kvs":[{"key":"Zm9v","create_revision":"2",)"
      R"("mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"})");
  ASSERT_TRUE(kvs.ok());
  ASSERT_EQ(kvs->size(), 1u);
  EXPECT_EQ((*kvs)[0].key, "foo");
  EXPECT_EQ((*kvs)[0].value, "bar");
  EXPECT_EQ((*kvs)[0].mod_revision, 2);
  auto none = DecodeRangeResponse(R"({"header":{"revision":"2"}})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto won = DecodeTxnResponse(
      R"({"header":{"revision":"3"},"succeeded":true,"responses":[{"response_put":)"
      R"({"header":{"revision":"3"}}}]})");
  ASSERT_TRUE(won.ok());
  EXPECT_TRUE(won->succeeded);
  auto lost = DecodeTxnResponse(
      R"({"header":{"revision":"3"},"responses":[{"response_range":{"header":{"revision":"3"},)"
      R"("kvs":[{"key":"bGVhZA==","create_revision":"3","mod_revision":"3","version":"1",)"
      R"("value":"eA==","lease":"7587899375906237963"}],"count":"1"}}]})");
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->succeeded);
  ASSERT_EQ(lost->ranges.size(), 1u);
  EXPECT_EQ(lost->ranges[0][0].lease, 7587899375906237963);
  auto alive = DecodeKeepAliveResponse(
      "{\"result\":{\"header\":{\"revision\":\"2\"},\"ID\":\"7587899375906237963\",\"TTL\":\"3\"}}"
      "\n");
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(*alive, 3);
  auto expired = DecodeKeepAliveResponse(
      "{\"result\":{\"header\":{\"revision\":\"4\"},\"ID\":\"7587899375906237963\"}}\n");
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0);
}

TEST(EtcdCodecTest, ErrorsBecomeStatusesAndGarbageIsRefused) {
  auto gone = DecodeEmptyResponse(
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})");
  EXPECT_EQ(gone.code(), StatusCode::kNotFound);
  EXPECT_NE(gone.message().find("lease not found"), std::string_view::npos);
  EXPECT_FALSE(DecodeRangeResponse("not json").ok());
  EXPECT_FALSE(DecodeRangeResponse(R"({"kvs":{"key":"x"}})").ok());
  EXPECT_FALSE(DecodeRangeResponse(R"({"kvs":[{"key":"!!!!"}]})").ok());
  EXPECT_FALSE(DecodeRangeResponse(R"({"kvs":[{"key":"Zm9v","mod_revision":"x1"}]})").ok());
  EXPECT_FALSE(DecodeLeaseGrantResponse(R"({"TTL":"3"})").ok());
  EXPECT_FALSE(DecodeKeepAliveResponse(R"({"header":{}})").ok());
  EXPECT_FALSE(DecodeTxnResponse(R"({"responses":7})").ok());
}

}  // namespace
}  // namespace ramjet::controller
