#include "engine/block_table.h"

#include <algorithm>

namespace mamori::engine {

namespace {
constexpr std::array<std::string_view, 8> kScopes = {
    "ip", "ip_delay", "network", "account_ip", "pwhash", "account", "network_delay", "fingerprint"};
}  // namespace

std::string_view to_string(BlockScope s) { return kScopes[static_cast<std::size_t>(s)]; }

std::optional<BlockScope> block_scope_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kScopes.size(); ++i)
    if (kScopes[i] == s) return static_cast<BlockScope>(i);
  return std::nullopt;
}

std::optional<store::Block> BlockTable::find(const BlockKey& key, TimePoint now) const {
  if (!may_hold(key)) return std::nullopt;
  auto b = map_.find(key);
  if (!b || b->until <= now) return std::nullopt;
  return b;
}

namespace {

// `block` as it replaces `slot`: an active block's incident id is kept when
// the new one has none, and its end is never moved earlier.
void merge(std::optional<store::Block>& slot, store::Block&& block) {
  if (slot) {
    const bool old_active = slot->until > block.since;
    if (block.incident_id.empty() && old_active) block.incident_id = std::move(slot->incident_id);
    if (old_active) {
      block.since = std::min(block.since, slot->since);
      block.until = std::max(block.until, slot->until);
    }
  }
  slot = std::move(block);
}

}  // namespace

std::optional<BlockTable::Hit> BlockTable::hit(const BlockKey& key, TimePoint now) const {
  if (!may_hold(key)) return std::nullopt;
  std::optional<Hit> h;
  map_.read(key, [&](const store::Block& b) {
    if (b.until > now) h = Hit{b.action, b.reason, b.until, !b.incident_id.empty()};
  });
  return h;
}

store::Block BlockTable::put(const BlockKey& key, store::Block block,
                             std::optional<store::Block>* before) {
  return *map_.upsert(key, [&](std::optional<store::Block>& slot) {
    if (before != nullptr) *before = slot;
    if (!slot) added(key);
    merge(slot, std::move(block));
    version_.fetch_add(1, std::memory_order_release);
  });
}

void BlockTable::load(const BlockKey& key, store::Block block) {
  map_.update(key, [&](std::optional<store::Block>& slot) {
    if (!slot) added(key);
    merge(slot, std::move(block));
    version_.fetch_add(1, std::memory_order_release);
  });
}

void BlockTable::revert(const BlockKey& key, const std::optional<store::Block>& after,
                        const std::optional<store::Block>& before) {
  map_.upsert(key, [&](std::optional<store::Block>& slot) {
    if (slot != after) return;
    if (slot && !before) removed(key);
    if (!slot && before) added(key);
    slot = before;
    version_.fetch_add(1, std::memory_order_release);
  });
}

bool BlockTable::erase(const BlockKey& key) {
  if (!map_.erase(key)) return false;
  removed(key);
  version_.fetch_add(1, std::memory_order_release);
  return true;
}

std::vector<store::Block> BlockTable::erase_hash(BlockScope scope, std::uint64_t h) {
  std::vector<store::Block> erased;
  map_.erase_if(
      [&](const BlockKey& k, const store::Block&) { return k.scope == scope && k.h == h; },
      [&](const BlockKey& k, const store::Block& b) {
        removed(k);
        erased.push_back(b);
      });
  if (!erased.empty()) version_.fetch_add(1, std::memory_order_release);
  return erased;
}

std::vector<store::Block> BlockTable::active(TimePoint now) const {
  std::vector<store::Block> out;
  map_.for_each([&](const BlockKey&, const store::Block& b) {
    if (b.until > now) out.push_back(b);
  });
  std::sort(out.begin(), out.end(),
            [](const store::Block& a, const store::Block& b) { return a.until > b.until; });
  return out;
}

std::size_t BlockTable::sweep(TimePoint now) {
  return map_.erase_if([&](const BlockKey&, const store::Block& b) { return b.until <= now; },
                       [&](const BlockKey& k, const store::Block&) { removed(k); });
}

std::size_t BlockTable::size() const { return map_.size(); }

std::size_t BlockTable::size(BlockScope scope) const {
  const std::int64_t n = count(scope).load(std::memory_order_relaxed);
  return n < 0 ? 0 : std::size_t(n);
}

}  // namespace mamori::engine
