#ifndef MAMORI_CORE_WORK_POOL_H_
#define MAMORI_CORE_WORK_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mamori {

// A few threads that run slow jobs (a password hash) off an event loop, with
// a bounded queue: try_post() refuses a job at once when `max_queued` are
// waiting, so a flood is refused rather than queued without end. Jobs run
// in the order posted, each on one of the threads; a job must not throw.
//
// Thread-safe. Destruction runs no more jobs: the queued ones are destroyed
// unrun (whatever they own is released), the running ones finished, the
// threads joined. REQUIRES: not destroyed from one of its own jobs.
class WorkPool {
 public:
  // `threads` at least 1; `name` names the threads (at most 15 bytes).
  WorkPool(std::size_t threads, std::size_t max_queued, const std::string& name);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `job`; false (the job not taken: the caller keeps what it owns
  // through its own references) when `max_queued` jobs are waiting.
  bool try_post(std::function<void()>& job);

  std::size_t threads() const { return threads_.size(); }
  // Jobs waiting (not yet running).
  std::size_t queued() const;

  // A pool size from the machine: its cores, at least 1, at most `cap`.
  static std::size_t threads_for_cores(std::size_t cap);

 private:
  void run();

  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace mamori

#endif  // MAMORI_CORE_WORK_POOL_H_
