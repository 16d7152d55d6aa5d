#include "core/work_pool.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace mamori {

WorkPool::WorkPool(std::size_t threads, std::size_t max_queued, const std::string& name)
    : max_queued_(max_queued) {
  threads = std::max<std::size_t>(threads, 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this, name = name.substr(0, 15)] {
      pthread_setname_np(pthread_self(), name.c_str());
      run();
    });
}

WorkPool::~WorkPool() {
  std::deque<std::function<void()>> unrun;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    unrun.swap(jobs_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  unrun.clear();  // outside the lock: a job's destructor may do anything
}

bool WorkPool::try_post(std::function<void()>& job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t WorkPool::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

std::size_t WorkPool::threads_for_cores(std::size_t cap) {
  const std::size_t cores = std::thread::hardware_concurrency();
  return std::clamp<std::size_t>(cores, 1, std::max<std::size_t>(cap, 1));
}

void WorkPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace mamori
