// Metadata managers: a change that cannot be persisted (a full disk, an unwritable directory)
// is undone, so nothing is live that would be gone after a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "consumer_offset_manager.h"
#include "ramjet/store/fault_injection_file_system.h"
#include "ramjet/store/message_store.h"
#include "subscription_group_manager.h"
#include "topic_config_manager.h"

namespace ramjet::broker {
namespace {

// Writing below /dev/null fails (ENOTDIR) even for root, like a full disk does.
constexpr const char* kUnwritable = "/dev/null/config";

// A fresh directory under $TMPDIR (empty on failure).
std::string MakeTempDir() {
  std::string dir =
      std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/ramjet-meta-XXXXXX";
  return ::mkdtemp(dir.data()) != nullptr ? dir : std::string();
}

void RemoveDir(const std::string& dir) {
  std::string cmd = "rm -rf '" + dir + "'";
  int rc = std::system(cmd.c_str());
  (void)rc;
}

TEST(MetadataTest, ATopicThatCannotBePersistedIsNotLive) {
  TopicConfigManager topics(std::string(kUnwritable) + "/topics.json");
  protocol::TopicConfig t;
  t.topic_name = "Orders";
  t.read_queue_nums = t.write_queue_nums = 4;
  const auto version = topics.data_version();
  EXPECT_FALSE(topics.Update(t).ok());
  EXPECT_FALSE(topics.Find("Orders"));
  EXPECT_FALSE(topics.AddIfAbsent(t).ok());
  EXPECT_FALSE(topics.Find("Orders"));
  EXPECT_EQ(topics.data_version().counter, version.counter);
}

TEST(MetadataTest, AGroupThatCannotBePersistedIsNotLive) {
  SubscriptionGroupManager groups(std::string(kUnwritable) + "/subscriptionGroup.json");
  EXPECT_FALSE(groups.FindOrCreate("G1", true).ok());
  EXPECT_FALSE(groups.Find("G1"));
  EXPECT_FALSE(groups.FindOrCreateAll({"G2", "G3"}, true).ok());
  EXPECT_TRUE(groups.List().empty());
}

TEST(MetadataTest, OffsetsThatCannotBePersistedStayDirtyAndAreRetried) {
  ConsumerOffsetManager offsets(std::string(kUnwritable) + "/consumerOffset.json");
  offsets.Commit("G", "T", 0, 42);
  EXPECT_FALSE(offsets.Persist().ok());
  EXPECT_FALSE(offsets.Persist().ok()) << "still dirty: the next round tries again";
  EXPECT_EQ(offsets.Query("G", "T", 0), 42);
}

// The metadata files go through the store's FileSystem seam: an injected write or fsync error
// (EIO, ENOSPC) leaves the change not live and the file as it was.
TEST(MetadataTest, InjectedWriteAndSyncFailuresLeaveNothingLive) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  store::FaultInjectionFileSystem fs(store::PosixFileSystem());
  TopicConfigManager topics(dir + "/topics.json", &fs);
  protocol::TopicConfig t;
  t.topic_name = "Kept";
  t.read_queue_nums = t.write_queue_nums = 2;
  ASSERT_TRUE(topics.Update(t).ok());
  t.topic_name = "Lost";
  fs.FailNextWrites(1, Status::IOError("injected EIO"));
  EXPECT_FALSE(topics.Update(t).ok());
  EXPECT_FALSE(topics.Find("Lost"));
  fs.FailNextSyncs(1, Status::IOError("injected fsync failure"));
  EXPECT_FALSE(topics.Update(t).ok());
  EXPECT_FALSE(topics.Find("Lost"));
  TopicConfigManager reread(dir + "/topics.json", &fs);
  ASSERT_TRUE(reread.Load().ok());
  EXPECT_TRUE(reread.Find("Kept"));
  EXPECT_FALSE(reread.Find("Lost")) << "the file on disk is the last good one";
  RemoveDir(dir);
}

// Lookups go through a hash index over the table: every change, and every rolled-back change
// (which replaces the table's nodes), must show in the next lookup (ASan: no stale pointer).
TEST(MetadataTest, TopicLookupsFollowEveryChangeAndRollback) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  store::FaultInjectionFileSystem fs(store::PosixFileSystem());
  TopicConfigManager topics(dir + "/topics.json", &fs);
  protocol::TopicConfig t;
  t.topic_name = "A";
  t.read_queue_nums = t.write_queue_nums = 2;
  ASSERT_TRUE(topics.Update(t).ok());
  ASSERT_TRUE(topics.Find("A"));
  t.write_queue_nums = 5;
  ASSERT_TRUE(topics.Update(t).ok());
  EXPECT_EQ(topics.Find("A")->write_queue_nums, 5);
  t.topic_name = "B";
  fs.FailNextWrites(1, Status::IOError("injected EIO"));
  EXPECT_FALSE(topics.Update(t).ok());  // rolled back: the table's nodes are new
  EXPECT_FALSE(topics.Find("B"));
  ASSERT_TRUE(topics.Find("A"));
  EXPECT_EQ(topics.Find("A")->write_queue_nums, 5);
  EXPECT_EQ(*topics.AddAllIfAbsent({t}), 1);
  EXPECT_TRUE(topics.Find("B"));
  EXPECT_EQ(*topics.AddAllIfAbsent({t}), 0);
  ASSERT_TRUE(topics.Delete("A").ok());
  EXPECT_FALSE(topics.Find("A"));
  protocol::TopicConfigSerializeWrapper master;
  t.topic_name = "C";
  master.topic_config_table[t.topic_name] = t;
  master.data_version.counter = 9;
  ASSERT_TRUE(topics.ReplaceAll(master).ok());
  EXPECT_FALSE(topics.Find("B"));
  EXPECT_TRUE(topics.Find("C"));
  bool created = false;
  auto d = topics.CreateForSend("D", "C", 4, &created);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(*d) << "C does not carry PERM_INHERIT";
  RemoveDir(dir);
}

