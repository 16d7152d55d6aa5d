#include "notify/once_records.h"

namespace mamori::notify {

OnceRecords::OnceRecords(store::RecordStore& records, store::Commits& commits)
    : records_(records), commits_(commits) {}

Result<OnceRecords::Claim> OnceRecords::claim(const std::string& key, const std::string& account,
                                              TimePoint now) {
  Claim c;
  {
    std::lock_guard lock(mu_);
    if (pending_.contains(key)) return Claim{};
    auto claimed = records_.claim_owner_action(key, account, now);
    if (!claimed) return claimed.error();
    if (!*claimed) return Claim{};
    c.first = true;
    c.ticket = **claimed;
    if (c.ticket == 0) return c;  // committed already
    pending_.insert(key);
  }
  // Once committed the store answers for it (or, failed, it was never done).
  // (Outside the lock: the callback may run at once, on this thread.)
  commits_.on_committed(c.ticket, [this, key](const Status&) {
    std::lock_guard l(mu_);
    pending_.erase(key);
  });
  return c;
}

Result<OnceRecords::Claim> OnceRecords::claim_with(const std::string& key,
                                                   const std::string& account, TimePoint now,
                                                   const std::function<store::WriteSpan()>& act,
                                                   store::WriteSpan& writes) {
  {
    std::lock_guard lock(mu_);
    if (!pending_.insert(key).second) return Claim{};
  }
  Result<std::optional<store::WriteTicket>> claimed = std::optional<store::WriteTicket>();
  commits_.together([&] {
    claimed = records_.claim_owner_action_for_writes(key, account, now);
    if (!claimed || !*claimed) return;
    writes.add(**claimed);
    writes.add(act());
  });
  if (!claimed || !*claimed || **claimed == 0) {
    std::lock_guard lock(mu_);
    pending_.erase(key);
    if (!claimed) return claimed.error();
    return Claim{!!*claimed, claimed->value_or(0)};
  }
  // The claim and the action commit together: once that commit ends, the
  // store answers for the key (or, failed, it was never claimed).
  commits_.on_committed(**claimed, [this, key](const Status&) {
    std::lock_guard l(mu_);
    pending_.erase(key);
  });
  return Claim{true, **claimed};
}

}  // namespace mamori::notify
