#ifndef MAMORI_NOTIFY_ONCE_RECORDS_H_
#define MAMORI_NOTIFY_ONCE_RECORDS_H_

#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>

#include "core/clock.h"
#include "core/result.h"
#include "store/commits.h"
#include "store/record_store.h"

namespace mamori::notify {

// Owner actions that may happen once: a "this wasn't me" link that acted,
// an incident notice sent to an account. Backed by the store's
// owner_action records, claimed through RecordStore::claim_owner_action, so
// that of two nodes sharing a store exactly one acts; claims whose writes
// are still queued are held here until their commit ends, so two claims of
// one key at once on this node (two clicks, two notify-owners calls) let
// exactly one through. A claim whose write fails is forgotten (the key may
// be claimed again); a claim the store committed at once (a shared
// database) stays made even if the action's own writes then fail, unless
// it was made with claim_with(), whose record commits with the action.
// Thread-safe; the stores must outlive it.
class OnceRecords {
 public:
  OnceRecords(store::RecordStore& records, store::Commits& commits);
  OnceRecords(const OnceRecords&) = delete;
  OnceRecords& operator=(const OnceRecords&) = delete;

  struct Claim {
    bool first = false;             // false: done before (nothing written)
    store::WriteTicket ticket = 0;  // the record's write, when first
  };
  // Claims `key` for `account`. Fails with the store's read error.
  Result<Claim> claim(const std::string& key, const std::string& account, TimePoint now);

  // Claims `key` for `account` and, when first, runs `act`, which queues the
  // action's writes (it must only queue: Commits::together), so that what
  // keeps the claim and those writes commit in one batch, one transaction
  // (RecordStore::claim_owner_action_for_writes): a failed commit leaves
  // the key unclaimed and the action undone, and a later claim acts again.
  // Of two nodes sharing a store claiming one key at once, one acts.
  // `writes` gets the claim's and the action's writes. Fails with the
  // store's error, nothing done.
  Result<Claim> claim_with(const std::string& key, const std::string& account, TimePoint now,
                           const std::function<store::WriteSpan()>& act, store::WriteSpan& writes);

 private:
  store::RecordStore& records_;
  store::Commits& commits_;
  std::mutex mu_;
  std::unordered_set<std::string> pending_;  // guarded by mu_
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_ONCE_RECORDS_H_
