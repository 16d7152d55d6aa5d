#ifndef MAMORI_STATE_SHARD_UTIL_H_
#define MAMORI_STATE_SHARD_UTIL_H_

#include <cstddef>
#include <mutex>

namespace mamori::state {

// The number of entries over all shards, each with a `mu` and a `map`;
// locks one shard at a time, so the sum is not a snapshot.
template <typename Shards>
std::size_t total_entries(const Shards& shards) {
  std::size_t n = 0;
  for (const auto& s : shards) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace mamori::state

#endif  // MAMORI_STATE_SHARD_UTIL_H_
