#ifndef MAMORI_STORE_ACTIVITY_LOG_H_
#define MAMORI_STORE_ACTIVITY_LOG_H_

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/commits.h"
#include "store/records.h"

namespace mamori::store {

// The activity log: every login result, refused attempt and account event,
// per account, kept for the retention period (90 days by default). Appended
// to on the login path (the answer waits for the entry's commit, see
// Commits) and read by the owners' and operators' activity views and, once
// at start, to warm the hot windows. Entries are never changed; they leave
// only by prune_activity.
//
// Writes are queued and return a ticket of the store's commit sequence at
// once; reads see every committed entry and fail with `store_read_failed`.
// Thread-safe: any method from any thread.
class ActivityLog {
 public:
  virtual ~ActivityLog() = default;

  virtual WriteTicket append_activity(const ActivityRecord& r) = 0;
  // Deletes the entries older than `before`; a backend may keep some of
  // them a while longer (EmbeddedStore drops whole UTC days: those that end
  // at or before `before`).
  virtual WriteTicket prune_activity(TimePoint before) = 0;

  // Newest first, time >= since, at most `limit`.
  virtual Result<std::vector<ActivityRecord>> activity(std::string_view account, TimePoint since,
                                                       std::size_t limit) = 0;
  // Calls `fn` with each failed login result (type login_result, success
  // false) with time >= since, oldest first; of more than `limit`, with the
  // newest `limit`. Only time, account, type, ip and success are read, the
  // other fields are empty; the record passed is reused for the next row, and
  // the rows are not collected in memory (used to warm the hot windows at
  // start). Stops at the first row it cannot read and returns its error.
  virtual Status failed_logins_since(TimePoint since, std::size_t limit,
                                     const std::function<void(const ActivityRecord&)>& fn) = 0;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_ACTIVITY_LOG_H_
