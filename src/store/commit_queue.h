#ifndef MAMORI_STORE_COMMIT_QUEUE_H_
#define MAMORI_STORE_COMMIT_QUEUE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/deferred_wakes.h"
#include "core/result.h"
#include "store/commits.h"

namespace mamori::store {

// What a CommitQueue's writer publishes after each batch: which tickets are
// committed, the outcome of each (the runs of failed batches), the waiters,
// on_committed callbacks and failure listeners, the burst logging and the
// counters. The part of CommitQueue that does not depend on the type of its
// operations; CommitQueue holds one.
//
// Thread-safe, except publish(), which only the writer thread calls.
class CommitOutcomes {
 public:
  // `name` names the store in log lines ("store NAME: ..."). The last
  // `max_failed_runs` runs of failed batches are remembered (see CommitQueue).
  CommitOutcomes(std::string name, std::size_t max_failed_runs);
  CommitOutcomes(const CommitOutcomes&) = delete;
  CommitOutcomes& operator=(const CommitOutcomes&) = delete;

  // Commits' operations for tickets already checked against those issued
  // (CommitQueue rejects the others).
  Status wait(WriteTicket t);
  void on_committed(WriteTicket t, std::function<void(const Status&)> done);
  WriteTicket committed() const { return committed_.load(std::memory_order_acquire); }
  Status status(const WriteSpan& span) const;
  std::uint64_t on_failed_commit(std::function<void(const WriteSpan&, const Error&)> fn);
  void remove_failure_listener(std::uint64_t id);

  // On the writer thread, once the batch of tickets `first` to `last` is
  // committed or has failed with `status`: records its outcome, calls the
  // failure listeners (if it failed), marks it committed, runs its
  // on_committed callbacks, then wakes its waiters.
  void publish(WriteTicket first, WriteTicket last, const Status& status);

  std::uint64_t batches_committed() const { return batches_committed_.load(); }
  std::uint64_t batches_failed() const { return batches_failed_.load(); }
  std::uint64_t writes_failed() const { return writes_failed_.load(); }
  bool available() const { return last_commit_ok_.load(std::memory_order_relaxed); }
  // Appends the metrics (Prometheus text), `issued` being the writes queued.
  void render_metrics(std::string& out, WriteTicket issued) const;

 private:
  struct FailedRun {  // consecutive failed batches
    WriteTicket first = 0, last = 0;
    Error error;  // the first batch's
  };
  // The status of committed tickets `first` to `last`. REQUIRES: mu_ held.
  Status status_of_locked(WriteTicket first, WriteTicket last) const;
  // Records a failed batch, logs the start of a burst of failures (and once
  // a minute while it lasts); a successful batch ends the burst once no
  // commit has failed for kBurstQuiet, and logs what it cost. A disk that is
  // nearly full lets small commits through between failed big ones: that is
  // still one burst, one line. REQUIRES: on the writer thread.
  static constexpr std::chrono::seconds kBurstQuiet{5};
  void note_failure(WriteTicket first, WriteTicket last, const Error& error);
  void note_success();

  const std::string name_;
  const std::size_t max_failed_runs_;

