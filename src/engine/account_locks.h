#ifndef MAMORI_ENGINE_ACCOUNT_LOCKS_H_
#define MAMORI_ENGINE_ACCOUNT_LOCKS_H_

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/hash.h"
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
  std::vector<std::pair<std::string, store::LockInfo>> all() const;
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, store::LockInfo> map;
  };
  Shard& shard_for(std::string_view a) { return shards_[hash_bytes(a) % kShards]; }
  const Shard& shard_for(std::string_view a) const { return shards_[hash_bytes(a) % kShards]; }

  std::array<Shard, kShards> shards_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_ACCOUNT_LOCKS_H_
