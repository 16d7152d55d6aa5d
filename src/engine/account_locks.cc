#include "engine/account_locks.h"

namespace mamori::engine {

std::optional<store::LockInfo> AccountLocks::find(std::string_view account) const {
  const Shard& s = shard_for(account);
  std::lock_guard lock(s.mu);
  if (s.map.empty()) return std::nullopt;
  auto it = s.map.find(std::string(account));
  if (it == s.map.end()) return std::nullopt;
  return it->second;
}

void AccountLocks::put(const std::string& account, store::LockInfo lock_info) {
  Shard& s = shard_for(account);
  std::lock_guard lock(s.mu);
  s.map[account] = std::move(lock_info);
}

bool AccountLocks::erase(const std::string& account) {
  Shard& s = shard_for(account);
  std::lock_guard lock(s.mu);
  return s.map.erase(account) > 0;
}

std::vector<std::pair<std::string, store::LockInfo>> AccountLocks::all() const {
  std::vector<std::pair<std::string, store::LockInfo>> out;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    for (const auto& kv : s.map) out.push_back(kv);
  }
  return out;
}

std::size_t AccountLocks::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace mamori::engine
