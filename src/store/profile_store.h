#ifndef MAMORI_STORE_PROFILE_STORE_H_
#define MAMORI_STORE_PROFILE_STORE_H_

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
// Writes are queued and return a ticket of the store's commit sequence at
// once; reads see every committed write and fail with `store_read_failed`.
// Thread-safe: any method from any thread.
class ProfileStore {
 public:
  virtual ~ProfileStore() = default;

  // Replaces the account's profile. The profile is encoded before this
  // returns: the caller keeps it.
  virtual WriteTicket put_profile(std::string account, const AccountProfile& profile) = 0;
  // The account's profile; an empty one when it has none.
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
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_PROFILE_STORE_H_
