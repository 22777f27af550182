// The controller's rules, without etcd: where a returning member cuts its log, who may campaign,
// who is in sync.
#include "ramjet/controller/records.h"

#include <gtest/gtest.h>

namespace ramjet::controller {
namespace {

TEST(RecordsTest, RecordsRoundTripAndRefuseGarbage) {
  LeaderRecord l{2, "10.0.0.2:10911", "10.0.0.2:10912", 7};
  auto back = DecodeLeader(EncodeLeader(l));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->broker_id, 2);
  EXPECT_EQ(back->ha_addr, "10.0.0.2:10912");
  EXPECT_EQ(back->epoch, 7);
  auto set = DecodeSyncStateSet(R"({"epoch":3,"masterId":1,"members":[2,1]})");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->members, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(set->Contains(2));
  EXPECT_FALSE(set->Contains(3));
  EXPECT_FALSE(DecodeLeader(R"({"brokerId":"2","epoch":1,"addr":"a","haAddr":"b"})").ok());
  EXPECT_FALSE(DecodeLeader(R"({"brokerId":2,"epoch":1})").ok());
  EXPECT_FALSE(DecodeEpoch(R"({"epoch":0,"startOffset":5,"brokerId":1})").ok());
  EXPECT_FALSE(DecodeEpoch(R"({"epoch":1,"startOffset":-5,"brokerId":1})").ok());
  EXPECT_FALSE(DecodeSyncStateSet(R"({"epoch":1,"masterId":1,"members":["x"]})").ok());
  EXPECT_FALSE(DecodeMember("[]").ok());
}

TEST(TruncationTest, AMemberCutsAtTheStartOfTheFirstLaterTerm) {
  const std::vector<EpochEntry> history{{3, 9000, 1}, {1, 0, 1}, {2, 4096, 2}};
  EXPECT_EQ(TruncationPoint(1, history), 4096);  // master of term 1 returns: cut at term 2
  EXPECT_EQ(TruncationPoint(2, history), 9000);
  EXPECT_EQ(TruncationPoint(3, history), -1);  // agrees with the latest term: no cut
  EXPECT_EQ(TruncationPoint(0, history), 0);   // a log from no term at all: all of it
  EXPECT_EQ(TruncationPoint(5, {}), -1);
}

MemberRecord Member(int64_t id, int64_t offset, int64_t epoch, std::string addr = "127.0.0.1:1") {
  MemberRecord m;
  m.broker_id = id;
  m.max_offset = offset;
  m.epoch = epoch;
  m.addr = std::move(addr);
  return m;
}

TEST(CampaignTest, OnlyTheLongestInSyncLogOfTheLatestTermMayCampaign) {
  SyncStateSet set{4, 1, {1, 2, 3}};
  const std::vector<MemberRecord> live{Member(2, 500, 4), Member(3, 700, 4), Member(4, 900, 4)};
  // Member 4 has the longest log but is out of the set.
  EXPECT_FALSE(MayCampaign(4, 900, 4, set, 4, live, std::nullopt));
  EXPECT_FALSE(MayCampaign(2, 500, 4, set, 4, live, std::nullopt));
  EXPECT_TRUE(MayCampaign(3, 700, 4, set, 4, live, std::nullopt));
  // A member whose log agrees with an older term may not.
  EXPECT_FALSE(MayCampaign(3, 700, 3, set, 4, live, std::nullopt));
  // Equal logs: the lower id.
  const std::vector<MemberRecord> tie{Member(2, 700, 4), Member(3, 700, 4)};
  EXPECT_TRUE(MayCampaign(2, 700, 4, set, 4, tie, std::nullopt));
  EXPECT_FALSE(MayCampaign(3, 700, 4, set, 4, tie, std::nullopt));
  // A new group (no set yet): anyone of term 0, longest first.
  EXPECT_TRUE(MayCampaign(1, 0, 0, std::nullopt, 0, {Member(2, 0, 0)}, std::nullopt));
  // An elect request reserves the election for a live member of the set.
  ElectRequest e{2, 0};
  EXPECT_TRUE(MayCampaign(2, 500, 4, set, 4, live, e));
  EXPECT_FALSE(MayCampaign(3, 700, 4, set, 4, live, e));
  // ... unless that member is gone.
  EXPECT_TRUE(MayCampaign(3, 700, 4, set, 4, {Member(3, 700, 4)}, e));
}

TEST(SyncStateTest, CaughtUpRecentAndCloseSlavesAreInSync) {
  const std::vector<MemberRecord> live{Member(1, 0, 1, "10.0.0.1:10911"),
                                       Member(2, 0, 1, "10.0.0.2:10911"),
                                       Member(3, 0, 1, "10.0.0.3:10911")};
  const int64_t now = 100000;
  std::vector<ReplicaView> replicas{{"10.0.0.2:40001", 1000, now - 100, now - 100},
                                    {"10.0.0.3:40002", 1000, now - 100, 0}};
  // Member 3 never caught up.
  EXPECT_EQ(InSyncMembers(1, 1000, replicas, live, now, 20000, 1 << 20),
            (std::vector<int64_t>{1, 2}));
  replicas[1].caught_up_ms = now - 50;
  EXPECT_EQ(InSyncMembers(1, 1000, replicas, live, now, 20000, 1 << 20),
            (std::vector<int64_t>{1, 2, 3}));
  // Silent past the housekeeping interval, or too far behind.
  replicas[0].last_report_ms = now - 30000;
  replicas[1].acked_offset = 0;
  EXPECT_EQ(InSyncMembers(1, 2 << 20, replicas, live, now, 20000, 1 << 20),
            (std::vector<int64_t>{1}));
  // Two members on one IP with one connection: neither can be told in sync.
  const std::vector<MemberRecord> shared{Member(2, 0, 1, "127.0.0.1:1"),
                                         Member(3, 0, 1, "127.0.0.1:2")};
  EXPECT_EQ(InSyncMembers(1, 10, {{"127.0.0.1:5", 10, now, now}}, shared, now, 20000, 100),
            (std::vector<int64_t>{1}));
  EXPECT_EQ(InSyncMembers(1, 10, {{"127.0.0.1:5", 10, now, now}, {"127.0.0.1:6", 10, now, now}},
                          shared, now, 20000, 100),
            (std::vector<int64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace ramjet::controller
