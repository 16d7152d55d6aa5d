#ifndef MAMORI_STATE_MEMORY_BUDGET_H_
#define MAMORI_STATE_MEMORY_BUDGET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mamori::state {

// The hot state's memory budget, shared by every ShardedLru: each map adds
// and removes the bytes its entries take, and evicts its least recently used
// entries while the total is over the limit. Thread-safe (atomics).
class MemoryBudget {
 public:
  explicit MemoryBudget(std::size_t limit_bytes) : limit_(limit_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  void add(std::int64_t bytes) { used_.fetch_add(bytes, std::memory_order_relaxed); }
  bool over() const { return used_.load(std::memory_order_relaxed) > std::int64_t(limit_); }
  std::size_t used() const {
    const auto u = used_.load(std::memory_order_relaxed);
    return u < 0 ? 0 : std::size_t(u);
  }
  std::size_t limit() const { return limit_; }
  void count_eviction() { evictions_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  void add_entries(std::int64_t n) { entries_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t entries() const {
    const auto e = entries_.load(std::memory_order_relaxed);
    return e < 0 ? 0 : std::uint64_t(e);
  }

 private:
  const std::size_t limit_;
  std::atomic<std::int64_t> used_{0};
  std::atomic<std::int64_t> entries_{0};
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_MEMORY_BUDGET_H_
