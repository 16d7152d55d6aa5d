#ifndef MAMORI_STATE_CLOCK_MAP_H_
#define MAMORI_STATE_CLOCK_MAP_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "state/memory_budget.h"

namespace mamori::state {

// A compact hash map for hot windows: values keyed by a 64-bit fingerprint of
// their key (account, IP, account+IP...), split into shards with a mutex
// each, stored inline in open-addressing tables (linear probing, at most 7/8
// full). No node, list or key is allocated per entry: an entry costs its slot
// (8 bytes + sizeof(Value)) plus the heap its value owns.
//
// Memory: the tables and the values' heap count against a shared
// MemoryBudget. A table grows (by a quarter, below) only while the budget allows it;
// otherwise, and whenever the budget is exceeded, the shard being written
// evicts entries in CLOCK order (an approximation of least recently used: an
// entry used since the hand last passed it gets a second chance), never the
// one being written. Used for hot windows, which may be forgotten under
// memory pressure; never for blocks, locks or list entries.
//
// A full table grows by a quarter (not doubling), so a table is between 7/10
// and 7/8 full once past its initial size: the slack a table carries is at
// most 3/7 of its entries' slots, rather than 9/7 with doubling. The price:
// growing by a quarter moves each entry about four times over the table's
// growth, against once with doubling.
//
// Keys are kept as 63-bit fingerprints (the top bit is CLOCK's "used"
// mark): two keys with the same fingerprint share an entry; with a
// well-mixed hash and ten million entries the chance that any two do is
// about 5 in a million.
//
// `Value` must be default-constructible and movable and have
// `std::size_t memory_bytes() const` (heap bytes it owns).
// Thread-safe. A shard's lock is held only while the caller's function runs:
// that function must not block or touch another shard.
template <typename Value>
class ClockMap {
 public:
  static constexpr std::size_t kShards = 64;
  static constexpr std::size_t kInitialSlots = 16;  // per shard, allocated up front

  explicit ClockMap(MemoryBudget& budget) : budget_(budget) {
    for (Shard& s : shards_) {
      s.slots.resize(kInitialSlots);
      s.bytes = kInitialSlots * sizeof(Slot);
      budget_.add(std::int64_t(s.bytes));
    }
  }
  ClockMap(const ClockMap&) = delete;
  ClockMap& operator=(const ClockMap&) = delete;
  ~ClockMap() {
    for (Shard& s : shards_) {
      budget_.add(-std::int64_t(s.bytes));
      budget_.add_entries(-std::int64_t(s.used));
    }
  }

  // Runs f(Value&) on the entry for fingerprint `key`, creating it if
  // missing, and marks it used. Returns what f returns.
  template <typename F>
  auto update(std::uint64_t key, F&& f) {
    key = fix(key);
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    std::size_t i = find(s, key);
    if (s.slots[i].key == 0) i = insert(s, key);
    Slot& slot = s.slots[i];
    slot.key |= kReferenced;
    const std::size_t before = slot.value.memory_bytes();
    if constexpr (std::is_void_v<decltype(f(slot.value))>) {
      f(slot.value);
      after_update(s, slot, before);
    } else {
      auto r = f(slot.value);
      after_update(s, slot, before);
      return r;
    }
  }

  // Runs f(const Value&) if `key` is present; returns whether it was. Does not
  // mark the entry used.
  template <typename F>
  bool read(std::uint64_t key, F&& f) const {
    key = fix(key);
    const Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    const std::size_t i = find(s, key);
    if (s.slots[i].key == 0) return false;
    f(std::as_const(s.slots[i].value));
    return true;
  }

  bool erase(std::uint64_t key) {
    key = fix(key);
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    const std::size_t i = find(s, key);
    if (s.slots[i].key == 0) return false;
    remove(s, i);
    return true;
  }

  // Removes every entry for which pred(const Value&) is true. Locks one shard
  // at a time.
  template <typename P>
  std::size_t erase_if(P&& pred) {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (std::size_t i = 0; i < s.slots.size();) {
        // A removal shifts a later entry into i: look at i again.
        if (s.slots[i].key != 0 && pred(std::as_const(s.slots[i].value))) {
          remove(s, i);
          ++n;
        } else {
          ++i;
        }
      }
    }
    return n;
  }

