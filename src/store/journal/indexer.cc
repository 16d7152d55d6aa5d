#include "store/journal/indexer.h"

#include <pthread.h>
#include <sched.h>

#include <utility>

#include "core/log.h"

namespace mamori::store::journal {

namespace {

int set_thread_policy(pthread_t t, int policy) {
  sched_param none{};
  return pthread_setschedparam(t, policy, &none);
}

}  // namespace

Status IndexOutcome::note(Status s) {
  if (!s) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    if (!failing_)
      log_warn(name_ + ": indexing failed; reads merge the tail meanwhile",
               {{"error", s.error().message}});
    failing_ = true;
  } else if (failing_) {
    log_info(name_ + ": indexing works again");
    failing_ = false;
  }
  return s;
}

bool IndexerThread::may_leave_idle() {
  // The kernel's own answer (RLIMIT_NICE, CAP_SYS_NICE, a container's
  // policy), asked of a thread that is thrown away.
  static const bool may = [] {
    bool ok = false;
    std::thread probe([&] {
      if (set_thread_policy(pthread_self(), SCHED_IDLE) != 0) return;
      ok = set_thread_policy(pthread_self(), SCHED_BATCH) == 0;
    });
    probe.join();
    return ok;
  }();
  return may;
}

void IndexerThread::start(IndexerSchedule schedule, std::function<void()> pass) {
  schedule_ = std::move(schedule);
  idle_ = may_leave_idle();
  if (!idle_) {
    static std::once_flag once;
    std::call_once(once, [] {
      log_info(
          "journal indexers run as SCHED_BATCH: this process may not raise a thread from "
          "SCHED_IDLE (RLIMIT_NICE below 20 and no CAP_SYS_NICE), so an index pass may delay "
          "an answer on a shared core");
    });
  }
  last_begun_ns_.store(monotonic_ns(), std::memory_order_relaxed);
  std::lock_guard<std::mutex> l(mu_);
  thread_ = std::thread([this, pass = std::move(pass)] { loop(pass); });
  pthread_setname_np(thread_.native_handle(), schedule_.name.substr(0, 15).c_str());
  set_policy_locked(idle_ ? SCHED_IDLE : SCHED_BATCH);
  running_.store(true, std::memory_order_release);
}

void IndexerThread::set_policy_locked(int policy) {
  if (set_thread_policy(thread_.native_handle(), policy) != 0 && policy != SCHED_IDLE)
    log_warn("journal indexer: cannot raise the thread to SCHED_BATCH",
             {{"thread", schedule_.name}});
}

void IndexerThread::poke() {
  {
    std::lock_guard<std::mutex> l(mu_);
    soon_ = true;
  }
  cv_.notify_one();
}

void IndexerThread::hurry() {
  std::lock_guard<std::mutex> l(mu_);
  ++hurries_;
  if (idle_ && !raised_ && running_.load(std::memory_order_relaxed)) {
    set_policy_locked(SCHED_BATCH);
    raised_ = true;
    raises_.fetch_add(1, std::memory_order_relaxed);
  }
}

void IndexerThread::urge() {
  hurry();
  poke();
}

bool IndexerThread::late() const {
  if (!running_.load(std::memory_order_acquire)) return false;
  const auto bound = std::chrono::duration_cast<std::chrono::nanoseconds>(schedule_.lag_bound);
  return monotonic_ns() - last_begun_ns_.load(std::memory_order_relaxed) >
         std::uint64_t(bound.count());
}

int IndexerThread::policy() const {
  std::lock_guard<std::mutex> l(mu_);
  if (!running_.load(std::memory_order_relaxed)) return -1;
  int policy = -1;
  sched_param p{};
  if (pthread_getschedparam(const_cast<std::thread&>(thread_).native_handle(), &policy, &p) != 0)
    return -1;
  return policy;
}

void IndexerThread::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    running_.store(false, std::memory_order_relaxed);
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    // A starved idle thread would hold the caller up.
    if (idle_) {
      std::lock_guard<std::mutex> l(mu_);
      set_thread_policy(thread_.native_handle(), SCHED_BATCH);
    }
    thread_.join();
  }
}

void IndexerThread::loop(const std::function<void()>& pass) {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, schedule_.every, [&] { return stop_ || soon_; });
    if (stop_) break;
    soon_ = false;
    hurried_at_ = hurries_;
    last_begun_ns_.store(monotonic_ns(), std::memory_order_relaxed);
    l.unlock();
    pass();
    l.lock();
    // Back to idle unless hurried again while the pass ran.
    if (raised_ && hurries_ == hurried_at_) {
      set_policy_locked(SCHED_IDLE);
      raised_ = false;
    }
  }
}

}  // namespace mamori::store::journal