  // Starts on a cache line of its own: the writer writes it on every
  // commit, request threads write the queue on every request.
  alignas(64) mutable std::mutex mu_;
  std::condition_variable done_cv_;  // wait()ers wait here for commits
  std::multimap<WriteTicket, std::function<void(const Status&)>> callbacks_;  // guarded by mu_
  std::deque<FailedRun> failures_;         // guarded by mu_, oldest first
  WriteTicket forgotten_through_ = 0;      // guarded by mu_: the last ticket of a run forgotten
  std::atomic<WriteTicket> committed_{0};  // written under mu_
  // The last ticket whose on_committed callbacks have all run (wait()
  // returns from then on); written under mu_.
  std::atomic<WriteTicket> settled_{0};
  // The last ticket of the newest failed batch, written under mu_: a span
  // after it was stored without asking failures_.
  std::atomic<WriteTicket> failed_through_{0};
  std::atomic<std::uint64_t> batches_committed_{0};
  std::atomic<std::uint64_t> batches_failed_{0};
  std::atomic<std::uint64_t> writes_failed_{0};
  std::mutex listeners_mu_;  // held while listeners run
  std::map<std::uint64_t, std::function<void(const WriteSpan&, const Error&)>>
      failure_listeners_;            // guarded by listeners_mu_
  std::uint64_t next_listener_ = 0;  // guarded by listeners_mu_
  std::atomic<bool> last_commit_ok_{true};
  // On the writer thread only: the callbacks of the batch being published
  // (kept for its capacity) and the current burst of failures.
  std::vector<std::function<void(const Status&)>> ready_;
  bool in_burst_ = false;
  std::uint64_t burst_batches_ = 0, burst_writes_ = 0;
  std::chrono::steady_clock::time_point burst_started_{}, burst_logged_{}, last_failure_{};
};

// The group commit of a durable backend: writes (`Op`, a backend's queued
// operation) are queued by any thread and get a ticket at once; one writer
// thread takes everything queued so far as one batch, has the backend apply
// it atomically (all of it or none), and publishes the outcome: waiters
// wake, on_committed callbacks run on the writer thread, and a failed
// batch fails its tickets (and only those) with the backend's error. The
// writer goes on with the next batch after a failure, so writes succeed
// again by themselves once the cause is gone. It implements the Commits
// interface's operations for the backend, which forwards to it.
//
// Runs of failed batches (consecutive failed batches make one run) are
// remembered for late wait(), on_committed() and status() calls, the last
// `max_failed_runs` of them; a ticket older than the oldest run remembered,
// if a run was forgotten, reads as failed (its outcome is no longer known).
//
// The writer runs as a SCHED_BATCH thread, and an event loop's thread wakes
// it at the end of its turn (core/deferred_wakes.h), so it commits what the
// request threads queued in one go rather than a batch per request.
//
// Thread-safe: every method may be called from any thread, except start()
// and stop(), which the backend calls once each, and the hooks, which run on
// the writer thread.
template <typename Op>
class CommitQueue {
 public:
  static constexpr std::size_t kMaxFailedRuns = 1024;

  // Applies `batch`, in order, atomically: every write or none. Returns ok,
  // or the error (code `store_write_failed`) that failed the whole batch.
  using ApplyBatch = std::function<Status(const std::vector<Op>& batch)>;
  // Runs on the writer thread after each batch has been published, before
  // the next is taken (a backend's housekeeping between transactions).
  using BetweenBatches = std::function<void()>;

  explicit CommitQueue(std::string name, std::size_t max_failed_runs = kMaxFailedRuns)
      : outcomes_(std::move(name), max_failed_runs) {}
  // Stops the writer (see stop()).
  ~CommitQueue() { stop(); }
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Starts the writer thread; writes queued before are committed from then
  // on. REQUIRES: not started before.
  void start(ApplyBatch apply, BetweenBatches between);
  // Commits everything queued, then stops the writer thread (nothing when it
  // never started or has stopped). REQUIRES: no enqueue() in flight or
  // after.
  void stop();

  // Queues `op` and returns its ticket (the first is 1). Never blocks on
  // I/O: the queue has a lock of its own, which the writer holds only to
  // take the whole queue, and nothing but the move of `op` runs under it.
  WriteTicket enqueue(Op&& op);

  // A ticket never issued fails at once with `invalid_ticket`.
  Status wait(WriteTicket t);
  void on_committed(WriteTicket t, std::function<void(const Status&)> done);
  WriteTicket committed() const { return outcomes_.committed(); }
  Status status(const WriteSpan& span) const { return outcomes_.status(span); }
  std::uint64_t on_failed_commit(std::function<void(const WriteSpan&, const Error&)> fn) {
    return outcomes_.on_failed_commit(std::move(fn));
  }
  void remove_failure_listener(std::uint64_t id) { outcomes_.remove_failure_listener(id); }
  // Commits::together: the writer takes no batch while `queue_writes` runs,
  // so everything queued meanwhile goes into one batch. Holds nest across
  // threads (the batch waits for the last to end).
  void together(const std::function<void()>& queue_writes);
  // Blocks until every write queued before the call has been committed (or
  // its commit failed) and the on_committed callbacks of those commits have
  // run; returns the last of those tickets (0: none was ever queued). Unlike
  // stop(), it leaves the queue running.
  WriteTicket drain();

  // Writes queued so far: the last ticket issued.
  WriteTicket issued() const { return issued_.load(std::memory_order_relaxed); }
  // Batches committed, and batches that failed.
  std::uint64_t batches_committed() const { return outcomes_.batches_committed(); }
  std::uint64_t batches_failed() const { return outcomes_.batches_failed(); }
  // Writes carried by the batches that failed.
  std::uint64_t writes_failed() const { return outcomes_.writes_failed(); }
  // False from a failed batch until the next one that succeeds.
  bool available() const { return outcomes_.available(); }
  // Appends the metrics (Prometheus text): mamori_store_writes_total,
  // mamori_store_commits_total{result}, mamori_store_writes_failed_total and
  // mamori_store_available.
  void render_metrics(std::string& out) const { outcomes_.render_metrics(out, issued()); }