  std::size_t size() const {
    std::size_t n = 0;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      n += s.used;
    }
    return n;
  }

 private:
  static constexpr std::uint64_t kReferenced = std::uint64_t{1} << 63;
  struct Slot {
    std::uint64_t key = 0;  // fingerprint | kReferenced when used; 0: empty
    Value value{};
    std::uint64_t fingerprint() const { return key & ~kReferenced; }
  };
  struct Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots;  // at least kInitialSlots
    std::size_t used = 0;
    std::size_t hand = 0;   // the CLOCK hand
    std::size_t bytes = 0;  // slots plus the values' heap
  };

  static std::uint64_t fix(std::uint64_t key) {
    key &= ~kReferenced;
    return key == 0 ? 1 : key;
  }
  Shard& shard_for(std::uint64_t key) { return shards_[key % kShards]; }
  const Shard& shard_for(std::uint64_t key) const { return shards_[key % kShards]; }
  // The key's first slot: its high bits scaled to the table's size (the low
  // bits chose the shard).
  static std::size_t home(const Shard& s, std::uint64_t key) {
    return std::size_t((static_cast<unsigned __int128>(key << 1) * s.slots.size()) >> 64);
  }
  static std::size_t next(const Shard& s, std::size_t i) {
    return i + 1 == s.slots.size() ? 0 : i + 1;
  }

  // The slot holding `key`, or the empty slot where it would go.
  static std::size_t find(const Shard& s, std::uint64_t key) {
    std::size_t i = home(s, key);
    while (s.slots[i].key != 0 && s.slots[i].fingerprint() != key) i = next(s, i);
    return i;
  }

  // Makes room for one more entry (growing or evicting) and places `key`.
  std::size_t insert(Shard& s, std::uint64_t key) {
    if ((s.used + 1) * 8 > s.slots.size() * 7) {
      const std::size_t grow_bytes = s.slots.size() / 4 * sizeof(Slot);
      if (budget_.used() + grow_bytes <= budget_.limit()) {
        grow(s);
      } else {
        evict_one(s, 0);
      }
    }
    const std::size_t i = find(s, key);
    s.slots[i].key = key;
    ++s.used;
    budget_.add_entries(1);
    return i;
  }

  void grow(Shard& s) {
    std::vector<Slot> old(s.slots.size() + s.slots.size() / 4);
    old.swap(s.slots);
    for (Slot& slot : old) {
      if (slot.key == 0) continue;
      std::size_t i = home(s, slot.fingerprint());
      while (s.slots[i].key != 0) i = next(s, i);
      s.slots[i] = std::move(slot);
    }
    const std::size_t added = (s.slots.size() - old.size()) * sizeof(Slot);
    s.bytes += added;
    budget_.add(std::int64_t(added));
    s.hand = 0;
  }

  void after_update(Shard& s, Slot& slot, std::size_t before) {
    const std::uint64_t key = slot.fingerprint();
    const std::size_t now = slot.value.memory_bytes();
    if (now != before) {
      s.bytes += now - before;
      budget_.add(std::int64_t(now) - std::int64_t(before));
    }
    while (budget_.over() && evict_one(s, key)) {
    }
  }

  // Evicts the next entry in CLOCK order other than `keep`. Returns false if
  // there is none.
  bool evict_one(Shard& s, std::uint64_t keep) {
    for (std::size_t step = 0; step < 2 * s.slots.size() + 1; ++step) {
      Slot& slot = s.slots[s.hand];
      if (slot.key != 0 && slot.fingerprint() != keep) {
        if ((slot.key & kReferenced) == 0) {
          remove(s, s.hand);  // the next candidate shifts into the hand's slot
          budget_.count_eviction();
          return true;
        }
        slot.key &= ~kReferenced;
      }
      s.hand = next(s, s.hand);
    }
    return false;
  }

  // Empties slot i, shifting back the entries after it that probed past it.
  void remove(Shard& s, std::size_t i) {
    const std::size_t heap = s.slots[i].value.memory_bytes();
    s.bytes -= heap;
    budget_.add(-std::int64_t(heap));
    budget_.add_entries(-1);
    --s.used;
    for (std::size_t j = next(s, i); s.slots[j].key != 0; j = next(s, j)) {
      const std::size_t h = home(s, s.slots[j].fingerprint());
      // Entry j may move to i if its home is not in (i, j] (cyclically).
      const bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
      if (stays) continue;
      s.slots[i] = std::move(s.slots[j]);
      i = j;
    }
    s.slots[i] = Slot{};
  }

  MemoryBudget& budget_;
  std::vector<Shard> shards_ = std::vector<Shard>(kShards);
};

}  // namespace mamori::state

#endif  // MAMORI_STATE_CLOCK_MAP_H_
