#ifndef MAMORI_ENGINE_LISTS_H_
#define MAMORI_ENGINE_LISTS_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/ip_address.h"
#include "core/result.h"
#include "state/network_table.h"
#include "store/commits.h"
#include "store/record_store.h"
#include "store/records.h"

namespace mamori::engine {

// A list target, parsed: an IP, a CIDR, `account:NAME` or `country:CC`.
struct ListTarget {
  enum class Kind : std::uint8_t { kNetwork, kAccount, kCountry } kind = Kind::kNetwork;
  Cidr network;            // kNetwork (a single IP is a full-length prefix)
  std::string account;     // kAccount, normalized
  std::string country;     // kCountry, upper-case ISO 3166 alpha-2
  std::string canonical;   // the canonical text form stored and shown
};

// Parses and normalizes a target. Fails with `invalid_target`.
Result<ListTarget> parse_list_target(std::string_view text);

// An immutable index of list entries for fast matching: addresses and
// networks in a NetworkTable (a binary search, whatever the prefix lengths),
// accounts and countries in hash maps. Thread-safe (read-only).
class ListIndex {
 public:
  explicit ListIndex(std::vector<store::ListEntry> entries);

  // The first entry of `kind` active at `now` that matches; nullptr if none.
  const store::ListEntry* match_ip(store::ListKind kind, const IpAddress& ip, TimePoint now) const;
  const store::ListEntry* match_account(store::ListKind kind, std::string_view account,
                                        TimePoint now) const;
  const store::ListEntry* match_country(store::ListKind kind, std::string_view country,
                                        TimePoint now) const;
  const std::vector<store::ListEntry>& entries() const { return entries_; }

 private:
  struct PerKind {
    state::NetworkTable<std::size_t> networks;  // -> entry index
    std::unordered_map<std::string, std::size_t> accounts, countries;
  };
  const store::ListEntry* active(std::size_t i, TimePoint now) const;

  std::vector<store::ListEntry> entries_;
  PerKind kinds_[2];
};

// The allow and deny lists: the durable copy in the store and a ListIndex
// snapshot that readers use without locks. Changes (rare) rebuild the
// snapshot. A change whose write the store fails to commit is taken back
// from the snapshot, so the lists never hold what a restart would not.
// Thread-safe. Must outlive the store's pending writes; `commits` tells it
// of their outcome.
class Lists {
 public:
  Lists(store::RecordStore& store, store::Commits& commits);

  Status load();
  std::shared_ptr<const ListIndex> index() const { return index_.load(); }

  // Adds an entry; `ttl` zero means no expiry. Fails with `invalid_target`.
  Result<store::ListEntry> add(store::ListKind kind, std::string_view target, std::string reason,
                               Duration ttl, TimePoint now, std::string id,
                               store::WriteTicket& ticket);
  // Fails with `not_found`.
  Status remove(std::string_view id, store::WriteTicket& ticket);
  // Active entries of `kind` (both when nullopt), newest first.
  std::vector<store::ListEntry> entries(std::optional<store::ListKind> kind, TimePoint now) const;
  // Drops expired entries from the index and the store.
  std::size_t sweep(TimePoint now);

 private:
  // Sets the snapshot back when a change's write failed: drops the entry
  // `id` added, or puts back the entry `removed`.
  void undo_if_not_stored(store::WriteTicket t, std::string id,
                          std::optional<store::ListEntry> removed);

  store::RecordStore& store_;
  store::Commits& commits_;
  std::mutex write_mu_;
  std::atomic<std::shared_ptr<const ListIndex>> index_;
};

}  // namespace mamori::engine

#endif  // MAMORI_ENGINE_LISTS_H_
