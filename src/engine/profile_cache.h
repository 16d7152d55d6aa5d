#ifndef MAMORI_ENGINE_PROFILE_CACHE_H_
#define MAMORI_ENGINE_PROFILE_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "state/clock_map.h"
#include "state/memory_budget.h"
#include "store/profile_store.h"

namespace mamori::engine {

// Account profiles for the login path: the recently used ones in memory
// (within the hot-state budget, evicted in CLOCK order), the rest read from
// the store on demand. put() updates both; the store is the durable copy. A
// profile whose write is still queued stays cached, so a login right after
// another sees it.
//
// On a store whose profiles live in this process only
// (ProfileStore::profiles_in_process(), the store in memory), modify()
// writes nothing: a profile it changed is written, as it is then, when its
// copy leaves the cache (evicted, its slot taken by another account, or the
// cache destroyed). The store's map lookup and encoding then cost once per
// eviction instead of once per login, and every read of the store still
// finds the newest profile of each account not cached.
//
// The table is a ClockMap keyed by the account's fingerprint; each slot
// points to one allocation holding the profile and, right after it, the
// account's name. A lookup touches the slot and that allocation only, and
// the name tells apart two accounts whose fingerprints collide (they then
// take turns in the slot, each read from the store when the other had it).
// Nodes sharing a store: each cached profile keeps the version it was read
// or last written as (store/profile_store.h), so a write built on a copy
// another node has changed meanwhile is merged by the store, never stored
// over the other's. A copy is dropped when another node tells it changed
// the profile (invalidate(), from the shared hot state) or when the store
// merged this node's write with another's (merged()), so the next read
// takes the stored one; never while a newer write of this node's is still
// queued (its copy is the newest there is here, and that write merges too).
//
// Thread-safe. No shard lock is held while the store is read; a write is
// queued (encoded) under the account's shard lock.
class ProfileCache {
 public:
  // The table's key of an account: its fingerprint (tests pass one that
  // collides on purpose).
  using KeyFunction = std::uint64_t (*)(std::string_view account);

  ProfileCache(store::ProfileStore& store, state::MemoryBudget& budget,
               KeyFunction key_of = &fingerprint)
      : store_(store), key_of_(key_of), write_back_(store.profiles_in_process()), cache_(budget) {}
  ProfileCache(const ProfileCache&) = delete;
  ProfileCache& operator=(const ProfileCache&) = delete;

  // Fails with the store's error when the profile cannot be read.
  Result<store::AccountProfile> get(const std::string& account);
  // Whether `account`'s profile is in memory: get() and modify() will not
  // read the store for it (unless it is evicted first).
  bool cached(const std::string& account) const;
  // Caches `profile`, read from the store for `account` (a batched read
  // ahead of the login that needs it), unless one is cached already: that
  // one is as new or newer.
  void prime(const std::string& account, store::AccountProfile profile);
  store::WriteTicket put(const std::string& account, store::AccountProfile profile);

  // Runs f(store::AccountProfile&, TimePoint& persisted) on the cached
  // profile in place (read from the store first when not cached), under the
  // shard's lock: f must not block. `persisted` is when the profile was last
  // queued to the store by this cache ({} if never). When f returns true the
  // profile is queued to the store and `persisted` should be set by f. The
  // store encodes it under the same lock (no copy of the profile), so the
  // writes of one account are queued in the order of its updates. (On a
  // store of profiles in this process: marked to be written when dropped.)
  // Returns the write's ticket (0: nothing written), or the store's read
  // error.
  template <typename F>
  Result<store::WriteTicket> modify(const std::string& account, F&& f);

  std::size_t size() const { return cache_.size(); }

  // Drops the cached profiles whose last write is among `failed` (a commit
  // that failed): the next read takes the stored one, so the cache never
  // shows what the store lost. Profiles written later stay (their newer
  // write carries the whole profile).
  void forget(const store::WriteSpan& failed);

  // Another node changed the account's stored profile: drops the cached
  // copy unless this node's last write of it is still queued (after
  // `committed`, the store's committed()). Returns whether it was dropped.
  bool invalidate(const std::string& account, store::WriteTicket committed);
  // The store merged this node's write of the account's profile as
  // `version` with another node's: drops the cached copy if it is still
  // that version (a write made on it since carries a later version, and
  // merges in turn). Returns whether it was dropped.
  bool merged(const std::string& account, std::uint64_t version);
  // Copies dropped by invalidate() and merged() so far.
  std::uint64_t invalidated() const { return invalidated_.load(std::memory_order_relaxed); }

 private:
  // One allocation: the entry, then its account's name (name_size bytes).
  struct Entry {
    store::AccountProfile profile;
    TimePoint persisted{};
    store::WriteTicket written = 0;  // the last write of the profile; 0: none
    // Set when a change is still to be written (a store of profiles in this
    // process only): where the deleter writes the profile.
    store::ProfileStore* write_back = nullptr;
    bool loaded = false;  // false: the store not read yet
    std::uint32_t name_size = 0;
    // What the entry, its name and the profile's heap take, measured after
    // each change (remeasure) so the table reads it without a walk.
    std::size_t bytes = 0;

    std::string_view name() const {
      return {reinterpret_cast<const char*>(this + 1), name_size};
    }
    // Writes the profile back first if a change is pending (write_back).
    struct Delete {
      void operator()(Entry* e) const;
    };
  };
  using EntryPtr = std::unique_ptr<Entry, Entry::Delete>;
  static EntryPtr make_entry(std::string_view account);

  struct Slot {
    EntryPtr entry;
    std::size_t memory_bytes() const { return entry ? entry->bytes : 0; }
  };
  // Sets e.bytes from the profile as it is now.
  static void remeasure(Entry& e);
  // Unloads `account`'s entry if drop(const Entry&) says so (its memory
  // freed, the slot kept until reused or evicted).
  template <typename P>
  bool unload_if(const std::string& account, P&& drop);

  static std::uint64_t fingerprint(std::string_view account);
  // The slot's entry for `account`: a fresh one (not loaded) when the slot
  // is new or held another account.
  static Entry& entry_for(Slot& s, std::string_view account);

  store::ProfileStore& store_;
  const KeyFunction key_of_;
  const bool write_back_;  // store_.profiles_in_process()
  state::ClockMap<Slot> cache_;
  std::atomic<std::uint64_t> invalidated_{0};
};

template <typename F>
Result<store::WriteTicket> ProfileCache::modify(const std::string& account, F&& f) {
  const std::uint64_t key = key_of_(account);
  std::optional<store::AccountProfile> stored;
  // Twice at most: the entry may be evicted between the store read and the
  // update that uses it.
  for (int attempt = 0; attempt < 2; ++attempt) {
    store::WriteTicket written = 0;
    bool done = cache_.update(key, [&](Slot& s) {
      Entry& e = entry_for(s, account);
      if (!e.loaded) {
        if (!stored) return false;
        e.profile = std::move(*stored);
        e.loaded = true;
      }
      if (f(e.profile, e.persisted)) {
        if (write_back_)
          e.write_back = &store_;
        else
          e.written = written = store_.put_profile(account, e.profile);
      }
      remeasure(e);
      return true;
    });
    if (done) return written;
    auto r = store_.profile(account);
    if (!r) return r.error();
    stored = std::move(*r);
  }
  return make_error("store_read_failed", "profile of " + account + " evicted while loading");
}

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_PROFILE_CACHE_H_
