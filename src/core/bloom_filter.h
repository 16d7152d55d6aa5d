#ifndef MAMORI_CORE_BLOOM_FILTER_H_
#define MAMORI_CORE_BLOOM_FILTER_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace mamori {

// A blocked Bloom filter over 64-bit fingerprints: "maybe added" or "surely
// never added". Each fingerprint sets 7 bits within one 512-bit block (one
// cache line), so a lookup costs one memory access. 16 bits per expected
// fingerprint: about 1 % false positives at capacity; past it the rate rises
// (a caller then just checks more often), nothing is ever forgotten.
//
// Thread-safe and lock-free: add() ORs into relaxed atomics. A may_contain()
// concurrent with the add() of the same fingerprint may miss it; the caller
// orders the two when it matters.
class BloomFilter {
 public:
  explicit BloomFilter(std::size_t capacity)
      : blocks_(std::max<std::size_t>(1, (capacity * kBitsPerItem + kBlockBits - 1) / kBlockBits)),
        words_(new std::atomic<std::uint64_t>[blocks_ * kWordsPerBlock]) {
    for (std::size_t i = 0; i < blocks_ * kWordsPerBlock; ++i)
      words_[i].store(0, std::memory_order_relaxed);
  }
  BloomFilter(const BloomFilter&) = delete;
  BloomFilter& operator=(const BloomFilter&) = delete;

  // Returns true when the add set a bit that was clear: `fingerprint`
  // surely had not been added before (false: it may have been).
  bool add(std::uint64_t fingerprint) {
    std::atomic<std::uint64_t>* block = block_of(fingerprint);
    bool fresh = false;
    for_each_bit(fingerprint, [&](unsigned word, std::uint64_t mask) {
      if ((block[word].fetch_or(mask, std::memory_order_relaxed) & mask) == 0) fresh = true;
      return true;
    });
    return fresh;
  }

  bool may_contain(std::uint64_t fingerprint) const {
    const std::atomic<std::uint64_t>* block = block_of(fingerprint);
    return for_each_bit(fingerprint, [&](unsigned word, std::uint64_t mask) {
      return (block[word].load(std::memory_order_relaxed) & mask) != 0;
    });
  }

  std::size_t memory_bytes() const { return blocks_ * kWordsPerBlock * sizeof(std::uint64_t); }

 private:
  static constexpr std::size_t kBitsPerItem = 16;
  static constexpr std::size_t kBlockBits = 512;
  static constexpr unsigned kWordsPerBlock = kBlockBits / 64;
  static constexpr unsigned kProbes = 7;

  std::atomic<std::uint64_t>* block_of(std::uint64_t fp) const {
    // The high half picks the block (multiply-shift: no division);
    // for_each_bit takes the bits within it from the whole fingerprint.
    const std::size_t b = std::size_t((fp >> 32) * blocks_ >> 32);  // blocks_ < 2^32
    return &words_[b * kWordsPerBlock];
  }
  // f(word, mask) for each probe; stops (returning false) at f's first false.
  template <typename F>
  static bool for_each_bit(std::uint64_t fp, F&& f) {
    // Seven 9-bit slices of the fingerprint times an odd constant (remixed,
    // so they do not repeat the bits that chose the block).
    std::uint64_t bits = fp * 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < kProbes; ++i, bits >>= 9) {
      const unsigned bit = unsigned(bits & 511);
      if (!f(bit / 64, std::uint64_t{1} << (bit % 64))) return false;
    }
    return true;
  }

  const std::size_t blocks_;
  const std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
};

}  // namespace mamori

#endif  // MAMORI_CORE_BLOOM_FILTER_H_
