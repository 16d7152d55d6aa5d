#include "core/growing_bloom_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"

namespace mamori {
namespace {

std::uint64_t fp(const std::string& s) { return hash_bytes(s); }

int false_positives(const GrowingBloomFilter& f, int n) {
  int hits = 0;
  for (int i = 0; i < n; ++i) hits += f.may_contain(fp("out" + std::to_string(i)));
  return hits;
}

TEST(GrowingBloomFilter, NeverForgetsWhatWasAddedAcrossLayers) {
  GrowingBloomFilter f(1000);
  for (int i = 0; i < 50'000; ++i) f.add(fp("user" + std::to_string(i) + "@example.com"));
  EXPECT_GT(f.layers(), 1u);
  for (int i = 0; i < 50'000; ++i)
    ASSERT_TRUE(f.may_contain(fp("user" + std::to_string(i) + "@example.com"))) << i;
}

TEST(GrowingBloomFilter, StaysSelectiveFarPastItsFirstCapacity) {
  // A plain BloomFilter of 1,000 holding 100,000 answers "maybe" for nearly
  // everything; the layers keep it near 1 % each.
  BloomFilter fixed(1000);
  GrowingBloomFilter f(1000);
  for (int i = 0; i < 100'000; ++i) {
    fixed.add(fp("in" + std::to_string(i)));
    f.add(fp("in" + std::to_string(i)));
  }
  int fixed_hits = 0;
  for (int i = 0; i < 100'000; ++i) fixed_hits += fixed.may_contain(fp("out" + std::to_string(i)));
  EXPECT_GT(fixed_hits, 90'000);
  // 1,000 + 4,000 + 16,000 + 64,000 + 256,000: five layers.
  EXPECT_EQ(f.layers(), 5u);
  EXPECT_EQ(f.capacity(), 341'000u);
  EXPECT_LT(false_positives(f, 100'000), 6'000);  // about 1 % per full layer
  EXPECT_EQ(f.memory_bytes(), BloomFilter(1000).memory_bytes() + BloomFilter(4000).memory_bytes() +
                                  BloomFilter(16'000).memory_bytes() +
                                  BloomFilter(64'000).memory_bytes() +
                                  BloomFilter(256'000).memory_bytes());
}

TEST(GrowingBloomFilter, AddingTheSameFingerprintsAgainDoesNotGrowIt) {
  GrowingBloomFilter f(1000);
  for (int round = 0; round < 100; ++round)
    for (int i = 0; i < 800; ++i) f.add(fp("again" + std::to_string(i)));
  EXPECT_EQ(f.layers(), 1u);
  // Fingerprints of an older layer added again are not copied into a new one.
  for (int i = 0; i < 1000; ++i) f.add(fp("more" + std::to_string(i)));
  ASSERT_EQ(f.layers(), 2u);
  for (int round = 0; round < 10; ++round)
    for (int i = 0; i < 1800; ++i)
      f.add(fp((i < 800 ? "again" : "more") + std::to_string(i < 800 ? i : i - 800)));
  EXPECT_EQ(f.layers(), 2u);
}

TEST(GrowingBloomFilter, EmptyContainsNothing) {
  GrowingBloomFilter f(0);
  EXPECT_FALSE(f.may_contain(fp("anyone")));
  EXPECT_EQ(f.layers(), 1u);
  EXPECT_EQ(f.capacity(), 1u);
}

TEST(GrowingBloomFilter, ConcurrentAddsAreAllKeptWhileItGrows) {
  GrowingBloomFilter f(500);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 20'000; ++i) f.add(fp(std::to_string(t) + ":" + std::to_string(i)));
    });
  for (auto& t : threads) t.join();
  EXPECT_GE(f.layers(), 4u);
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 20'000; ++i)
      ASSERT_TRUE(f.may_contain(fp(std::to_string(t) + ":" + std::to_string(i))));
}

}  // namespace
}  // namespace mamori
