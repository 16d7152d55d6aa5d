#include "state/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

namespace mamori::state {
namespace {

TEST(HugePageAllocator, BigBlocksStartAtAHugePageAndSmallOnesComeFromTheHeap) {
  HugePageAllocator<std::uint64_t> a;
  const std::size_t big = 3 * kHugePage / sizeof(std::uint64_t) + 5;  // not a whole number of pages
  std::uint64_t* p = a.allocate(big);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kHugePage, 0u);
  p[0] = 1;
  p[big - 1] = 2;  // the block's last element is mapped
  EXPECT_EQ(p[0] + p[big - 1], 3u);
  a.deallocate(p, big);

  std::uint64_t* q = a.allocate(16);
  q[15] = 7;
  EXPECT_EQ(q[15], 7u);
  a.deallocate(q, 16);
}

TEST(HugePageAllocator, VectorsGrowAcrossTheThresholdKeepingTheirElements) {
  std::vector<std::uint32_t, HugePageAllocator<std::uint32_t>> v;
  for (std::uint32_t i = 0; i < 3 * kHugePage / sizeof(std::uint32_t); ++i) v.push_back(i);
  std::uint64_t sum = std::accumulate(v.begin(), v.end(), std::uint64_t{0});
  const std::uint64_t n = v.size();
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

}  // namespace
}  // namespace mamori::state
