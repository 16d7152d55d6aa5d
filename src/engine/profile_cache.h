#ifndef MAMORI_ENGINE_PROFILE_CACHE_H_
#define MAMORI_ENGINE_PROFILE_CACHE_H_

#include <optional>
#include <string>

#include "core/result.h"
#include "state/memory_budget.h"
#include "state/sharded_lru.h"
#include "store/store.h"

namespace mamori::engine {

// Account profiles for the login path: the recently used ones in memory
// (within the hot-state budget, least recently used evicted), the rest read
// from the store on demand. put() updates both; the store is the durable
// copy. A profile whose write is still queued stays cached, so a login right
// after another sees it.
// Thread-safe. No shard lock is held while the store is read.
class ProfileCache {
 public:
  ProfileCache(store::Store& store, state::MemoryBudget& budget) : store_(store), cache_(budget) {}
  ProfileCache(const ProfileCache&) = delete;
  ProfileCache& operator=(const ProfileCache&) = delete;

  // Fails with the store's error when the profile cannot be read.
  Result<store::AccountProfile> get(const std::string& account);
  store::WriteTicket put(const std::string& account, store::AccountProfile profile);

  // Runs f(store::AccountProfile&, TimePoint& persisted) on the cached
  // profile in place (read from the store first when not cached), under the
  // shard's lock: f must not block. `persisted` is when the profile was last
  // queued to the store by this cache ({} if never). When f returns true the
  // profile is queued to the store and `persisted` should be set by f.
  // Returns the write's ticket (0: nothing written), or the store's read
  // error.
  template <typename F>
  Result<store::WriteTicket> modify(const std::string& account, F&& f);

 private:
  struct Entry {
    store::AccountProfile profile;
    bool loaded = false;  // false: a fresh slot, the store not read yet
    TimePoint persisted{};
    std::size_t memory_bytes() const;
  };

  store::Store& store_;
  state::ShardedLru<std::string, Entry> cache_;
};

template <typename F>
Result<store::WriteTicket> ProfileCache::modify(const std::string& account, F&& f) {
  std::optional<store::AccountProfile> stored;
  // Twice at most: the entry may be evicted between the store read and the
  // update that uses it.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<store::AccountProfile> to_write;
    bool done = cache_.update(account, [&](Entry& e) {
      if (!e.loaded) {
        if (!stored) return false;
        e.profile = *stored;
        e.loaded = true;
      }
      if (f(e.profile, e.persisted)) to_write = e.profile;
      return true;
    });
    if (done) return to_write ? store_.put_profile(account, std::move(*to_write)) : 0;
    auto r = store_.profile(account);
    if (!r) return r.error();
    stored = std::move(*r);
  }
  return make_error("store_read_failed", "profile of " + account + " evicted while loading");
}

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_PROFILE_CACHE_H_
