#include <gtest/gtest.h>

#include "ramjet/base/coding.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::protocol {
namespace {

std::string Hex(std::string_view s) {
  static const char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(k[c >> 4]);
    out.push_back(k[c & 15]);
  }
  return out;
}

// A frame holding a JSON header and no body.
std::string JsonFrame(std::string_view header) {
  std::string frame;
  PutBE32(&frame, static_cast<uint32_t>(4 + header.size()));
  PutBE32(&frame, static_cast<uint32_t>(header.size()));
  frame += header;
  return frame;
}

// The digest's example: GET_ROUTEINFO_BY_TOPIC from a Java 4.9.8 client.
TEST(FrameGolden, JavaRouteRequestEncodesExactly) {
  RemotingCommand cmd = RemotingCommand::Request(request_code::kGetRouteinfoByTopic);
  cmd.language = LanguageCode::kJava;
  cmd.version = 409;
  cmd.opaque = 7;
  cmd.Set("topic", "T");
  std::string frame = EncodeFrame(cmd);
  const std::string header =
      R"({"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":7,)"
      R"("serializeTypeCurrentRPC":"JSON","version":409})";
  ASSERT_EQ(header.size(), 123u);
  EXPECT_EQ(Hex(frame.substr(0, 8)), "0000007f0000007b");
  EXPECT_EQ(frame.substr(8), header);
}

TEST(FrameGolden, ResponseWithRemarkAndBody) {
  RemotingCommand req = RemotingCommand::Request(30);
  req.opaque = 42;
  RemotingCommand resp =
      RemotingCommand::ResponseTo(req, response_code::kSystemError, "boom \"x\"");
  resp.language = LanguageCode::kCpp;
  resp.body = "abc";
  std::string frame = EncodeFrame(resp);
  const std::string header =
      R"({"code":1,"flag":1,"language":"CPP","opaque":42,"remark":"boom \"x\"",)"
      R"("serializeTypeCurrentRPC":"JSON","version":409})";
  EXPECT_EQ(DecodeBE32(frame.data()), 4 + header.size() + 3);
  EXPECT_EQ(DecodeBE32(frame.data() + 4), header.size());
  EXPECT_EQ(frame.substr(8, header.size()), header);
  EXPECT_EQ(frame.substr(8 + header.size()), "abc");
}

// ROCKETMQ binary header, bytes laid out by hand from RocketMQSerializable.
TEST(FrameGolden, BinaryHeaderDecodes) {
  std::string h;
  PutBE16(&h, 310);
  h.push_back(1);  // CPP
  PutBE16(&h, 333);
  PutBE32(&h, 9);
  PutBE32(&h, 2);  // oneway
  PutBE32(&h, 2);
  h += "hi";
  std::string ext;
  PutBE16(&ext, 1);
  ext += "b";
  PutBE32(&ext, 5);
  ext += "Topic";
  PutBE32(&h, static_cast<uint32_t>(ext.size()));
  h += ext;
  std::string frame;
  PutBE32(&frame, static_cast<uint32_t>(4 + h.size() + 4));
  PutBE32(&frame, (1u << 24) | static_cast<uint32_t>(h.size()));
  frame += h;
  frame += "body";
  FrameDecoder d;
  d.Append(frame.data(), frame.size());
  auto r = d.Next();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  const RemotingCommand& c = **r;
  EXPECT_EQ(c.code, 310);
  EXPECT_EQ(c.language, LanguageCode::kCpp);
  EXPECT_EQ(c.version, 333);
  EXPECT_EQ(c.opaque, 9);
  EXPECT_TRUE(c.IsOneway());
  EXPECT_EQ(c.remark.value_or(""), "hi");
  EXPECT_EQ(*c.GetString("b"), "Topic");
  EXPECT_EQ(c.body, "body");
  EXPECT_EQ(c.serialize_type, SerializeType::kRocketMq);
  // Re-encoding gives the same bytes.
  EXPECT_EQ(EncodeFrame(c), frame);
}

