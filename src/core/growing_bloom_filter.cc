#include "core/growing_bloom_filter.h"

#include <algorithm>

namespace mamori {

GrowingBloomFilter::GrowingBloomFilter(std::size_t first_capacity)
    : first_capacity_(std::max<std::size_t>(1, first_capacity)) {
  filters_[0] = std::make_unique<BloomFilter>(first_capacity_);
  layers_.store(1, std::memory_order_release);
}

std::size_t GrowingBloomFilter::capacity_of(std::size_t layer) const {
  std::size_t c = first_capacity_;
  for (std::size_t i = 0; i < layer; ++i) c *= kGrowth;
  return c;
}

void GrowingBloomFilter::add(std::uint64_t fingerprint) {
  if (may_contain(fingerprint)) return;
  const std::size_t n = layers_.load(std::memory_order_acquire);
  if (!filters_[n - 1]->add(fingerprint)) return;
  const std::size_t count = newest_count_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n < kMaxLayers && count >= capacity_of(n - 1)) grow(n);
}

void GrowingBloomFilter::grow(std::size_t next) {
  std::lock_guard<std::mutex> l(grow_mu_);
  if (layers_.load(std::memory_order_relaxed) != next) return;  // another add grew it
  filters_[next] = std::make_unique<BloomFilter>(capacity_of(next));
  newest_count_.store(0, std::memory_order_relaxed);
  layers_.store(next + 1, std::memory_order_release);
}

bool GrowingBloomFilter::may_contain(std::uint64_t fingerprint) const {
  const std::size_t n = layers_.load(std::memory_order_acquire);
  // The newest first: it is where a recent add went.
  for (std::size_t i = n; i-- > 0;)
    if (filters_[i]->may_contain(fingerprint)) return true;
  return false;
}

std::size_t GrowingBloomFilter::capacity() const {
  std::size_t c = 0;
  for (std::size_t i = 0; i < layers(); ++i) c += capacity_of(i);
  return c;
}

std::size_t GrowingBloomFilter::memory_bytes() const {
  std::size_t b = 0;
  for (std::size_t i = 0; i < layers(); ++i) b += filters_[i]->memory_bytes();
  return b;
}

}  // namespace mamori
