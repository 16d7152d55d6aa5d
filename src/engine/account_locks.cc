#include "engine/account_locks.h"

namespace mamori::engine {

std::optional<store::LockInfo> AccountLocks::find(std::string_view account) const {
  if (map_.size() == 0) return std::nullopt;
  return map_.find(std::string(account));
}

void AccountLocks::put(const std::string& account, store::LockInfo lock_info) {
  map_.put(account, std::move(lock_info));
}

bool AccountLocks::erase(const std::string& account) { return map_.erase(account); }

void AccountLocks::revert(const std::string& account, const std::optional<store::LockInfo>& after,
                          const std::optional<store::LockInfo>& before) {
  map_.upsert(account, [&](std::optional<store::LockInfo>& slot) {
    if (slot == after) slot = before;
  });
}

std::vector<std::pair<std::string, store::LockInfo>> AccountLocks::all() const {
  std::vector<std::pair<std::string, store::LockInfo>> out;
  map_.for_each([&](const std::string& a, const store::LockInfo& l) { out.emplace_back(a, l); });
  return out;
}

std::size_t AccountLocks::size() const { return map_.size(); }

}  // namespace mamori::engine
