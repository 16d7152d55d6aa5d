#ifndef MAMORI_STATE_SHARDED_MAP_H_
#define MAMORI_STATE_SHARDED_MAP_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace mamori::state {

// A hash map split into shards with a mutex each, for state that must never
// be evicted (blocks, account locks). Values are copied out; a shard's lock
// is held only inside one call. Thread-safe.
template <typename Key, typename Value, typename Hash = std::hash<Key>, std::size_t kShards = 16>
class ShardedMap {
 public:
  ShardedMap() = default;
  ShardedMap(const ShardedMap&) = delete;
  ShardedMap& operator=(const ShardedMap&) = delete;

  // Runs f(std::optional<Value>&) on the key's slot: empty when absent; the
  // slot is stored when f leaves it engaged and erased otherwise. Returns
  // what is stored afterwards.
  template <typename F>
  std::optional<Value> upsert(const Key& key, F&& f) {
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    std::optional<Value> slot;
    if (it != s.map.end()) slot = std::move(it->second);
    f(slot);
    if (slot) {
      if (it != s.map.end()) {
        it->second = *slot;
      } else {
        s.map.emplace(key, *slot);
        count_.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (it != s.map.end()) {
      s.map.erase(it);
      count_.fetch_sub(1, std::memory_order_relaxed);
    }
    return slot;
  }

  // As upsert(), but the value is moved in and out of its slot, never
  // copied, the key looked up once, and nothing is returned: for bulk loads.
  // REQUIRES: Value is default-constructible.
  template <typename F>
  void update(const Key& key, F&& f) {
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    auto [it, fresh] = s.map.try_emplace(key);
    std::optional<Value> slot;
    if (!fresh) slot.emplace(std::move(it->second));
    f(slot);
    if (slot) {
      it->second = std::move(*slot);
      if (fresh) count_.fetch_add(1, std::memory_order_relaxed);
    } else {
      s.map.erase(it);
      if (!fresh) count_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  // Makes room for `n` entries in all (spread evenly over the shards), so
  // that a bulk load does not rehash as it grows.
  void reserve(std::size_t n) {
    const std::size_t per_shard = n / kShards + n / (8 * kShards) + 1;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      s.map.reserve(per_shard);
    }
  }

  std::optional<Value> find(const Key& key) const {
    const Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    if (s.map.empty()) return std::nullopt;
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    return it->second;
  }

  // Runs f(const Value&) on the key's value, if present, under its shard's
  // lock (f must not block or call into the map): reads a part of a value
  // without copying the whole. Returns whether the key was present.
  template <typename F>
  bool read(const Key& key, F&& f) const {
    const Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    if (s.map.empty()) return false;
    auto it = s.map.find(key);
    if (it == s.map.end()) return false;
    f(std::as_const(it->second));
    return true;
  }

  void put(const Key& key, Value v) {
    upsert(key, [&](std::optional<Value>& slot) { slot = std::move(v); });
  }

  bool erase(const Key& key) {
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    if (s.map.erase(key) == 0) return false;
    count_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  // Removes the entries for which pred(key, value) holds; calls
  // removed(key, value) for each before it goes. One shard locked at a time.
  template <typename P, typename R>
  std::size_t erase_if(P&& pred, R&& removed) {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      n += std::erase_if(s.map, [&](const auto& kv) {
        if (!pred(kv.first, kv.second)) return false;
        removed(kv.first, kv.second);
        return true;
      });
    }
    count_.fetch_sub(n, std::memory_order_relaxed);
    return n;
  }

  // Calls f(key, value) for every entry, one shard locked at a time.
  template <typename F>
  void for_each(F&& f) const {
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (const auto& [k, v] : s.map) f(k, v);
    }
  }

  // Kept as a counter, so that asking costs no lock (the login path asks
  // whether any account is locked at all).
  std::size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Key, Value, Hash> map;
  };
  Shard& shard_for(const Key& k) { return shards_[Hash{}(k) % kShards]; }
  const Shard& shard_for(const Key& k) const { return shards_[Hash{}(k) % kShards]; }

  std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> count_{0};
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_SHARDED_MAP_H_
