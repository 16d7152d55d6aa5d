#include "store/journal/indexer.h"

#include <utility>

#include "core/log.h"

namespace mamori::store::journal {

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

void IndexerThread::start(Duration every, std::function<void()> pass) {
  thread_ = std::thread([this, every, pass = std::move(pass)] { loop(every, pass); });
}

void IndexerThread::poke() {
  {
    std::lock_guard<std::mutex> l(mu_);
    soon_ = true;
  }
  cv_.notify_one();
}

void IndexerThread::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IndexerThread::loop(Duration every, const std::function<void()>& pass) {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, every, [&] { return stop_ || soon_; });
    if (stop_) break;
    soon_ = false;
    l.unlock();
    pass();
    l.lock();
  }
}

}  // namespace mamori::store::journal
