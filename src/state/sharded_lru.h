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
#include "state/worth.h"

namespace mamori::state {

// Bytes a key owns beyond its own size (heap part of a long string).
template <typename K>
std::size_t key_heap_bytes(const K&) { return 0; }
inline std::size_t key_heap_bytes(const std::string& s) {
  return s.size() > 15 ? s.capacity() + 1 : 0;
}

// A hash map split into shards, each with its own mutex and least-recently-
// used order, whose entries count against a shared MemoryBudget. When the
// budget is exceeded, the shard being written evicts entries (never the one
// being written): of the kScan least recently used, the least recently used
// one that is worth nothing, else the one of least worth (state::Worth; a
// flood of new keys then evicts its own keys before a count close to firing,
// as in ClockMap). Used for hot windows, which may be forgotten under memory
// pressure; never for blocks, locks or list entries.
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
  // it most recently used. Returns what f returns. When f takes
  // (Value&, Worth&), the Worth is the entry's (0 for a new one) and what f
  // leaves there (at most kMaxWorth) is kept as its worth.
  template <typename F>
  auto update(const Key& key, F&& f) {
    const std::size_t h = Hash{}(key);
    Shard& s = shard_for(h);
    std::lock_guard lock(s.mu);
    auto [it, inserted] = s.map.try_emplace(key);
    Node& n = it->second;
    if (inserted) {
      n.key = &it->first;
      n.bytes = std::uint32_t(entry_bytes(it->first, n.value));
      s.bytes += n.bytes;
      budget_.add(std::int64_t(n.bytes));
      budget_.add_entries(1);
    } else {
      unlink(s, n);
    }
    push_front(s, n);
    if constexpr (std::is_invocable_v<F&, Value&, Worth&>) {
      Worth worth = n.worth;
      if constexpr (std::is_void_v<std::invoke_result_t<F&, Value&, Worth&>>) {
        f(n.value, worth);
        n.worth = worth < kMaxWorth ? worth : kMaxWorth;
        account(s, n);
      } else {
        auto r = f(n.value, worth);
        n.worth = worth < kMaxWorth ? worth : kMaxWorth;
        account(s, n);
        return r;
      }
    } else if constexpr (std::is_void_v<std::invoke_result_t<F&, Value&>>) {
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

  // Runs f(const Key&, const Value&) on every entry. Does not change the
  // recency order. Locks one shard at a time.
  template <typename F>
  void for_each(F&& f) const {
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (const auto& [key, node] : s.map) f(key, node.value);
    }
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

  // Runs keep(const Key&, Value&, Worth&) on every entry, the Worth being
  // the entry's: keep sets it afresh (an owner's windows moved on since the
  // entry was last updated) and returns false to remove the entry. Does not
  // change the recency order. Locks one shard at a time. Returns the number
  // removed.
  template <typename K>
  std::size_t refresh(K&& keep) {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (auto it = s.map.begin(); it != s.map.end();) {
        auto next = std::next(it);
        Node& node = it->second;
        Worth worth = node.worth;
        const bool kept = keep(it->first, node.value, worth);
        if (kept) {
          node.worth = worth < kMaxWorth ? worth : kMaxWorth;
          remeasure(s, node);
        } else {
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
    std::uint32_t bytes = 0;
    Worth worth = 0;
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
  // Least recently used entries looked at, at most, for one worth nothing.
  static constexpr int kScan = 8;

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

  void remeasure(Shard& s, Node& n) {
    const std::size_t now = entry_bytes(*n.key, n.value);
    if (now != n.bytes) {
      s.bytes += now - n.bytes;
      budget_.add(std::int64_t(now) - std::int64_t(n.bytes));
      n.bytes = std::uint32_t(now);
    }
  }

  // Re-measures `n` after a change and evicts others while over budget.
  void account(Shard& s, Node& n) {
    remeasure(s, n);
    while (budget_.over() && evict_one(s, n)) {
    }
  }

  // Evicts, of the kScan least recently used entries other than `keep`, the
  // least recently used one worth nothing, else the one of least worth (the
  // less recently used on a tie). Returns false if there is no other entry.
  bool evict_one(Shard& s, const Node& keep) {
    Node* least = nullptr;
    int seen = 0;
    for (Node* n = s.tail; n != nullptr && seen < kScan; n = n->prev) {
      if (n == &keep) continue;
      if (least == nullptr || n->worth < least->worth) {
        least = n;
        if (n->worth == 0) break;
      }
      ++seen;
    }
    if (least == nullptr) return false;
    remove(s, s.map.find(*least->key));
    budget_.count_eviction();
    return true;
  }

  MemoryBudget& budget_;
  std::vector<Shard> shards_;
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_SHARDED_LRU_H_
