#include "core/hash.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <set>
#include <string>

namespace mamori {
namespace {

TEST(HashBytes, SameBytesSameHashAndTheSeedChangesIt) {
  EXPECT_EQ(hash_bytes("user17@example.com"), hash_bytes(std::string("user17@example.com")));
  EXPECT_NE(hash_bytes("user17@example.com"), hash_bytes("user17@example.com", 1));
  EXPECT_NE(hash_bytes(""), hash_bytes("", 1));
}

// Every length from 0 to 40 (the short, the word and the tail paths) and
// every byte position: changing one byte, or the length, changes the hash.
TEST(HashBytes, EveryByteAndTheLengthCount) {
  std::mt19937_64 rng(7);
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const std::uint64_t h = hash_bytes(s);
    for (std::size_t i = 0; i < n; ++i) {
      std::string t = s;
      t[i] = static_cast<char>(t[i] ^ 1);
      EXPECT_NE(hash_bytes(t), h) << "length " << n << " byte " << i;
    }
    EXPECT_NE(hash_bytes(s + '\0'), h) << "length " << n;
    if (n > 0) {
      EXPECT_NE(hash_bytes(s.substr(0, n - 1)), h) << "length " << n;
    }
  }
}

// Names of one pattern, as a credential-stuffing list has them: no two of a
// million share a hash, and the low bits (shard and bucket selection) are
// spread evenly.
TEST(HashBytes, AMillionAccountNamesDoNotCollideAndSpreadOverBuckets) {
  std::set<std::uint64_t> seen;
  std::array<int, 64> buckets{};
  constexpr int kNames = 1'000'000;
  for (int i = 0; i < kNames; ++i) {
    const std::uint64_t h = hash_bytes("user" + std::to_string(i) + "@example.com");
    EXPECT_TRUE(seen.insert(h).second) << i;
    ++buckets[h % buckets.size()];
  }
  for (int b : buckets) {
    EXPECT_GT(b, kNames / 64 * 95 / 100);
    EXPECT_LT(b, kNames / 64 * 105 / 100);
  }
}

}  // namespace
}  // namespace mamori
