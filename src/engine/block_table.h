#ifndef MAMORI_ENGINE_BLOCK_TABLE_H_
#define MAMORI_ENGINE_BLOCK_TABLE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/hash.h"
#include "core/ip_address.h"
#include "state/sharded_map.h"
#include "store/records.h"

namespace mamori::engine {

// What a block applies to.
enum class BlockScope : std::uint8_t {
  kIp,            // every attempt from one IP (deny)
  kIpDelay,       // every attempt from one IP (delay)
  kNetwork,       // every attempt from a /24 or /64
  kAccountIp,     // one account from one IP
  kPwhash,        // any attempt carrying one password hash
  kAccount,       // one account from anywhere (challenge)
  kNetworkDelay,  // every attempt from a /24 or /64 (delay)
  kFingerprint,   // any login carrying one client fingerprint (distributed_stuffing)
};
std::string_view to_string(BlockScope s);
std::optional<BlockScope> block_scope_from_string(std::string_view s);

// Identifies a block without allocating: the scope, an address (IP or
// network) and a 64-bit hash of the account or password hash.
struct BlockKey {
  BlockScope scope = BlockScope::kIp;
  IpAddress ip;
  std::uint64_t h = 0;

  static BlockKey ip_deny(const IpAddress& ip) { return {BlockScope::kIp, ip, 0}; }
  static BlockKey ip_delay(const IpAddress& ip) { return {BlockScope::kIpDelay, ip, 0}; }
  static BlockKey network(const IpAddress& ip) {
    return {BlockScope::kNetwork, ip.aggregate_network(), 0};
  }
  static BlockKey network_delay(const IpAddress& ip) {
    return {BlockScope::kNetworkDelay, ip.aggregate_network(), 0};
  }
  static BlockKey account_ip(std::string_view account, const IpAddress& ip) {
    return {BlockScope::kAccountIp, ip, hash_bytes(account)};
  }
  static BlockKey pwhash(std::string_view pwhash) {
    return {BlockScope::kPwhash, IpAddress(), hash_bytes(pwhash, 1)};
  }
  static BlockKey account(std::string_view account) {
    return {BlockScope::kAccount, IpAddress(), hash_bytes(account)};
  }
  // `fingerprint` as agent_fingerprint_of() or client_fingerprint_key() give it.
  static BlockKey fingerprint(std::string_view fingerprint) {
    return {BlockScope::kFingerprint, IpAddress(), hash_bytes(fingerprint, 2)};
  }

  friend bool operator==(const BlockKey& a, const BlockKey& b) {
    return a.scope == b.scope && a.h == b.h && a.ip == b.ip;
  }
};

struct BlockKeyHash {
  std::size_t operator()(const BlockKey& k) const {
    return hash_combine(k.ip.hash(), k.h + std::uint64_t(k.scope));
  }
};

// The blocks the engine set on its own, each until a time. Never evicted (an
// active block must not be forgotten under memory pressure); expired blocks
// are dropped by sweep(). Thread-safe: sharded, one mutex per shard. Each
// scope's blocks are counted, so a lookup in a scope that has none (most
// scopes, most of the time) takes no lock and touches no table. The keys
// held are counted too by a slice of their hash (a counting filter of
// kFilterSlots counters, 32 KB): a lookup of a key whose counter is 0 (most
// lookups while blocks are few: every event looks up its IP, network and
// account+IP) takes no lock either and reads one counter. With tens of
// thousands of blocks most counters are set and lookups go to the table.
class BlockTable {
 public:
  BlockTable() = default;
  BlockTable(const BlockTable&) = delete;
  BlockTable& operator=(const BlockTable&) = delete;

