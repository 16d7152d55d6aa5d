#ifndef MAMORI_STATE_SHARDED_LRU_H_
#define MAMORI_STATE_SHARDED_LRU_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "state/memory_budget.h"
#include "state/shard_util.h"

namespace mamori::state {

// Bytes a key owns beyond its own size (heap part of a long string).
template <typename K>
std::size_t key_heap_bytes(const K&) { return 0; }
inline std::size_t key_heap_bytes(const std::string& s) {
  return s.size() > 15 ? s.capacity() + 1 : 0;
}

// A hash map split into shards, each with its own mutex and least-recently-
// used order, whose entries count against a shared MemoryBudget. When the
// budget is exceeded, the shard being written evicts its least recently used
// entries (never the one being written). Used for hot windows, which may be
// forgotten under memory pressure; never for blocks, locks or list entries.
//
// `Value` must be default-constructible and have
// `std::size_t memory_bytes() const` (heap bytes it owns).
// Thread-safe. A shard's lock is held only while the caller's function runs:
// that function must not block or touch another shard.
template <typename Key, typename Value, typename Hash = std::hash<Key>>
class ShardedLru {
 public:
  ShardedLru(MemoryBudget& budget, std::size_t shards = 64)
      : budget_(budget), shards_(shards) {}
  ShardedLru(const ShardedLru&) = delete;
  ShardedLru& operator=(const ShardedLru&) = delete;
  ~ShardedLru() {
    for (auto& s : shards_) {
      budget_.add(-std::int64_t(s.bytes));
      budget_.add_entries(-std::int64_t(s.map.size()));
    }
  }

  // Runs f(Value&) on the entry for `key`, creating it if missing, and marks
  // it most recently used. Returns what f returns.
  template <typename F>
  auto update(const Key& key, F&& f) {
    const std::size_t h = Hash{}(key);
    Shard& s = shard_for(h);
    std::lock_guard lock(s.mu);
    auto [it, inserted] = s.map.try_emplace(key);
    Node& n = it->second;
    if (inserted) {
      n.key = &it->first;
      n.bytes = entry_bytes(it->first, n.value);
      s.bytes += n.bytes;
      budget_.add(std::int64_t(n.bytes));
      budget_.add_entries(1);
    } else {
      unlink(s, n);
    }
    push_front(s, n);
    if constexpr (std::is_void_v<decltype(f(n.value))>) {
      f(n.value);
      account(s, n);
    } else {
      auto r = f(n.value);
      account(s, n);
      return r;
    }
  }

  // Runs f(const Value&) if `key` is present; returns whether it was. Does not
  // change the recency order.
  template <typename F>
  bool read(const Key& key, F&& f) const {
    const std::size_t h = Hash{}(key);
    const Shard& s = shards_[h % shards_.size()];
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return false;
    f(it->second.value);
    return true;
  }

  bool erase(const Key& key) {
    const std::size_t h = Hash{}(key);
    Shard& s = shard_for(h);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return false;
    remove(s, it);
    return true;
  }

  // Removes every entry for which pred(key, value) is true (e.g. windows that
  // are empty). Locks one shard at a time.
  template <typename P>
  std::size_t erase_if(P&& pred) {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (auto it = s.map.begin(); it != s.map.end();) {
        auto next = std::next(it);
        if (pred(it->first, it->second.value)) {
          remove(s, it);
          ++n;
        }
        it = next;
      }
    }
    return n;
  }

  std::size_t size() const { return total_entries(shards_); }

 private:
  struct Node {
    Value value;
    const Key* key = nullptr;
    Node* prev = nullptr;
    Node* next = nullptr;
    std::size_t bytes = 0;
  };
  using Map = std::unordered_map<Key, Node, Hash>;
  struct Shard {
    mutable std::mutex mu;
    Map map;
    Node* head = nullptr;  // most recently used
    Node* tail = nullptr;  // least recently used
    std::size_t bytes = 0;
  };
  // A node of std::unordered_map: the pair, the next pointer and the cached
  // hash, plus one bucket pointer per entry at load factor 1.
  static constexpr std::size_t kNodeOverhead = 3 * sizeof(void*);

  static std::size_t entry_bytes(const Key& k, const Value& v) {
    return sizeof(std::pair<const Key, Node>) + kNodeOverhead + key_heap_bytes(k) +
           v.memory_bytes();
  }

  Shard& shard_for(std::size_t h) { return shards_[h % shards_.size()]; }

  static void unlink(Shard& s, Node& n) {
    (n.prev ? n.prev->next : s.head) = n.next;
    (n.next ? n.next->prev : s.tail) = n.prev;
    n.prev = n.next = nullptr;
  }
  static void push_front(Shard& s, Node& n) {
    n.prev = nullptr;
    n.next = s.head;
    if (s.head) s.head->prev = &n;
    s.head = &n;
    if (!s.tail) s.tail = &n;
  }

  void remove(Shard& s, typename Map::iterator it) {
    Node& n = it->second;
    unlink(s, n);
    s.bytes -= n.bytes;
    budget_.add(-std::int64_t(n.bytes));
    budget_.add_entries(-1);
    s.map.erase(it);
  }

  // Re-measures `n` after a change and evicts from the tail while over budget.
  void account(Shard& s, Node& n) {
    const std::size_t now = entry_bytes(*n.key, n.value);
    if (now != n.bytes) {
      s.bytes += now - n.bytes;
      budget_.add(std::int64_t(now) - std::int64_t(n.bytes));
      n.bytes = now;
    }
    while (budget_.over() && s.tail && s.tail != &n) {
      auto it = s.map.find(*s.tail->key);
      remove(s, it);
      budget_.count_eviction();
    }
  }

  MemoryBudget& budget_;
  std::vector<Shard> shards_;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_SHARDED_LRU_H_
