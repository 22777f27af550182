// The admin library's message searches against a real broker: QueryByTime returns exactly the
// messages stored in the range, the newest max of them, and says when it cut.
#include <thread>

#include "cluster_fixture.h"
#include "ramjet/admin/admin.h"
#include "ramjet/base/clock.h"

namespace ramjet::itest {
namespace {

class AdminLibraryTest : public Cluster {};

TEST_F(AdminLibraryTest, QueryByTimeIsExactAndCutsToTheNewest) {
  StartNamesrv();
  StartBroker({"--dashboardPort=-1"});
  CreateTopic("TimeTopic", 2);
  admin::Admin adm(NsAddr());
  // A route exists once the broker registered the topic.
  for (int i = 0; i < 100 && !adm.TopicRoute("TimeTopic").ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int64_t before = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int i = 0; i < 6; ++i) {
    auto r = SendV2("TimeTopic", i % 2, "m" + std::to_string(i), "");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->code, rc::kSuccess);
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
  const int64_t after = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto late = SendV2("TimeTopic", 0, "late", "");  // stored after the range
  ASSERT_TRUE(late.ok());
  for (int i = 0; i < 100; ++i) {  // dispatched: both queues' max offsets visible
    auto q = adm.TopicStatus("TimeTopic");
    if (q.ok() && q->size() == 2 && (*q)[0].max_offset + (*q)[1].max_offset == 7) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  auto all = adm.QueryByTime("TimeTopic", before, after, 6);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->messages.size(), 6u);
  EXPECT_FALSE(all->truncated);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(all->messages[i].body, "m" + std::to_string(i));

  auto newest = adm.QueryByTime("TimeTopic", before, after, 4);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->messages.size(), 4u);
  EXPECT_TRUE(newest->truncated);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(newest->messages[i].body, "m" + std::to_string(i + 2));

  // A middle slice: from the third message's store time to the fourth's.
  const int64_t t2 = all->messages[2].store_timestamp, t3 = all->messages[3].store_timestamp;
  auto middle = adm.QueryByTime("TimeTopic", t2, t3, 10);
  ASSERT_TRUE(middle.ok());
  ASSERT_EQ(middle->messages.size(), 2u);
  EXPECT_EQ(middle->messages[0].body, "m2");
  EXPECT_EQ(middle->messages[1].body, "m3");
  EXPECT_FALSE(middle->truncated);

  auto everything = adm.QueryByTime("TimeTopic", 0, INT64_MAX, 100);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->messages.size(), 7u);
  EXPECT_EQ(everything->messages.back().body, "late");
  EXPECT_FALSE(adm.QueryByTime("TimeTopic", 10, 5, 10).ok());
  EXPECT_FALSE(adm.QueryByTime("NoSuchTopicHere", 0, 10, 10).ok());
}

}  // namespace
}  // namespace ramjet::itest
