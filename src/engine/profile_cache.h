#ifndef MAMORI_ENGINE_PROFILE_CACHE_H_
#define MAMORI_ENGINE_PROFILE_CACHE_H_

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

 private:
  struct Entry {
    store::AccountProfile profile;
    std::size_t memory_bytes() const;
  };

  store::Store& store_;
  state::ShardedLru<std::string, Entry> cache_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_PROFILE_CACHE_H_
