#ifndef MAMORI_STORE_PROFILE_STORE_H_
#define MAMORI_STORE_PROFILE_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/commits.h"
#include "store/records.h"

namespace mamori::store {

// Account profiles: the devices, countries, networks and last place an
// account logged in from, one whole record per account, replaced on every
// change. Read on the login path for accounts not cached in memory
// (engine/profile_cache.h), so a read of an account that never had one
// should be cheap. Profiles are never deleted.
//
// Versions: every profile read or written carries the version of the
// stored write it is (AccountProfile::version). A write replaces the stored
// profile only if that is still the version the copy was built on; a store
// shared by several nodes (PostgreSQL) that finds another node's write in
// between reads that one back in its writer, has the two merged
// (on_profile_conflict) and stores the result, so no node's update is
// lost. A store of one node has no other writer: it stores every write as
// it is.
//
// Writes are queued and return a ticket of the store's commit sequence at
// once; reads see every committed write and fail with `store_read_failed`.
// Thread-safe: any method from any thread.
class ProfileStore {
 public:
  virtual ~ProfileStore() = default;

  // Replaces the account's profile, built on the stored version
  // profile.version (see above), and sets profile.version to the version
  // this write stores (the next write of the same copy builds on it). The
  // profile is encoded before this returns: the caller keeps it.
  virtual WriteTicket put_profile(std::string account, AccountProfile& profile) = 0;
  // The account's profile with its version; an empty one (version 0) when
  // it has none.
  virtual Result<AccountProfile> profile(std::string_view account) = 0;
  // The profiles of `accounts`, in their order (an empty one for an account
  // that has none). Here one read each; a store across a network overrides
  // it with one round trip for all (the login path's batched reads).
  virtual Result<std::vector<AccountProfile>> profiles(const std::vector<std::string>& accounts) {
    std::vector<AccountProfile> out;
    out.reserve(accounts.size());
    for (const std::string& a : accounts) {
      auto p = profile(a);
      if (!p) return p.error();
      out.push_back(std::move(*p));
    }
    return out;
  }

  // What the store does when a write meets another node's: `merge(stored,
  // mine)` returns the profile to store in place of both (called on the
  // writer's thread; must not block), and `merged(account, version)` is
  // called once the merged profile is committed, `version` being the one
  // put_profile() gave `mine`: the caller's copy of that version lacks what
  // the other node wrote. Empty functions unset them (a conflict then
  // stores `mine` over the other's). Once this returns, the previous
  // functions are not running and are not called again. Stores of one node
  // never call them.
  using ProfileMerge =
      std::function<AccountProfile(const AccountProfile& stored, const AccountProfile& mine)>;
  using ProfileMerged = std::function<void(const std::string& account, std::uint64_t version)>;
  virtual void on_profile_conflict(ProfileMerge merge, ProfileMerged merged) = 0;
  // True when the profiles live in this process's memory only (the store in
  // memory): nothing survives the process and no other node reads them, so
  // a cache in front may write a profile when it drops its copy rather than
  // on every change. Stores that keep them return false.
  virtual bool profiles_in_process() const { return false; }
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_PROFILE_STORE_H_