  // The block for `key` if active at `now`.
  std::optional<store::Block> find(const BlockKey& key, TimePoint now) const;
  // What deciding an event reads of the block for `key`, if active at
  // `now`: copied without allocating (find() copies the block's strings).
  struct Hit {
    Action action = Action::kDeny;
    Reason reason = Reason::kBruteForce;
    TimePoint until{};
    bool incident = false;  // the block belongs to an incident (find() gives its id)
  };
  std::optional<Hit> hit(const BlockKey& key, TimePoint now) const;
  // Sets or extends a block. An existing block's incident id is kept when the
  // new one has none, and its end is never moved earlier.
  // Returns the block as stored; `before` (when given) gets the block it
  // replaced, if any.
  store::Block put(const BlockKey& key, store::Block block,
                   std::optional<store::Block>* before = nullptr);
  // A block read from the store at start: as put(), without returning it
  // (nothing copied). reserve() first for many.
  void load(const BlockKey& key, store::Block block);
  void reserve(std::size_t blocks) { map_.reserve(blocks); }
  // Undoes a change whose write was not stored: sets `key`'s block back to
  // `before` (none: no block) if it is still `after`.
  void revert(const BlockKey& key, const std::optional<store::Block>& after,
              const std::optional<store::Block>& before);
  bool erase(const BlockKey& key);
  // Removes the blocks whose key hash is `h` in `scope` (e.g. all of one
  // account's per-IP blocks). Returns the removed blocks.
  std::vector<store::Block> erase_hash(BlockScope scope, std::uint64_t h);
  // Active blocks, soonest-ending last.
  std::vector<store::Block> active(TimePoint now) const;
  // Calls f(key, block) for each active block of `scope`, one shard locked at
  // a time (f must not call back into the table).
  template <typename F>
  void for_each_active(BlockScope scope, TimePoint now, F&& f) const {
    if (size(scope) == 0) return;
    map_.for_each([&](const BlockKey& k, const store::Block& b) {
      if (k.scope == scope && b.until > now) f(k, b);
    });
  }
  // Calls f(key, block) for each active block of every scope, in one pass
  // over the table, one shard locked at a time (f must not call back into
  // the table).
  template <typename F>
  void for_each_active(TimePoint now, F&& f) const {
    map_.for_each([&](const BlockKey& k, const store::Block& b) {
      if (b.until > now) f(k, b);
    });
  }
  // Goes up on every change but expiry (put, revert, erase): a reader that
  // mirrors the blocks elsewhere compares it to know whether to look again.
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::size_t sweep(TimePoint now);
  std::size_t size() const;
  // Blocks held in `scope` (active or not yet swept).
  std::size_t size(BlockScope scope) const;

 private:
  static constexpr std::size_t kScopeCount = 8;
  static constexpr int kFilterBits = 13;
  static constexpr std::size_t kFilterSlots = std::size_t{1} << kFilterBits;
  std::atomic<std::int64_t>& count(BlockScope scope) const {
    return counts_[static_cast<std::size_t>(scope)];
  }
  // The filter's counter of `key`: its hash's top bits (the map's shards
  // take the low ones).
  std::atomic<std::uint32_t>& held(const BlockKey& key) const {
    return held_[BlockKeyHash{}(key) >> (64 - kFilterBits)];
  }
  // A key enters or leaves the map (under its shard's lock): both counts.
  void added(const BlockKey& key) const {
    count(key.scope).fetch_add(1, std::memory_order_relaxed);
    held(key).fetch_add(1, std::memory_order_relaxed);
  }
  void removed(const BlockKey& key) const {
    count(key.scope).fetch_sub(1, std::memory_order_relaxed);
    held(key).fetch_sub(1, std::memory_order_relaxed);
  }
  // False when no block of `key` can be held (its scope or its counter is 0).
  bool may_hold(const BlockKey& key) const {
    return count(key.scope).load(std::memory_order_relaxed) != 0 &&
           held(key).load(std::memory_order_relaxed) != 0;
  }

  state::ShardedMap<BlockKey, store::Block, BlockKeyHash> map_;
  // Per scope, changed under the shard lock of the entry added or removed.
  mutable std::array<std::atomic<std::int64_t>, kScopeCount> counts_{};
  // Keys held per counter (see above), changed as counts_ are.
  mutable std::array<std::atomic<std::uint32_t>, kFilterSlots> held_{};
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_BLOCK_TABLE_H_
