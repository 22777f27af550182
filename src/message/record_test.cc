#include "ramjet/message/record.h"

#include <gtest/gtest.h>

namespace ramjet::message {
namespace {

std::string Unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

// Golden vector, also in docs/formats/commitlog.md: topic TopicTest, queue 3, body "Hello",
// properties TAGS=TagA KEYS=k1, born 1700000000000 at 127.0.0.1:54321, queue offset 7,
// physical offset 4096, stored 1700000000123 at 127.0.0.1:10911.
const char* kGoldenHex =
    "0000007ADAA320A777D189820000000300000000000000000000000700000000"
    "00001000000000000000018BCFE568007F0000010000D4310000018BCFE5687B"
    "7F00000100002A9F0000000000000000000000000000000548656C6C6F09546F"
    "706963546573740011544147530154616741024B455953016B31";

MessageInput GoldenInput(std::string* props) {
  *props = BuildProperties({{"TAGS", "TagA"}, {"KEYS", "k1"}});
  MessageInput m;
  m.topic = "TopicTest";
  m.queue_id = 3;
  m.body = "Hello";
  m.properties = *props;
  m.born_timestamp = 1700000000000;
  m.born_host = HostAddress::V4(127, 0, 0, 1, 54321);
  return m;
}

TEST(RecordTest, EncodeMatchesGoldenBytes) {
  std::string props;
  MessageInput m = GoldenInput(&props);
  std::string out;
  ASSERT_TRUE(EncodeRecord(m, HostAddress::V4(127, 0, 0, 1, 10911), &out).ok());
  PatchRecord(out.data(), 7, 4096, 1700000000123);
  EXPECT_EQ(out, Unhex(kGoldenHex));
  EXPECT_EQ(out.size(), 122u);
}

TEST(RecordTest, DecodeGoldenBytes) {
  std::string bytes = Unhex(kGoldenHex);
  auto r = DecodeRecord(bytes, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->total_size, 122);
  EXPECT_EQ(r->queue_id, 3);
  EXPECT_EQ(r->queue_offset, 7);
  EXPECT_EQ(r->physical_offset, 4096);
  EXPECT_EQ(r->store_timestamp, 1700000000123);
  EXPECT_EQ(r->born_host.ToString(), "127.0.0.1:54321");
  EXPECT_EQ(r->store_host.ToString(), "127.0.0.1:10911");
  EXPECT_EQ(r->body, "Hello");
  EXPECT_EQ(r->topic, "TopicTest");
  EXPECT_EQ(FindProperty(r->properties, "TAGS"), "TagA");
  EXPECT_EQ(FindProperty(r->properties, "KEYS"), "k1");
  EXPECT_EQ(FindProperty(r->properties, "NOPE"), "");
}

TEST(RecordTest, Ipv6HostsShiftFields) {
  std::string props;
  MessageInput m = GoldenInput(&props);
  auto born = HostAddress::Parse("[::1]:5000");
  ASSERT_TRUE(born.ok());
  m.born_host = *born;
  std::string out;
  auto store = HostAddress::Parse("[::1]:10911");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(EncodeRecord(m, *store, &out).ok());
  EXPECT_EQ(out.size(), 122u + 24u);
  PatchRecord(out.data(), 1, 2, 3);
  auto r = DecodeRecord(out, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sys_flag & (kSysFlagBornHostV6 | kSysFlagStoreHostV6),
            kSysFlagBornHostV6 | kSysFlagStoreHostV6);
  EXPECT_EQ(r->store_timestamp, 3);
  EXPECT_EQ(r->born_host.ToString(), "[::1]:5000");
  EXPECT_EQ(r->body, "Hello");
}

TEST(RecordTest, DetectsCorruption) {
  std::string bytes = Unhex(kGoldenHex);
  std::string bad = bytes;
  bad[100] ^= 0x1;  // in the body? body is at 88..92; 100 is topic: length check still passes
  bad = bytes;
  bad[90] ^= 0x40;  // body byte
  EXPECT_EQ(DecodeRecord(bad, true).status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(DecodeRecord(bad, false).ok());
  bad = bytes;
  bad[4] = 0;  // magic
  EXPECT_EQ(DecodeRecord(bad, true).status().code(), StatusCode::kCorruption);
  bad = bytes;
  bad[3] = 0x7B;  // total size one more than the computed length
  bad.push_back('\0');
  EXPECT_EQ(DecodeRecord(bad, true).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeRecord(bytes.substr(0, 60), true).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(DecodeRecord("", true).status().code(), StatusCode::kOutOfRange);
}

TEST(RecordTest, RejectsIllegalMessages) {
  MessageInput m;
  m.body = "x";
  std::string out;
  EXPECT_EQ(EncodeRecord(m, {}, &out).code(), StatusCode::kInvalidArgument);  // no topic
  std::string long_topic(128, 't');
  m.topic = long_topic;
  EXPECT_EQ(EncodeRecord(m, {}, &out).code(), StatusCode::kInvalidArgument);
  m.topic = "t";
  std::string big_props(32768, 'p');
  m.properties = big_props;
  EXPECT_EQ(EncodeRecord(m, {}, &out).code(), StatusCode::kInvalidArgument);
}

TEST(RecordTest, PropertiesParseLikeMessageDecoder) {
  std::string s = std::string("A\x01") + "1" + "\x02" + "\x01" + "x" + "\x02" + "B\x01" + "\x02" +
                  "C\x01" + "3";
  auto p = ParseProperties(s);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].first, "A");
  EXPECT_EQ(p[1].second, "3");
  EXPECT_EQ(BuildProperties({}), "");
}

TEST(RecordTest, OffsetMessageId) {
  auto h = HostAddress::V4(127, 0, 0, 1, 10911);
  std::string id = CreateOffsetMessageId(h, 0x1234);
  EXPECT_EQ(id, "7F00000100002A9F0000000000001234");
  auto d = DecodeOffsetMessageId(id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->first, h);
  EXPECT_EQ(d->second, 0x1234);
  EXPECT_FALSE(DecodeOffsetMessageId("XYZ").ok());
}

TEST(RecordTest, TagsCodeIsJavaHashSignExtended) {
  EXPECT_EQ(TagsCode(""), 0);
  EXPECT_EQ(TagsCode("TagA"), 2598919);
  EXPECT_EQ(TagsCode("polygenelubricants"), static_cast<int64_t>(INT32_MIN));
}

}  // namespace
}  // namespace ramjet::message
