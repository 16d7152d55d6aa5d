#ifndef MAMORI_STATE_MEMORY_BUDGET_H_
#define MAMORI_STATE_MEMORY_BUDGET_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>

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

  // Pacing of the refresh passes (ClockMap::refresh): a pass over millions
  // of entries takes seconds of a core (a cache miss or two an entry), and
  // on a machine whose cores all answer requests those seconds come out of
  // the answers, all at once. When set, `pause` is called after each chunk
  // of a pass, outside the shard's lock, with the time that chunk took, and
  // may sleep (the daemon's maintenance sleeps nine times as long: a pass
  // keeps to a tenth of a core). Unset (tests, replay): no pause. Set it
  // before any pass runs.
  using RefreshPause = std::function<void(std::chrono::nanoseconds worked)>;
  void set_refresh_pause(RefreshPause pause) { refresh_pause_ = std::move(pause); }
  const RefreshPause& refresh_pause() const { return refresh_pause_; }

 private:
  const std::size_t limit_;
  std::atomic<std::int64_t> used_{0};
  std::atomic<std::int64_t> entries_{0};
  std::atomic<std::uint64_t> evictions_{0};
  RefreshPause refresh_pause_;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_MEMORY_BUDGET_H_