// The state sends keep per topic (its stats item, its queues' store handles) is handed out with
// the topic's config: the same object for every send, across changes of the config, and a new
// one once the topic was deleted.
TEST(MetadataTest, SendStateStaysWithItsTopicUntilTheTopicIsDeleted) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  TopicConfigManager topics(dir + "/topics.json");
  std::shared_ptr<TopicRuntime> first, again;
  EXPECT_FALSE(topics.FindForSend("A", &first));
  EXPECT_EQ(first, nullptr);
  protocol::TopicConfig t;
  t.topic_name = "A";
  t.read_queue_nums = t.write_queue_nums = 2;
  ASSERT_TRUE(topics.Update(t).ok());
  auto config = topics.FindForSend("A", &first);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->write_queue_nums, 2);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->topic(), "A");
  t.write_queue_nums = 6;
  ASSERT_TRUE(topics.Update(t).ok());
  t.topic_name = "B";
  ASSERT_TRUE(topics.Update(t).ok());
  EXPECT_EQ(topics.FindForSend("A", &again)->write_queue_nums, 6);
  EXPECT_EQ(again, first);
  std::shared_ptr<TopicRuntime> b;
  ASSERT_TRUE(topics.FindForSend("B", &b));
  EXPECT_NE(b, first);
  ASSERT_TRUE(topics.Delete("A").ok());
  EXPECT_FALSE(topics.FindForSend("A", &again));
  t.topic_name = "A";
  ASSERT_TRUE(topics.Update(t).ok());
  ASSERT_TRUE(topics.FindForSend("A", &again));
  EXPECT_NE(again, first) << "a deleted topic's send state must not come back";
  // Deleted and created again with no lookup in between (no rebuild of the index between).
  ASSERT_TRUE(topics.Delete("A").ok());
  ASSERT_TRUE(topics.Update(t).ok());
  std::shared_ptr<TopicRuntime> recreated;
  ASSERT_TRUE(topics.FindForSend("A", &recreated));
  EXPECT_NE(recreated, again) << "a deleted topic's send state must not come back";
  RemoveDir(dir);
}