TEST(Frame, ExtFieldsAcceptAnyScalar) {
  // What ali-ons and rocketmq-client-cpp send.
  std::string header =
      R"({"code":310,"language":"JAVA","version":121,"opaque":3,"flag":0,)"
      R"("extFields":{"e":0,"d":4,"g":"1795","k":false,"m":"true","x":1.5,"n":null}})";
  std::string frame = JsonFrame(header);
  auto c = DecodeFrameBody(std::string_view(frame).substr(4));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c->GetInt32("e"), 0);
  EXPECT_EQ(*c->GetInt32("d"), 4);
  EXPECT_EQ(*c->GetInt64("g"), 1795);
  EXPECT_FALSE(c->GetBool("k"));
  EXPECT_TRUE(c->GetBool("m"));
  EXPECT_EQ(*c->GetString("x"), "1.5");
  EXPECT_FALSE(c->Find("n").has_value());
  EXPECT_EQ(c->language, LanguageCode::kJava);
}

// The fast flat-header parser and the general JSON parser must agree.
TEST(Frame, FastAndGeneralHeaderParsersAgree) {
  for (std::string header : {
           std::string(
               R"({"code":310,"language":"JAVA","version":121,"opaque":3,"flag":2,)"
               R"("extFields":{"e":0,"d":-4,"g":"17","k":false,"m":true,"n":null},"remark":"r"})"),
           std::string(R"( { "code" : 11 , "extFields" : { "a\"b" : "x\\y\u0041\n" } } )"),
           std::string(R"({"code":1,"extFields":{"k":"caf\u00e9"},"language":"CPP"})"),  // general
           std::string(R"({"code":1,"extFields":{"k":"ü"}})"),                           // general
           std::string(R"({"code":1,"remark":null,"extFields":null,"flag":1})"),
           std::string(R"({"code":1,"code":2,"extFields":{"a":"1","a":"2"}})"),
       }) {
    std::string frame = JsonFrame(header);
    auto c = DecodeFrameBody(std::string_view(frame).substr(4));
    ASSERT_TRUE(c.ok()) << header << ": " << c.status().ToString();
    // Re-encoding (always through the writer) and decoding again gives the same command.
    std::string again = EncodeFrame(*c);
    auto d = DecodeFrameBody(std::string_view(again).substr(4));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->code, c->code);
    EXPECT_EQ(d->ext_fields, c->ext_fields);
    EXPECT_EQ(d->remark, c->remark);
  }
  std::string h = R"({"code":1,"code":2,"extFields":{"a":"1","a":"2"},"flag":3})";
  std::string frame = JsonFrame(h);
  auto c = DecodeFrameBody(std::string_view(frame).substr(4));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->code, 2) << "last duplicate wins, as in the general parser";
  EXPECT_EQ(*c->GetString("a"), "2");
  EXPECT_EQ(c->flag, 3);
  auto e =
      DecodeFrameBody(std::string_view(std::string("\0\0\0\x0f") + R"({"code":"12"})").substr(0));
  (void)e;
}

// Long values with escapes, DEL and UTF-8 decode as written and survive a round trip through
// the writer.
TEST(Frame, LongValuesWithEscapesRoundTrip) {
  const std::string properties = std::string("UNIQ_KEY\x01") + "7F0000010D4A18B4AAC2\x02" +
                                 "KEYS\x01order-1 order-2\x02TAGS\x01TagA\x02" + "DEL\x01\x7f\x02" +
                                 "NOTE\x01" + "caf\xc3\xa9 \"quoted\" back\\slash";
  RemotingCommand cmd = RemotingCommand::Request(310);
  cmd.Set("i", properties);
  cmd.Set("producerGroupLongerThanAWord", "please_rename_unique_group_name");
  cmd.remark = std::string("a remark of more than eight characters\twith a tab");
  std::string frame = EncodeFrame(cmd);
  EXPECT_NE(frame.find(R"(\u0001)"), std::string::npos);
  EXPECT_NE(frame.find('\x7f'), std::string::npos)
      << "DEL is legal in a JSON string, written as is";
  auto d = DecodeFrameBody(std::string_view(frame).substr(4));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d->GetString("i"), properties);
  EXPECT_EQ(*d->GetString("producerGroupLongerThanAWord"), "please_rename_unique_group_name");
  EXPECT_EQ(d->remark, cmd.remark);
  // A raw DEL inside a string is legal JSON: the general parser takes it.
  std::string h = "{\"code\":1,\"extFields\":{\"k\":\"abcdefgh\x7fijklmnop\"}}";
  std::string raw = JsonFrame(h);
  auto r = DecodeFrameBody(std::string_view(raw).substr(4));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->GetString("k"), "abcdefgh\x7fijklmnop");
}

