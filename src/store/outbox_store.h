#ifndef MAMORI_STORE_OUTBOX_STORE_H_
#define MAMORI_STORE_OUTBOX_STORE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/commits.h"
#include "store/records.h"

namespace mamori::store {

// The outbox: owner notices and webhook alerts, each delivered at least
// once. An item is queued in the same commit as the event that caused it,
// then taken by the dispatcher (notify/dispatcher.h) until it is delivered
// or given up.
//
// Writes are queued and return a ticket of the store's commit sequence at
// once; reads see every committed write and fail with `store_read_failed`.
// Thread-safe: any method from any thread.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  virtual WriteTicket enqueue_outbox(OutboxItem item) = 0;
  // Marks a pending item delivered. Changes nothing for an unknown id.
  virtual WriteTicket outbox_delivered(std::string id, TimePoint when) = 0;
  // Counts a failed attempt of a pending item and schedules the next one.
  virtual WriteTicket outbox_retry(std::string id, TimePoint next_attempt, std::string error) = 0;
  // Gives a pending item up (it stays in the store, state failed, until pruned).
  virtual WriteTicket outbox_failed(std::string id, TimePoint when, std::string error) = 0;
  // Deletes delivered and failed items whose `done` is before `before`;
  // pending items are never pruned.
  virtual WriteTicket prune_outbox(TimePoint before) = 0;

  // Pending items with next_attempt <= now, earliest first, at most `limit`.
  virtual Result<std::vector<OutboxItem>> due_outbox(TimePoint now, std::size_t limit) = 0;
  virtual Result<OutboxCounts> outbox_counts() = 0;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_OUTBOX_STORE_H_
