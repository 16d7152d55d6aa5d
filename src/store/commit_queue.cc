#include "store/commit_queue.h"

#include <pthread.h>
#include <sched.h>

#include "core/log.h"

namespace mamori::store {

void become_writer_thread() {
  // Measured with SQLite: a sixth of the commits, 15 % more results/s.
  sched_param none{};
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
  pthread_setname_np(pthread_self(), "store writer");
}

CommitOutcomes::CommitOutcomes(std::string name, std::size_t max_failed_runs)
    : name_(std::move(name)), max_failed_runs_(max_failed_runs) {}

Status CommitOutcomes::status_of_locked(WriteTicket first, WriteTicket last) const {
  if (last == 0) return {};  // nothing written
  for (auto it = failures_.rbegin(); it != failures_.rend(); ++it) {
    if (first > it->last) break;
    if (last >= it->first) return it->error;
  }
  if (first <= forgotten_through_)
    return make_error("store_write_failed",
                      "the outcome of write " + std::to_string(first) +
                          " is no longer known (too many failed commits since)");
  return {};
}

Status CommitOutcomes::status(const WriteSpan& span) const {
  if (span.empty() || span.first > failed_through_.load(std::memory_order_acquire)) return {};
  std::lock_guard lock(mu_);
  return status_of_locked(span.first, span.last);
}

std::uint64_t CommitOutcomes::on_failed_commit(
    std::function<void(const WriteSpan&, const Error&)> fn) {
  std::lock_guard lock(listeners_mu_);
  failure_listeners_.emplace(++next_listener_, std::move(fn));
  return next_listener_;
}

void CommitOutcomes::remove_failure_listener(std::uint64_t id) {
  std::lock_guard lock(listeners_mu_);
  failure_listeners_.erase(id);
}

Status CommitOutcomes::wait(WriteTicket t) {
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return settled_.load(std::memory_order_relaxed) >= t; });
  return status_of_locked(t, t);
}

void CommitOutcomes::on_committed(WriteTicket t, std::function<void(const Status&)> done) {
  Status now;
  {
    std::lock_guard lock(mu_);
    if (committed_.load(std::memory_order_relaxed) < t) {
      callbacks_.emplace(t, std::move(done));
      return;
    }
    now = status_of_locked(t, t);
  }
  done(now);
}

void CommitOutcomes::publish(WriteTicket first, WriteTicket last, const Status& status) {
  if (status.ok()) {
    batches_committed_.fetch_add(1);
    note_success();
  } else {
    note_failure(first, last, status.error());
  }
  {
    std::lock_guard lock(mu_);
    if (!status.ok()) {
      if (!failures_.empty() && failures_.back().last + 1 == first) {
        failures_.back().last = last;
      } else {
        failures_.push_back(FailedRun{first, last, status.error()});
        if (failures_.size() > max_failed_runs_) {
          forgotten_through_ = failures_.front().last;
          failures_.pop_front();
        }
      }
      failed_through_.store(last, std::memory_order_release);
    }
    committed_.store(last, std::memory_order_release);
    const auto end = callbacks_.upper_bound(last);
    for (auto it = callbacks_.begin(); it != end; ++it) ready_.push_back(std::move(it->second));
    callbacks_.erase(callbacks_.begin(), end);
  }
  for (auto& done : ready_) done(status);
  ready_.clear();
  {
    // wait()ers return once the batch's callbacks (which may set memory
    // back after a failure) have run.
    std::lock_guard lock(mu_);
    settled_.store(last, std::memory_order_release);
  }
  done_cv_.notify_all();
}

void CommitOutcomes::note_failure(WriteTicket first, WriteTicket last, const Error& error) {
  const std::uint64_t writes = last - first + 1;
  batches_failed_.fetch_add(1);
  writes_failed_.fetch_add(writes);
  last_commit_ok_.store(false, std::memory_order_relaxed);
  {
    std::lock_guard lock(listeners_mu_);
    for (const auto& [id, fn] : failure_listeners_) fn(WriteSpan{first, last}, error);
  }
  const auto now = std::chrono::steady_clock::now();
  last_failure_ = now;
  if (!in_burst_) {
    in_burst_ = true;
    burst_batches_ = burst_writes_ = 0;
    burst_started_ = burst_logged_ = now;
    log_error("store " + name_ + ": " + error.message +
              "; writes are refused (answered as not stored) until a commit succeeds");
  } else if (now - burst_logged_ >= std::chrono::minutes(1)) {
    burst_logged_ = now;
    log_error("store " + name_ + ": still failing: " + error.message + " (" +
              std::to_string(burst_batches_ + 1) + " commits, " +
              std::to_string(burst_writes_ + writes) + " writes refused so far)");
  }
  ++burst_batches_;
  burst_writes_ += writes;
}

void CommitOutcomes::note_success() {
  last_commit_ok_.store(true, std::memory_order_relaxed);
  if (!in_burst_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_failure_ < kBurstQuiet) return;
  in_burst_ = false;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(last_failure_ - burst_started_).count();
  log_info("store " + name_ + ": commits succeed again; " + std::to_string(burst_batches_) +
           " commits failed (" + std::to_string(burst_writes_) + " writes refused) over " +
           std::to_string(ms) + " ms");
}

void CommitOutcomes::render_metrics(std::string& out, WriteTicket issued) const {
  out +=
      "# HELP mamori_store_writes_total Writes queued for the store.\n"
      "# TYPE mamori_store_writes_total counter\nmamori_store_writes_total " +
      std::to_string(issued) +
      "\n# HELP mamori_store_commits_total Store transactions (group commits), by result.\n"
      "# TYPE mamori_store_commits_total counter\n"
      "mamori_store_commits_total{result=\"ok\"} " +
      std::to_string(batches_committed()) + "\nmamori_store_commits_total{result=\"failed\"} " +
      std::to_string(batches_failed()) +
      "\n# HELP mamori_store_writes_failed_total Writes whose commit failed (answered as not "
      "stored).\n# TYPE mamori_store_writes_failed_total "
      "counter\nmamori_store_writes_failed_total " +
      std::to_string(writes_failed()) +
      "\n# HELP mamori_store_available 1 while commits succeed, 0 from a failed commit until the "
      "next one that succeeds.\n# TYPE mamori_store_available gauge\nmamori_store_available " +
      (available() ? "1" : "0") + "\n";
}

}  // namespace mamori::store
