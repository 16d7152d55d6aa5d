#include "core/bloom_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"

namespace mamori {
namespace {

std::uint64_t fp(const std::string& s) { return hash_bytes(s); }

TEST(BloomFilter, NeverForgetsWhatWasAdded) {
  BloomFilter f(100'000);
  for (int i = 0; i < 100'000; ++i) f.add(fp("user" + std::to_string(i) + "@example.com"));
  for (int i = 0; i < 100'000; ++i)
    ASSERT_TRUE(f.may_contain(fp("user" + std::to_string(i) + "@example.com"))) << i;
}

TEST(BloomFilter, FewFalsePositivesAtCapacity) {
  BloomFilter f(100'000);
  for (int i = 0; i < 100'000; ++i) f.add(fp("in" + std::to_string(i)));
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) false_positives += f.may_contain(fp("out" + std::to_string(i)));
  EXPECT_LT(false_positives, 2'000);  // 2 %; about 1 % expected
}

TEST(BloomFilter, EmptyContainsNothingAndSmallCapacityStillWorks) {
  BloomFilter empty(0);
  EXPECT_FALSE(empty.may_contain(fp("anyone")));
  EXPECT_EQ(empty.memory_bytes(), 64u);
  // Far past its capacity it only answers "maybe" more often.
  for (int i = 0; i < 1000; ++i) empty.add(fp(std::to_string(i)));
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(empty.may_contain(fp(std::to_string(i))));
}

TEST(BloomFilter, ConcurrentAddsAreAllKept) {
  BloomFilter f(40'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 10'000; ++i) f.add(fp(std::to_string(t) + ":" + std::to_string(i)));
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 10'000; ++i)
      ASSERT_TRUE(f.may_contain(fp(std::to_string(t) + ":" + std::to_string(i))));
}

}  // namespace
}  // namespace mamori