 private:
  void writer_loop();
  static void wake_writer(void* queue) { static_cast<CommitQueue*>(queue)->work_cv_.notify_one(); }

  // The queue, between the threads that enqueue and the writer, on a cache
  // line of its own (the commit state in outcomes_ starts on another).
  alignas(64) std::mutex queue_mu_;
  std::condition_variable work_cv_;  // the writer waits here for work
  std::vector<Op> queue_;            // guarded by queue_mu_
  bool stopping_ = false;            // guarded by queue_mu_
  int holds_ = 0;                    // guarded by queue_mu_: together() calls running
  // The last ticket handed out: advanced under queue_mu_ with each write
  // queued (so a queue holds the tickets up to it, in order), read without
  // it by wait() and on_committed() to reject tickets never issued.
  std::atomic<WriteTicket> issued_{0};

  CommitOutcomes outcomes_;

  ApplyBatch apply_;        // set by start()
  BetweenBatches between_;  // set by start()
  std::thread writer_;
};

// Lowers the calling thread to SCHED_BATCH and names it "store writer" (as
// /proc, top and perf show it): the writer's.
void become_writer_thread();

// ---- implementation ----

template <typename Op>
void CommitQueue<Op>::start(ApplyBatch apply, BetweenBatches between) {
  apply_ = std::move(apply);
  between_ = std::move(between);
  writer_ = std::thread([this] { writer_loop(); });
}

template <typename Op>
void CommitQueue<Op>::stop() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  writer_.join();
}

template <typename Op>
WriteTicket CommitQueue<Op>::enqueue(Op&& op) {
  WriteTicket t;
  bool was_empty;
  {
    std::lock_guard lock(queue_mu_);
    t = issued_.load(std::memory_order_relaxed) + 1;
    issued_.store(t, std::memory_order_release);
    was_empty = queue_.empty();
    queue_.push_back(std::move(op));
  }
  // The writer sleeps only while the queue is empty. On an event loop's
  // thread the wake waits for the end of its turn, so that one batch takes
  // every write the turn's requests queue.
  if (was_empty) DeferredWakes::wake(&CommitQueue::wake_writer, this);
  return t;
}

template <typename Op>
void CommitQueue<Op>::together(const std::function<void()>& queue_writes) {
  {
    std::lock_guard lock(queue_mu_);
    ++holds_;
  }
  struct Release {
    CommitQueue& q;
    ~Release() {
      bool wake;
      {
        std::lock_guard lock(q.queue_mu_);
        wake = --q.holds_ == 0 && !q.queue_.empty();
      }
      if (wake) q.work_cv_.notify_one();
    }
  } release{*this};
  queue_writes();
}

template <typename Op>
Status CommitQueue<Op>::wait(WriteTicket t) {
  if (t > issued_.load(std::memory_order_acquire))
    return make_error("invalid_ticket", "write ticket " + std::to_string(t) + " was never issued");
  DeferredWakes::flush();  // the writer may be waiting for this thread's wake
  return outcomes_.wait(t);
}

template <typename Op>
void CommitQueue<Op>::on_committed(WriteTicket t, std::function<void(const Status&)> done) {
  if (t > issued_.load(std::memory_order_acquire)) {
    done(make_error("invalid_ticket", "write ticket " + std::to_string(t) + " was never issued"));
    return;
  }
  outcomes_.on_committed(t, std::move(done));
}

template <typename Op>
WriteTicket CommitQueue<Op>::drain() {
  const WriteTicket t = issued_.load(std::memory_order_acquire);
  if (t != 0) (void)wait(t);  // a failed commit is reported by its own waiters
  return t;
}

template <typename Op>
void CommitQueue<Op>::writer_loop() {
  become_writer_thread();
  std::vector<Op> batch;
  for (;;) {
    WriteTicket last;
    {
      std::unique_lock lock(queue_mu_);
      work_cv_.wait(lock, [&] { return (!queue_.empty() && holds_ == 0) || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything queued is committed
      batch.swap(queue_);
      last = issued_.load(std::memory_order_relaxed);
    }
    const WriteTicket first = last - batch.size() + 1;
    outcomes_.publish(first, last, apply_(batch));
    batch.clear();  // keeps its capacity for the next swap
    if (between_) between_();
  }
}

}  // namespace mamori::store

#endif  // MAMORI_STORE_COMMIT_QUEUE_H_
