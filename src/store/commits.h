#ifndef MAMORI_STORE_COMMITS_H_
#define MAMORI_STORE_COMMITS_H_

#include <cstdint>
#include <functional>

#include "core/result.h"

namespace mamori::store {

// Sequence number of a queued write. Writes are applied in the order they
// were queued; a ticket is committed when it and every earlier write are.
using WriteTicket = std::uint64_t;

// The writes one answer depends on: every ticket from `first` to `last`
// (other callers' writes in between included, so a failure among them fails
// the span too: an answer errs on the side of "not stored"). Empty: nothing
// was written.
struct WriteSpan {
  WriteTicket first = 0, last = 0;

  void add(WriteTicket t) {
    if (t == 0) return;
    if (first == 0 || t < first) first = t;
    if (t > last) last = t;
  }
  void add(const WriteSpan& s) {
    add(s.first);
    add(s.last);
  }
  bool empty() const { return last == 0; }
};

// The commit sequence of a durable store. Every write of every role
// (ActivityLog, ProfileStore, RecordStore, OutboxStore) is queued to a
// single writer that commits them in groups, and returns at once with a
// ticket of this one sequence: the span of one answer may cover an activity
// entry, a profile and a lock. A caller that must not answer before its
// writes are durable waits for the last ticket (wait), registers a callback
// (on_committed) or asks status() of the span once committed() has passed
// it. "Durable" means it survives kill -9 of the process. Reads of every
// role see every committed write.
//
// The roles do not reach this interface themselves: a consumer that waits
// for its writes is given a Commits& beside the roles it writes through
// (usually the same object, the Store). So each role stays a plain set of
// operations without state of its own, the aggregate inherits the sequence
// once (no diamond), and a backend made of several parts (a journal beside
// a relational database) still has one sequence for all of them.
//
// Thread-safe: any method from any thread.
class Commits {
 public:
  virtual ~Commits() = default;

  // Blocks until `t` is committed and the on_committed callbacks of its
  // commit have run. Returns the error of the commit that carried it (e.g.
  // disk full), if any.
  virtual Status wait(WriteTicket t) = 0;
  // Calls `done` once `t` is committed, on the writer's thread or at once on
  // the caller's if it already is. `done` must not block.
  virtual void on_committed(WriteTicket t, std::function<void(const Status&)> done) = 0;
  // The highest ticket whose commit has finished, successfully or not: a
  // ticket at or below it is durable unless status() says otherwise.
  virtual WriteTicket committed() const = 0;
  // Whether every write of `span` was stored: ok, or the error of a commit
  // that failed (code `store_write_failed`). Cheap when no commit failed
  // lately (no lock). REQUIRES: span.last <= committed().
  virtual Status status(const WriteSpan& span) const = 0;
  // Registers `fn`, called on the writer's thread after every commit that
  // failed, with the tickets it carried and its error, before the waiters of
  // those writes hear of it. `fn` must not block, write to the store or
  // remove a listener. Returns the id that removes it.
  virtual std::uint64_t on_failed_commit(
      std::function<void(const WriteSpan&, const Error&)> fn) = 0;
  // Once this returns, the listener is not running and is not called again.
  virtual void remove_failure_listener(std::uint64_t id) = 0;
  // Runs `queue_writes`, which queues writes of any role through this
  // store, so that all of them are committed in one batch: every one or
  // none (an operator's action and its audit record). Other callers' writes
  // queued meanwhile may join that batch; none of them waits for more than
  // `queue_writes` takes, which must only queue (never wait for a commit,
  // nor do I/O). Not reentrant.
  virtual void together(const std::function<void()>& queue_writes) = 0;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_COMMITS_H_
