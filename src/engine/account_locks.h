#ifndef MAMORI_ENGINE_ACCOUNT_LOCKS_H_
#define MAMORI_ENGINE_ACCOUNT_LOCKS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/sharded_map.h"
#include "store/records.h"

namespace mamori::engine {

// The locked accounts, in memory for the hot path (every attempt checks its
// account) and loaded from the store at start; the store keeps the durable
// copy. Never evicted. Thread-safe: sharded, one mutex per shard.
class AccountLocks {
 public:
  std::optional<store::LockInfo> find(std::string_view account) const;
  void put(const std::string& account, store::LockInfo lock);
  bool erase(const std::string& account);
  // Undoes a change whose write was not stored: sets the account's lock back
  // to `before` (none: unlocked) if it is still `after`; a later change is
  // left alone.
  void revert(const std::string& account, const std::optional<store::LockInfo>& after,
              const std::optional<store::LockInfo>& before);
  std::vector<std::pair<std::string, store::LockInfo>> all() const;
  std::size_t size() const;

 private:
  state::ShardedMap<std::string, store::LockInfo> map_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_ACCOUNT_LOCKS_H_