// A send's queue handle comes from its topic's runtime: the same handle for every send, past
// the lock-free ids too, and a new one once the topic was deleted from the store. A replaced
// handle stays readable, as a send in flight may still hold it.
TEST(MetadataTest, TopicRuntimeHandsOutEachQueuesHandleUntilItRetires) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  {
    store::StoreConfig sc;
    sc.root_dir = dir + "/store";
    sc.commit_log_segment_size = 1 << 20;
    auto opened = store::MessageStore::Open(sc);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store::MessageStore* store = opened->get();
    TopicRuntime rt("A");
    const int32_t slow_id = TopicRuntime::kFastQueues + 3;
    store::QueueHandle* q1 = rt.Queue(store, 1);
    store::QueueHandle* slow = rt.Queue(store, slow_id);
    ASSERT_NE(q1, nullptr);
    ASSERT_NE(slow, nullptr);
    EXPECT_EQ(q1->topic(), "A");
    EXPECT_EQ(q1->queue_id(), 1);
    EXPECT_EQ(slow->queue_id(), slow_id);
    EXPECT_EQ(rt.Queue(store, 1), q1);
    EXPECT_EQ(rt.Queue(store, slow_id), slow);
    EXPECT_EQ(rt.Queue(store, -1), nullptr);
    EXPECT_EQ(rt.Queue(store, TopicRuntime::kMaxCachedQueues), nullptr);
    ASSERT_TRUE(store->DeleteTopic("A").ok());
    EXPECT_TRUE(q1->retired());
    EXPECT_TRUE(slow->retired());
    for (store::QueueHandle* old : {q1, slow}) {
      store::QueueHandle* fresh = rt.Queue(store, old->queue_id());
      ASSERT_NE(fresh, nullptr);
      EXPECT_NE(fresh, old);
      EXPECT_FALSE(fresh->retired());
      EXPECT_EQ(fresh->queue_id(), old->queue_id());
      EXPECT_EQ(rt.Queue(store, old->queue_id()), fresh);
    }
  }
  RemoveDir(dir);
}

// A slave takes its master's tables and data versions as they are (SlaveSynchronize); a copy
// that cannot be persisted leaves the slave's own.
TEST(MetadataTest, ASlaveTakesItsMastersTablesOrKeepsItsOwn) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  protocol::TopicConfigSerializeWrapper master;
  protocol::TopicConfig t;
  t.topic_name = "FromMaster";
  t.read_queue_nums = t.write_queue_nums = 3;
  master.topic_config_table[t.topic_name] = t;
  master.data_version.counter = 77;
  master.data_version.timestamp = 1700000000000;

  TopicConfigManager slave(dir + "/topics.json");
  auto changed = slave.ReplaceAll(master);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(slave.Find("FromMaster"));
  EXPECT_EQ(slave.data_version(), master.data_version);
  changed = slave.ReplaceAll(master);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed) << "the same version and table: nothing to write";
  TopicConfigManager reloaded(dir + "/topics.json");
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_TRUE(reloaded.Find("FromMaster"));

  TopicConfigManager unwritable(std::string(kUnwritable) + "/topics.json");
  EXPECT_FALSE(unwritable.ReplaceAll(master).ok());
  EXPECT_FALSE(unwritable.Find("FromMaster"));
  EXPECT_NE(unwritable.data_version(), master.data_version);

  protocol::SubscriptionGroupWrapper groups;
  groups.subscription_group_table["G"].group_name = "G";
  groups.subscription_group_table["G"].retry_max_times = 5;
  groups.data_version.counter = 9;
  SubscriptionGroupManager gs(dir + "/subscriptionGroup.json");
  ASSERT_TRUE(gs.ReplaceAll(groups).ok());
  ASSERT_TRUE(gs.Find("G"));
  EXPECT_EQ(gs.Find("G")->retry_max_times, 5);
  SubscriptionGroupManager gu(std::string(kUnwritable) + "/subscriptionGroup.json");
  EXPECT_FALSE(gu.ReplaceAll(groups).ok());
  EXPECT_TRUE(gu.List().empty());
  RemoveDir(dir);
}

}  // namespace
}  // namespace ramjet::broker
