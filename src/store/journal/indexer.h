#ifndef MAMORI_STORE_JOURNAL_INDEXER_H_
#define MAMORI_STORE_JOURNAL_INDEXER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"

namespace mamori::store::journal {

// The outcome of a journal's index passes, logged once per change: the
// first failed pass warns ("NAME: indexing failed; reads merge the tail
// meanwhile"), the first pass that works again says so. Every failed pass
// is counted. note() from one thread at a time (the indexer's); failures()
// from any.
class IndexOutcome {
 public:
  explicit IndexOutcome(std::string name) : name_(std::move(name)) {}

  // Records one pass's status and returns it.
  Status note(Status s);
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  const std::string name_;
  std::atomic<std::uint64_t> failures_{0};
  bool failing_ = false;
};

// When an indexer thread runs.
struct IndexerSchedule {
  // A pass this often (and at once after poke() or urge()).
  Duration every = std::chrono::seconds(1);
  // The lag bound: when no pass has begun for this long (real time, not
  // the owner's clock, which a replay moves by hours), a pass is late().
  Duration lag_bound = std::chrono::seconds(2);
  // The thread's name (at most 15 bytes, as /proc shows it).
  std::string name = "index";
};

// A journal's indexer thread: runs `pass` every `every`, or at once after
// poke() (a tail grew past its bound). The pass's status is the owner's
// business (see IndexOutcome). stop(), or destruction, waits for a pass in
// progress and ends the thread. Thread-safe.
//
// Scheduling. The thread runs as SCHED_IDLE: a request thread that becomes
// runnable on its core preempts it at once, so an index pass (the sort of a
// tail, a merge of runs, the fsync before a run) does not stand between a
// request and its answer; it runs on what the cores leave over. A core with
// nothing left over (every request thread busy) would starve it, and the
// tail would grow without bound (memory, and the merge every read does). So
// the lag bound: the owner's writer calls urge() when its tail is past its
// bound (urge()) or a pass is late() (hurry()), which raises the thread to
// SCHED_BATCH (an ordinary share of the core, without preempting at
// wake-up, as the store's writer) until a pass that began after the last
// such call ends.
//
// Leaving SCHED_IDLE takes CAP_SYS_NICE or an RLIMIT_NICE of at least 20
// (the systemd unit's LimitNICE=20). start() tries it on a short-lived
// thread first; where it is refused the indexer runs as SCHED_BATCH
// throughout, urge() only wakes it, and start() logs that once.
class IndexerThread {
 public:
  IndexerThread() = default;
  ~IndexerThread() { stop(); }
  IndexerThread(const IndexerThread&) = delete;
  IndexerThread& operator=(const IndexerThread&) = delete;

  // REQUIRES: not started before.
  void start(IndexerSchedule schedule, std::function<void()> pass);
  // A pass soon, at the thread's present priority.
  void poke();
  // At SCHED_BATCH until a pass that begins from now on has ended.
  void hurry();
  // hurry() and poke(): a pass soon, raised.
  void urge();
  // Whether no pass has begun for lag_bound. False when not running.
  bool late() const;
  void stop();

  // The thread's scheduling policy now (SCHED_IDLE, SCHED_BATCH; -1 when
  // not running), and how often it was raised from SCHED_IDLE so far.
  int policy() const;
  std::uint64_t raises() const { return raises_.load(std::memory_order_relaxed); }
  // Whether this process may raise a thread from SCHED_IDLE (probed once).
  static bool may_leave_idle();

 private:
  void loop(const std::function<void()>& pass);
  // REQUIRES: mu_ held.
  void set_policy_locked(int policy);

  IndexerSchedule schedule_;
  bool idle_ = false;  // set by start(): the thread runs as SCHED_IDLE when not urged
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;             // guarded by mu_
  bool soon_ = false;             // guarded by mu_
  bool raised_ = false;           // guarded by mu_: SCHED_BATCH for a hurry()
  std::uint64_t hurries_ = 0;     // guarded by mu_: hurry() calls
  std::uint64_t hurried_at_ = 0;  // guarded by mu_: hurries_ when the running pass began
  std::atomic<std::uint64_t> raises_{0};
  std::atomic<std::uint64_t> last_begun_ns_{0};  // monotonic_ns()
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace mamori::store::journal

#endif  // MAMORI_STORE_JOURNAL_INDEXER_H_
