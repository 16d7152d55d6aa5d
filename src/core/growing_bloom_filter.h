#ifndef MAMORI_CORE_GROWING_BLOOM_FILTER_H_
#define MAMORI_CORE_GROWING_BLOOM_FILTER_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "core/bloom_filter.h"

namespace mamori {

// A Bloom filter ("maybe added" or "surely never added") that grows with
// what is added, for a set whose size is not known in advance (the accounts
// that have a profile). A BloomFilter (core/bloom_filter.h) of a fixed
// capacity answers "maybe" ever more often past it: ten times its capacity
// in, nearly every lookup is a false positive. Here the filter is a stack of
// layers, each a BloomFilter of four times the capacity of the one before;
// a fingerprint not in any layer yet is added to the newest, and once the
// newest holds its capacity of fingerprints a new layer is started. A
// lookup asks every layer: one cache line each (three layers from 1 M to
// 21 M fingerprints). False positives: about 1 % per full layer at most.
// Memory: 16 bits per fingerprint of capacity (2 MiB per million), the
// layers' capacities summed.
//
// Thread-safe: add() and may_contain() from any thread, lock-free but for
// the add() that starts a layer (a mutex, and the new layer zeroed under
// it). As BloomFilter's, a may_contain() concurrent with the add() of the
// same fingerprint may miss it; the caller orders the two when it matters.
class GrowingBloomFilter {
 public:
  static constexpr std::size_t kGrowth = 4;
  // The last layer takes every add once this many exist (at 1 M first,
  // the last holds 4^11 M).
  static constexpr std::size_t kMaxLayers = 12;

  // The first layer's capacity (at least 1).
  explicit GrowingBloomFilter(std::size_t first_capacity);
  GrowingBloomFilter(const GrowingBloomFilter&) = delete;
  GrowingBloomFilter& operator=(const GrowingBloomFilter&) = delete;

  // Adds `fingerprint` unless some layer may hold it already (so adding the
  // same fingerprint again does not fill the newest layer).
  void add(std::uint64_t fingerprint);
  bool may_contain(std::uint64_t fingerprint) const;

  std::size_t layers() const { return layers_.load(std::memory_order_acquire); }
  // The fingerprints the layers can hold at about 1 % false positives each.
  std::size_t capacity() const;
  std::size_t memory_bytes() const;

 private:
  std::size_t capacity_of(std::size_t layer) const;
  // Starts layer `next` unless another thread did. REQUIRES: next >= 1.
  void grow(std::size_t next);

  const std::size_t first_capacity_;
  // Layers [0, layers_) are set and never change until destruction.
  std::array<std::unique_ptr<BloomFilter>, kMaxLayers> filters_;
  std::atomic<std::size_t> layers_{0};
  // Fingerprints added to the newest layer (counted by the adds that set a
  // clear bit in it).
  std::atomic<std::size_t> newest_count_{0};
  std::mutex grow_mu_;
};

}  // namespace mamori

#endif  // MAMORI_CORE_GROWING_BLOOM_FILTER_H_
