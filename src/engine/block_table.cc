#include "engine/block_table.h"

#include <algorithm>

namespace mamori::engine {

namespace {
constexpr std::array<std::string_view, 6> kScopes = {"ip",         "ip_delay", "network",
                                                     "account_ip", "pwhash",   "account"};
}  // namespace

std::string_view to_string(BlockScope s) { return kScopes[static_cast<std::size_t>(s)]; }

std::optional<BlockScope> block_scope_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kScopes.size(); ++i)
    if (kScopes[i] == s) return static_cast<BlockScope>(i);
  return std::nullopt;
}

std::optional<store::Block> BlockTable::find(const BlockKey& key, TimePoint now) const {
  const Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end() || it->second.until <= now) return std::nullopt;
  return it->second;
}

store::Block BlockTable::put(const BlockKey& key, store::Block block) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  auto [it, inserted] = s.map.try_emplace(key, block);
  if (!inserted) {
    store::Block& old = it->second;
    const bool old_active = old.until > block.since;
    if (block.incident_id.empty() && old_active) block.incident_id = old.incident_id;
    if (old_active) {
      block.since = std::min(block.since, old.since);
      block.until = std::max(block.until, old.until);
    }
    old = std::move(block);
  }
  return it->second;
}

bool BlockTable::erase(const BlockKey& key) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  return s.map.erase(key) > 0;
}

std::vector<store::Block> BlockTable::erase_hash(BlockScope scope, std::uint64_t h) {
  std::vector<store::Block> removed;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    std::erase_if(s.map, [&](const auto& kv) {
      if (kv.first.scope != scope || kv.first.h != h) return false;
      removed.push_back(kv.second);
      return true;
    });
  }
  return removed;
}

std::vector<store::Block> BlockTable::active(TimePoint now) const {
  std::vector<store::Block> out;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    for (const auto& [k, b] : s.map)
      if (b.until > now) out.push_back(b);
  }
  std::sort(out.begin(), out.end(),
            [](const store::Block& a, const store::Block& b) { return a.until > b.until; });
  return out;
}

std::size_t BlockTable::sweep(TimePoint now) {
  std::size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += std::erase_if(s.map, [&](const auto& kv) { return kv.second.until <= now; });
  }
  return n;
}

std::size_t BlockTable::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace mamori::engine
