#ifndef MAMORI_STATE_CLOCK_MAP_H_
#define MAMORI_STATE_CLOCK_MAP_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "state/huge_pages.h"
#include "state/memory_budget.h"
#include "state/worth.h"

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
// evicts an entry other than the one being written (evict_one()), chosen by
// its worth first and by CLOCK's "used" mark among equals. Used for hot windows,
// which may be forgotten under memory pressure; never for blocks, locks or
// list entries.
//
// Eviction, and why it holds against a flood. An attack from many addresses
// (334,000 failures, each from a new address of one /64) makes a new entry
// per event, each used once. Plain CLOCK (an approximation of least recently
// used) lets such a scan push every older entry out in turn, a brute-force
// count at 9 of 10 as readily as the flood's own keys, and the attacker's
// count starts again. Here each entry carries its worth (state/worth.h: set
// by its owner from how close its count is to firing, 0 for a key seen
// once), and evict_one() takes, of kScan entries in a row from one at a
// random place (the home slot of the key being written), the first one that is worth nothing and
// was not used since an eviction last looked at it, else the lowest by worth, then by that mark. A
// worthy entry goes only when every entry looked at is worth as much: a flood of one-shot keys
// evicts one-shot keys (its own) for as long as it lasts, a flood of keys seen twice (worth 1)
// evicts those, and what a flood can evict is bounded by what each of its keys costs the attacker:
// to reach a count at 9 of 10, its keys must be close to firing themselves.
//
// Chosen by measurement (bench/eviction_policies: a 1 MiB table, 1,000
// counts at 9 of 10 and 1,000 at 5, floods of 3, 10 and 30 times the table
// of keys seen 1, 2, 3 or 5 times each). Counts at 9 kept:
//   CLOCK                               none, from the smallest flood on
//   segmented LRU (protected 80%)       all against one-shot keys; none
//                                       once the keys are seen twice (they
//                                       fill the protected segment)
//   W-TinyLFU (count-min admission)     all against one-shot keys up to 10
//                                       times the table, none at 30 (its
//                                       sketch halves every count as it
//                                       ages); none against 2-shot floods
//                                       of 10 times the table
//   worth                               all, in every flood; counts at 5 go
//                                       only to keys seen 5 times
// Worth also costs the least: two bits of each slot's key, no sketch and no
// per-event work until the table is full; a flood's event costs no more
// CPU than under CLOCK (465-535 ns against 515-576 for new keys, 80-210
// against 190-390 for keys seen again).
//
// Where eviction looks. CLOCK's hand sweeps the slots in turn; here each
// eviction looks from the entry at the home slot of the key being written
// (a key's home is as good as random) or, if that slot is empty, from an
// entry taken at random, with the same "used" marks (as sampled LRU does):
// an entry is looked at as often on average (kScan entries an eviction
// either way), and the counts kept through the floods above are the same.
// A sweeping hand empties the slots behind it while new entries land
// anywhere, so the slots ahead of it fill up: with linear probing, one
// probe run thousands of slots long in front of the hand, walked by every
// lookup of a key that is not there (bench/http.sh after ten million IPs: a
// mean of 1,537 slots a lookup in a simulation of its shards; 274 a
// missing key in EvictionKeepsProbeRunsAsShortAsAFreshTables's table).
// Evicting from entries taken at random keeps a table at its budget as
// evenly filled as one filled afresh (5.4 slots a hit, 35 a miss, 7/8
// full); evicting in the run the new key lands in shortens the runs
// keys crowd into, and does better (1.6 a hit, 8.5 a miss). Looking at the
// new key's own slots, which its insertion reads next anyway, costs no
// cache miss of its own either: at ten million IPs, a slot taken at random
// was most of an eviction's time.
//
// A worth does not fade by itself: the owners recompute it as their windows
// move on, and drop entries with nothing left in them, through refresh(),
// which the engine's periodic maintenance calls; otherwise counts that went
// quiet would keep their rank over fresh ones and, in time, fill the table.
//
// A full table grows by a quarter (not doubling), so a table is between 7/10
// and 7/8 full once past its initial size: the slack a table carries is at
// most 3/7 of its entries' slots, rather than 9/7 with doubling. The price:
// growing by a quarter moves each entry about four times over the table's
// growth, against once with doubling. A table that evictions left less than
// a quarter full shrinks to half full: the budget gets its empty slots back,
// and evictions never walk long runs of them. Without that, a map whose
// entries are evicted first when the whole budget is over (the profile
// cache, under millions of hot windows) keeps tables sized for its peak and
// nearly empty, and every eviction in them walked the table from one entry
// to the next: at ten million IPs and accounts, tables of 100,000 slots per
// shard, walked once per login result.
//
// Keys are kept as 61-bit fingerprints (the top bit is CLOCK's "used" mark,
// the next two the worth): two keys with the same fingerprint share an
// entry; with a well-mixed hash and ten million entries the chance that any
// two do is about 2 in 100,000.
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
    std::uint64_t seed = 0;
    for (Shard& s : shards_) {
      s.random = (++seed) * 0x9E3779B97F4A7C15ull;  // any nonzero start
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
  // missing, and marks it used. Returns what f returns. When f takes
  // (Value&, Worth&), the Worth is the entry's (0 for a new one) and what f
  // leaves there (at most kMaxWorth) is kept as its worth.
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
    if constexpr (std::is_invocable_v<F&, Value&, Worth&>) {
      Worth worth = slot.worth();
      if constexpr (std::is_void_v<std::invoke_result_t<F&, Value&, Worth&>>) {
        f(slot.value, worth);
        slot.set_worth(worth);
        after_update(s, slot, before);
      } else {
        auto r = f(slot.value, worth);
        slot.set_worth(worth);
        after_update(s, slot, before);
        return r;
      }
    } else if constexpr (std::is_void_v<std::invoke_result_t<F&, Value&>>) {
      f(slot.value);
      after_update(s, slot, before);
    } else {
      auto r = f(slot.value);
      after_update(s, slot, before);
      return r;
    }
  }

  // Runs f(Value&, Worth&) if `key` is present, as update() does, but never
  // creates the entry nor marks it used (what f records adds to what the
  // entry holds; it is no reason to keep it). Returns whether it was present.
  template <typename F>
  bool update_if_present(std::uint64_t key, F&& f) {
    key = fix(key);
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mu);
    const std::size_t i = find(s, key);
    if (s.slots[i].key == 0) return false;
    Slot& slot = s.slots[i];
    const std::size_t before = slot.value.memory_bytes();
    Worth worth = slot.worth();
    f(slot.value, worth);
    slot.set_worth(worth);
    after_update(s, slot, before);
    return true;
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

  // Runs keep(Value&, Worth&) on every entry, the Worth being the entry's:
  // keep sets it afresh (an owner's windows moved on since the entry was
  // last updated) and returns false to remove the entry (nothing left in
  // its windows). Holds one shard's lock at a time, for at most
  // kRefreshChunk slots, so a pass over millions of entries delays no
  // update by more than that: an entry moved meanwhile (the table grew, or
  // a removal shifted it back) may be passed over until the next call.
  // Between chunks, the budget's refresh pause (MemoryBudget) paces the
  // pass. Returns the number removed.
  template <typename K>
  std::size_t refresh(K&& keep) {
    std::size_t n = 0;
    const MemoryBudget::RefreshPause& pause = budget_.refresh_pause();
    for (Shard& s : shards_) {
      for (std::size_t i = 0;;) {
        const auto started =
            pause ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        std::unique_lock lock(s.mu);
        if (i >= s.slots.size()) break;
        const std::size_t end = std::min(s.slots.size(), i + kRefreshChunk);
        while (i < end) {
          Slot& slot = s.slots[i];
          if (slot.key == 0) {
            ++i;
            continue;
          }
          const std::size_t before = slot.value.memory_bytes();
          Worth worth = slot.worth();
          const bool kept = keep(slot.value, worth);
          account_heap(s, before, slot.value.memory_bytes());
          if (kept) {
            slot.set_worth(worth);
            ++i;
          } else {
            remove(s, i);  // a later entry may shift into i: look at i again
            ++n;
          }
        }
        lock.unlock();
        if (pause) pause(std::chrono::steady_clock::now() - started);
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

  // How far lookups walk, over every shard's table (for the tests and
  // benches that check that eviction keeps the tables evenly filled):
  // the mean number of slots a lookup reads for a key that is there, and
  // for one that is not (from a home slot taken uniformly: the slots up to
  // and including the next empty one).
  struct Probes {
    double hit = 0;
    double miss = 0;
  };
  Probes probes() const {
    double hit = 0, miss = 0;
    std::size_t entries = 0, slots = 0;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      const std::size_t n = s.slots.size();
      // Slots read from each position up to the next empty one: walk back
      // from an empty slot (there is one: a table is at most 7/8 full).
      std::size_t start = 0;
      while (s.slots[start].key != 0) ++start;
      std::size_t run = 0;
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (start + n - k) % n;
        run = s.slots[i].key == 0 ? 1 : run + 1;
        miss += double(run);
        if (s.slots[i].key == 0) continue;
        const std::size_t h = home(s, s.slots[i].fingerprint());
        hit += double((i + n - h) % n + 1);
        ++entries;
      }
      slots += n;
    }
    return {entries == 0 ? 0 : hit / double(entries), slots == 0 ? 0 : miss / double(slots)};
  }

 private:
  // A slot's key: the fingerprint in the low 61 bits, the worth in the two
  // above, the used mark on top.
  static constexpr std::uint64_t kReferenced = std::uint64_t{1} << 63;
  static constexpr int kWorthShift = 61;
  static constexpr std::uint64_t kWorthBits = std::uint64_t{kMaxWorth} << kWorthShift;
  static constexpr std::uint64_t kFingerprint = (std::uint64_t{1} << kWorthShift) - 1;
  static_assert(kMaxWorth == 3, "the worth takes two bits of the key");
  // Entries evict_one() looks at, at most: a worthy entry goes only when all
  // of them are worth as much.
  static constexpr int kScan = 8;
  // A table shrinks (after an eviction) when fewer than 1/kShrinkBelow of
  // its slots are used, to twice its entries.
  static constexpr std::size_t kShrinkBelow = 4;
  // Slots refresh() looks at under one hold of a shard's lock (some tens of
  // microseconds: an entry's owner may read its heap, a cache miss each).
  static constexpr std::size_t kRefreshChunk = 512;

  struct Slot {
    std::uint64_t key = 0;  // fingerprint | worth | kReferenced when used; 0: empty
    Value value{};
    std::uint64_t fingerprint() const { return key & kFingerprint; }
    Worth worth() const { return Worth((key & kWorthBits) >> kWorthShift); }
    void set_worth(Worth w) {
      key = (key & ~kWorthBits) | (std::uint64_t(w < kMaxWorth ? w : kMaxWorth) << kWorthShift);
    }
  };
  using Slots = std::vector<Slot, HugePageAllocator<Slot>>;
  struct Shard {
    mutable std::mutex mu;
    Slots slots;  // at least kInitialSlots
    std::size_t used = 0;
    std::uint64_t random = 0;  // where evict_one() looks next (xorshift64*)
    std::size_t bytes = 0;     // slots plus the values' heap
  };

  static std::uint64_t fix(std::uint64_t key) {
    key &= kFingerprint;
    return key == 0 ? 1 : key;
  }
  Shard& shard_for(std::uint64_t key) { return shards_[key % kShards]; }
  const Shard& shard_for(std::uint64_t key) const { return shards_[key % kShards]; }
  // The key's first slot: its high bits scaled to the table's size (the low
  // bits chose the shard).
  static std::size_t home(const Shard& s, std::uint64_t key) {
    return std::size_t(
        (static_cast<unsigned __int128>(key << (64 - kWorthShift)) * s.slots.size()) >> 64);
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
        evict_one(s, 0, key, kForSlot);
      }
    }
    const std::size_t i = find(s, key);
    s.slots[i].key = key;
    ++s.used;
    budget_.add_entries(1);
    return i;
  }

  void grow(Shard& s) { resize(s, s.slots.size() + s.slots.size() / 4); }

  // Moves the entries into a table of `slots` slots. REQUIRES: slots > s.used.
  void resize(Shard& s, std::size_t slots) {
    Slots old(slots);
    old.swap(s.slots);
    for (Slot& slot : old) {
      if (slot.key == 0) continue;
      std::size_t i = home(s, slot.fingerprint());
      while (s.slots[i].key != 0) i = next(s, i);
      s.slots[i] = std::move(slot);
    }
    const std::int64_t added =
        (std::int64_t(s.slots.size()) - std::int64_t(old.size())) * std::int64_t(sizeof(Slot));
    s.bytes = std::size_t(std::int64_t(s.bytes) + added);
    budget_.add(added);
  }

  // Shrinks a table that evictions left sparse. Moves entries: no slot index
  // or reference taken before survives it.
  void shrink_if_sparse(Shard& s) {
    if (s.slots.size() <= kInitialSlots || s.used * kShrinkBelow >= s.slots.size()) return;
    resize(s, std::max(kInitialSlots, 2 * s.used));
  }

  void account_heap(Shard& s, std::size_t before, std::size_t now) {
    if (now == before) return;
    s.bytes += now - before;
    budget_.add(std::int64_t(now) - std::int64_t(before));
  }

  void after_update(Shard& s, Slot& slot, std::size_t before) {
    const std::uint64_t key = slot.fingerprint();
    account_heap(s, before, slot.value.memory_bytes());
    // The first eviction where the entry is (its slots are in the cache),
    // any more at random: a run of them in one place would empty it.
    for (std::uint64_t near = key; budget_.over() && evict_one(s, key, near, kForBytes); near = 0) {
    }
  }

  // Evicts an entry other than `keep`. From the entry at `near`'s home slot
  // (or, if that slot is empty or `near` is 0, an entry taken at random),
  // looks at up to kScan entries, clearing their used marks as it passes,
  // and takes the first that was neither used since it last passed nor
  // worth anything; failing that, the lowest in rank (worth first, then the
  // used mark; the first on a tie). For bytes (the budget is over), an
  // entry that owns heap ranks below one of the same worth that owns none:
  // evicting that one gives nothing back, and an update that grew a value
  // in a table of heap-less entries went on evicting them, one random slot
  // each, until it met one that did. Returns false if there is no other entry. May shrink the table
  // (shrink_if_sparse): slot indexes and references taken before are stale.
  enum Need { kForSlot, kForBytes };
  bool evict_one(Shard& s, std::uint64_t keep, std::uint64_t near, Need need) {
    // Only `keep` left (or nothing): no walk of the whole table to find that out.
    if (s.used == 0 || (s.used == 1 && keep != 0 && s.slots[find(s, keep)].key != 0)) return false;
    constexpr std::size_t kNone = ~std::size_t{0};
    std::size_t least = kNone;
    unsigned least_rank = 0;
    int seen = 0;
    // Start at an entry: the one at the home slot of a key about to be
    // written (a key's home is as good as random, and its slots are read
    // next: looking there costs no cache miss of its own), else one taken
    // at random. Not the first entry after an empty slot: that would take
    // the first entries of runs more often than others, and leave the
    // crowded runs alone.
    std::size_t at = near != 0 ? home(s, near) : random_slot(s);
    for (int tries = 0; s.slots[at].key == 0 && tries < 64; ++tries) at = random_slot(s);
    for (std::size_t step = 0; step < s.slots.size() && seen < kScan; ++step) {
      const std::size_t i = at;
      at = next(s, i);
      Slot& slot = s.slots[i];
      if (slot.key == 0 || slot.fingerprint() == keep) continue;
      const unsigned used = (slot.key & kReferenced) != 0 ? 1u : 0u;
      const unsigned frees_nothing = need == kForBytes && slot.value.memory_bytes() == 0 ? 1u : 0u;
      const unsigned rank = 4u * slot.worth() + 2u * frees_nothing + used;
      slot.key &= ~kReferenced;
      if (least == kNone || rank < least_rank) {
        least = i;
        least_rank = rank;
        if (rank == 0) break;
      }
      ++seen;
    }
    if (least == kNone) return false;
    remove(s, least);  // entries after it may shift back by one
    budget_.count_eviction();
    shrink_if_sparse(s);
    return true;
  }

  // A slot taken at random (see "Where eviction looks" above).
  static std::size_t random_slot(Shard& s) {
    s.random ^= s.random >> 12;
    s.random ^= s.random << 25;
    s.random ^= s.random >> 27;
    const std::uint64_t r = s.random * 0x2545F4914F6CDD1Dull;
    return std::size_t((static_cast<unsigned __int128>(r) * s.slots.size()) >> 64);
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
