#include "state/sharded_map.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mamori::state {
namespace {

TEST(ShardedMap, SizeFollowsInsertsReplacementsAndEveryKindOfErase) {
  ShardedMap<std::string, int> m;
  EXPECT_EQ(m.size(), 0u);
  m.put("a", 1);
  m.put("b", 2);
  m.put("a", 3);  // replaces
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.find("a"), 3);

  m.upsert("c", [](std::optional<int>& slot) { slot = 4; });
  m.upsert("b", [](std::optional<int>& slot) { slot.reset(); });  // erases
  m.upsert("zz", [](std::optional<int>& slot) { slot.reset(); });  // absent: nothing
  EXPECT_EQ(m.size(), 2u);
  EXPECT_FALSE(m.find("b").has_value());

  EXPECT_TRUE(m.erase("a"));
  EXPECT_FALSE(m.erase("a"));
  EXPECT_EQ(m.size(), 1u);

  for (int i = 0; i < 100; ++i) m.put("k" + std::to_string(i), i);
  int removed = 0;
  EXPECT_EQ(m.erase_if([](const std::string&, int v) { return v % 2 == 0; },
                       [&](const std::string&, int) { ++removed; }),
            51u);  // the even k's and c (4)
  EXPECT_EQ(removed, 51);
  EXPECT_EQ(m.size(), 50u);
}

TEST(ShardedMap, ReadRunsOnThePresentValueOnly) {
  ShardedMap<std::string, std::string> m;
  std::string seen = "none";
  EXPECT_FALSE(m.read("a", [&](const std::string& v) { seen = v; }));
  EXPECT_EQ(seen, "none");
  m.put("a", "first");
  EXPECT_TRUE(m.read("a", [&](const std::string& v) { seen = v; }));
  EXPECT_EQ(seen, "first");
  EXPECT_FALSE(m.read("b", [&](const std::string& v) { seen = v; }));
  EXPECT_EQ(seen, "first");
}

TEST(ShardedMap, SizeIsExactAfterConcurrentWriters) {
  ShardedMap<std::string, int> m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = std::to_string(t) + ":" + std::to_string(i);
        m.put(key, i);
        if (i % 4 == 0) m.erase(key);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(m.size(), 4u * 1500u);
}

}  // namespace
}  // namespace mamori::state
