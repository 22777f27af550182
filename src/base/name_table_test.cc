#include "ramjet/base/name_table.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ramjet {
namespace {

// Short and long names, one name under several ids and thousands of entries (several growths)
// are each found with their own value; absent keys, and names differing only in length or in
// their last byte, are not found.
TEST(NameTableTest, FindsEveryInsertedKeyAndNothingElse) {
  NameTable<int> t;
  EXPECT_EQ(t.Find("T"), nullptr);
  std::map<std::pair<std::string, int32_t>, int> want;
  const std::string long_prefix(NameTable<int>::kInline + 5, 'L');
  for (int i = 0; i < 3000; ++i) {
    std::string name = (i % 3 == 0 ? long_prefix : "Topic-") + std::to_string(i / 8);
    auto key = std::make_pair(name, static_cast<int32_t>(i % 8));
    t.Insert(key.first, key.second, i);
    want[key] = i;
  }
  t.Insert("", 0, -1);
  want[{"", 0}] = -1;
  EXPECT_EQ(t.size(), want.size());
  for (const auto& [key, value] : want) {
    const int* v = t.Find(key.first, key.second);
    ASSERT_NE(v, nullptr) << key.first << "/" << key.second;
    EXPECT_EQ(*v, value);
  }
  EXPECT_EQ(t.Find("Topic-1", 9), nullptr);
  EXPECT_EQ(t.Find("Topic-"), nullptr);
  EXPECT_EQ(t.Find("Topic-10x"), nullptr);
  EXPECT_EQ(t.Find(long_prefix + "1x"), nullptr);
  EXPECT_EQ(t.Find(long_prefix.substr(1) + "3"), nullptr);
  size_t seen = 0;
  t.ForEach([&](std::string_view name, int32_t id, int& value) {
    EXPECT_EQ(want.at({std::string(name), id}), value);
    ++seen;
  });
  EXPECT_EQ(seen, want.size());
  // Cleared (its slots kept) and filled again, as an index is rebuilt.
  t.Clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.Find("Topic-1", 1), nullptr);
  t.Reserve(10);
  t.Insert("Topic-1", 1, 7);
  t.Insert(long_prefix, 2, 8);
  EXPECT_EQ(t.size(), 2u);
  ASSERT_NE(t.Find("Topic-1", 1), nullptr);
  EXPECT_EQ(*t.Find("Topic-1", 1), 7);
  ASSERT_NE(t.Find(long_prefix, 2), nullptr);
  EXPECT_EQ(*t.Find(long_prefix, 2), 8);
  EXPECT_EQ(t.Find("Topic-2", 2), nullptr);
}

}  // namespace
}  // namespace ramjet