TEST(Frame, MissingAndMalformedFieldsNameTheField) {
  RemotingCommand c;
  c.Set("queueId", "abc");
  auto r = c.GetInt32("queueId");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("queueId"), std::string_view::npos);
  auto m = c.GetInt64("topic");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("<topic> is null"), std::string_view::npos);
}

Result<std::optional<RemotingCommand>> DecodeOne(std::string_view bytes, size_t max = 1 << 20) {
  FrameDecoder d(max);
  d.Append(bytes.data(), bytes.size());
  return d.Next();
}

TEST(Frame, BadFramesAreErrors) {
  std::string f;
  PutBE32(&f, 0x7fffffff);
  EXPECT_FALSE(DecodeOne(f).ok()) << "oversized length";
  f.clear();
  PutBE32(&f, 2);
  f += "xx";
  EXPECT_FALSE(DecodeOne(f).ok()) << "length below 4";
  f.clear();
  PutBE32(&f, 8);
  PutBE32(&f, 100);  // header longer than frame
  f += "abcd";
  EXPECT_FALSE(DecodeOne(f).ok());
  f.clear();
  PutBE32(&f, 8);
  PutBE32(&f, (7u << 24) | 4);  // unknown serialize type
  f += "abcd";
  EXPECT_FALSE(DecodeOne(f).ok());
  for (std::string bad :
       {std::string("{not json"), std::string("[1,2]"), std::string(R"({"opaque":1})"),
        std::string(R"({"code":"x"})"), std::string(R"({"code":1,"extFields":{"a":{"b":1}}})"),
        std::string(R"({"code":1,"extFields":[1]})"), std::string(R"({"code":99999999999})")}) {
    auto r = DecodeOne(JsonFrame(bad));
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(Frame, PartialFramesWaitForMoreBytes) {
  RemotingCommand cmd = RemotingCommand::Request(34);
  cmd.body = std::string(1000, 'x');
  std::string frame = EncodeFrame(cmd) + EncodeFrame(cmd);
  FrameDecoder d;
  int got = 0;
  for (char c : frame) {
    d.Append(&c, 1);
    auto r = d.Next();
    ASSERT_TRUE(r.ok());
    if (r->has_value()) {
      ++got;
      EXPECT_EQ((*r)->body.size(), 1000u);
    }
  }
  EXPECT_EQ(got, 2);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Bodies, RouteDataStandardJsonAndFastjsonKeys) {
  TopicRouteData r;
  r.queue_datas.push_back({"broker-a", 4, 4, 6, 0});
  r.broker_datas.push_back({"DefaultCluster", "broker-a", {{0, "127.0.0.1:10911"}}});
  std::string j = r.ToJson();
  EXPECT_EQ(j, R"({"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a",)"
               R"("cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":)"
               R"("broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]})");
  auto back = TopicRouteData::Parse(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->broker_datas, r.broker_datas);
  EXPECT_EQ(back->queue_datas, r.queue_datas);
  // fastjson's unquoted integer keys.
  auto fj = TopicRouteData::Parse(
      R"({"brokerDatas":[{"brokerAddrs":{0:"a:1",1:"b:2"},"brokerName":"x","cluster":"c"}],)"
      R"("queueDatas":[]})");
  ASSERT_TRUE(fj.ok()) << fj.status().ToString();
  EXPECT_EQ(fj->broker_datas[0].broker_addrs.at(1), "b:2");
}

