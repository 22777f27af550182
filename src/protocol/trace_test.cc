// Trace records as the Java client writes them (TraceDataEncoder): every record type, old and
// new field counts, and malformed records skipped.
#include "ramjet/protocol/trace.h"

#include <gtest/gtest.h>

namespace ramjet::protocol {
namespace {

std::string Rec(std::initializer_list<const char*> fields) {
  std::string out;
  for (const char* f : fields) {
    if (!out.empty()) out += '\1';
    out += f;
  }
  return out + '\2';
}

TEST(TraceTest, DecodesEveryRecordTypeAndSkipsMalformedOnes) {
  std::string data =
      Rec({"Pub", "1700000000000", "DefaultRegion", "PG", "T", "ID1", "TagA", "k1",
           "10.0.0.1:10911", "12", "3", "0", "OFF1", "true", "10.0.0.2"}) +
      Rec({"SubBefore", "1700000000100", "DefaultRegion", "CG", "REQ", "ID1", "0", "k1"}) +
      Rec({"SubAfter", "REQ", "ID1", "7", "true", "k1", "0", "1700000000107", "CG"}) +
      Rec({"SubAfter", "REQ2", "ID1", "9", "false", "k1"}) +
      Rec({"EndTransaction", "1700000000200", "R", "PG", "T", "ID1", "", "", "h", "1", "TX",
           "COMMIT_MESSAGE", "false"}) +
      Rec({"Recall", "1700000000300", "R", "PG", "T", "ID1", "true"}) +
      Rec({"Pub", "notanumber", "R", "PG", "T", "ID1", "", "", "h", "1", "1", "0", "true"}) +
      Rec({"Bogus", "1"}) + Rec({"SubBefore", "1"});
  auto r = DecodeTraceData(data);
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].type, "Pub");
  EXPECT_EQ(r[0].group, "PG");
  EXPECT_EQ(r[0].cost_ms, 3);
  EXPECT_EQ(r[0].body_length, 12);
  EXPECT_EQ(r[0].offset_msg_id, "OFF1");
  EXPECT_EQ(r[0].client_host, "10.0.0.2");
  EXPECT_TRUE(r[0].success);
  EXPECT_EQ(r[1].group, "CG");
  EXPECT_EQ(r[1].request_id, "REQ");
  EXPECT_EQ(r[2].cost_ms, 7);
  EXPECT_EQ(r[2].group, "CG");
  EXPECT_EQ(r[2].timestamp, 1700000000107);
  EXPECT_EQ(r[3].timestamp, 0) << "an old client's SubAfter";
  EXPECT_FALSE(r[3].success);
  EXPECT_EQ(r[4].transaction_state, "COMMIT_MESSAGE");
  EXPECT_EQ(r[5].type, "Recall");
  EXPECT_TRUE(DecodeTraceData("").empty());
  EXPECT_TRUE(DecodeTraceData(std::string("\2\1\2", 3)).empty());
}

}  // namespace
}  // namespace ramjet::protocol