TEST(Bodies, HeartbeatAcceptsNamesAndOrdinals) {
  // ali-ons style (names).
  auto a = HeartbeatData::Parse(
      R"({"clientID":"127.0.0.1@1","producerDataSet":[{"groupName":"P"}],"consumerDataSet":[)"
      R"({"groupName":"G","consumeType":"CONSUME_PASSIVELY","messageModel":"BROADCASTING",)"
      R"("consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","unitMode":false,"subscriptionDataSet":[)"
      R"({"topic":"T","subString":"TagA || TagB","classFilterMode":false,"tagsSet":["TagA","TagB"],)"
      R"("codeSet":[2598919,2598920],"subVersion":1700000000000}]}]})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->producer_groups, std::vector<std::string>{"P"});
  const auto& c = a->consumer_data_set.at(0);
  EXPECT_EQ(c.message_model, MessageModel::kBroadcasting);
  EXPECT_EQ(c.consume_from_where, 4);
  EXPECT_EQ(c.subscription_data_set.at(0).sub_version, 1700000000000);
  EXPECT_EQ(c.subscription_data_set.at(0).expression_type, "TAG");
  EXPECT_EQ(c.subscription_data_set.at(0).code_set.count(2598919), 1u);
  // rocketmq-client-cpp style (ordinals, subVersion as string).
  auto b = HeartbeatData::Parse(
      R"({"clientID":"x","consumerDataSet":[{"groupName":"G","consumeType":1,"messageModel":1,)"
      R"("consumeFromWhere":0,"subscriptionDataSet":[{"topic":"T","subString":"*",)"
      R"("subVersion":"17","tagsSet":[],"codeSet":[]}]}]})");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->consumer_data_set[0].message_model, MessageModel::kClustering);
  EXPECT_EQ(b->consumer_data_set[0].consume_type, ConsumeType::kConsumePassively);
  EXPECT_EQ(b->consumer_data_set[0].subscription_data_set[0].sub_version, 17);
  // Round trip of our own writer.
  auto c2 = HeartbeatData::Parse(a->ToJson());
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->consumer_data_set[0].subscription_data_set[0],
            a->consumer_data_set[0].subscription_data_set[0]);
  // Bad bodies are errors, not crashes.
  EXPECT_FALSE(HeartbeatData::Parse("[]").ok());
  EXPECT_FALSE(HeartbeatData::Parse(R"({"clientID":"x","consumerDataSet":[1]})").ok());
  EXPECT_FALSE(HeartbeatData::Parse("{").ok());
}

TEST(Bodies, SubscriptionForTagsHashesLikeJava) {
  auto s = SubscriptionData::ForTags("T", " TagA ||TagB||  ", 5);
  EXPECT_EQ(s.tags_set, (std::set<std::string>{"TagA", "TagB"}));
  EXPECT_EQ(s.code_set.count(2598919), 1u);  // "TagA".hashCode()
  EXPECT_EQ(SubscriptionData::ForTags("T", "*", 1).tags_set.size(), 0u);
}

TEST(Bodies, RegisterBrokerBodyRoundTrip) {
  RegisterBrokerBody b;
  b.topic_config_wrapper.data_version = {1700, 3};
  TopicConfig t;
  t.topic_name = "TBW102";
  t.perm = 7;
  t.read_queue_nums = t.write_queue_nums = 8;
  b.topic_config_wrapper.topic_config_table["TBW102"] = t;
  auto back = RegisterBrokerBody::Parse(b.ToJson(), false);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->topic_config_wrapper.data_version, b.topic_config_wrapper.data_version);
  EXPECT_EQ(back->topic_config_wrapper.topic_config_table.at("TBW102"), t);
  EXPECT_FALSE(RegisterBrokerBody::Parse("garbage", true).ok());
}

}  // namespace
}  // namespace ramjet::protocol
